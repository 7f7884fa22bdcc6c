"""Omnidirectional connectivity by the Omniscape method, as Omniscape.jl (v0.6) documents and computes it.

For every target block (``block_size`` × ``block_size`` cells, its centre the target) whose summed source
strength is > 0: clip the conductance to a circle of ``radius + buffer`` cells around the target, ground the
target cell, inject the block's strength divided among the sources within ``radius`` in proportion to their
strength (the target's own block excluded), solve the circuit, add the node currents to the cumulative map.
Flow potential is the same with conductance 1 everywhere in the window's rectangle; normalised current =
cumulative current / flow potential. Conventions taken from Omniscape.jl/Circuitscape.jl (they decide the
numbers, so they are stated):

* nodes are cells with conductance > 0; edge conductance = mean of the two cells' conductances, ÷ √2 on the
  diagonals (4 or 8 neighbours); only the component joined to the ground conducts;
* node current = max(current in, current out) (a source cell carries what it injects, the ground what it drains);
* block artefacts are corrected (``correct_artifacts``) with Omniscape.jl's correction array: the current of
  one block solve divided into what ``block_size²`` single-cell solves would give on a uniform landscape;
  a cell that carries no current there (below 1e-8 of the solve's largest, the cut Circuitscape applies to
  branch currents; e.g. the circle's four tips, dead ends with 4 neighbours) keeps correction 1. Omniscape.jl's
  default solver (cg+amg) leaves round-off at such cells and divides it: its published test4a has 46 942 and
  86 169 at two tips, which multiply the flow potential there (fixtures README: how its outputs are reproduced);
* the flow-potential window is the full rectangle (not the circle) and ignores nodata, as in Omniscape.jl;
* the target block is blanked in window coordinates of a full window, also for windows cut by the grid
  edge (Omniscape.jl does this; kept so its published outputs are reproduced);
* sources below ``source_threshold`` are 0; from resistance, source = 1/R where R ≤ ``r_cutoff``;
* conditional connectivity compares each source cell's present condition with the median (``within``) or mode
  (``equal``; ties as StatsBase: the first value to reach the top count, in column order) of the target
  block's (future) condition.

The engine is pure numpy/scipy/numba; one public entry ``run_omniscape``; ``solve_targets`` is the unit of work
an executor distributes (see /work/helpers/OMNI-CONTRACT.md and the README of this package).
"""
from __future__ import annotations

import functools
import math
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Callable

import numpy as np

from geosig.errors import InvalidParameter

from ..corridors.corridor import Cancelled
from . import kernels, linsolve

__all__ = ["OmniscapeParams", "OmniscapeInputs", "OmniscapeResult", "Partial", "Cancelled", "run_omniscape",
           "solve_targets", "plan_targets", "make_batches", "classify_normalized", "NORMALIZED_CLASSES"]

COMPARISONS = ("within", "equal")
COMPARE_TO_FUTURE = ("none", "1", "2", "both")
CONNECTIVITY = (4, 8)
PRECISIONS = ("double", "single")
TIMING_KEYS = ("assembly", "setup", "solve", "currents")
# A window cut by the grid edge is solved inside the full window when it keeps at least this fraction of it
EMBED_FRACTION = 0.25
# Stage times are the worker thread's CPU time: on a shared machine wall time measures the neighbours too, and the
# solver (single-threaded MKL/SuperLU) and the numba kernels all run in the calling thread. "setup" holds a
# window's factorisation together with its own solve (one PARDISO call); "solve" the solves with a kept factor.
_clock = time.thread_time


@dataclass(frozen=True)
class OmniscapeParams:
    """Run options, named as Omniscape.jl's INI keys; checked on creation (Spanish errors listing valid values)."""

    radius: int
    block_size: int = 1
    buffer: int = 0
    source_from_resistance: bool = False
    r_cutoff: float = math.inf
    source_threshold: float = 0.0
    resistance_is_conductance: bool = False
    connectivity: int = 8
    calc_flow_potential: bool = False
    calc_normalized_current: bool = False
    correct_artifacts: bool = True
    mask_nodata: bool = True
    conditional: bool = False
    n_conditions: int = 1
    compare_to_future: str = "none"
    comparison1: str = "within"
    comparison2: str = "within"
    condition1_lower: float = 0.0
    condition1_upper: float = 0.0
    condition2_lower: float = 0.0
    condition2_upper: float = 0.0
    reclass_table: tuple = ()  # ((from, to), …); to = NaN makes the class nodata
    precision: str = "double"
    solver: str = "auto"
    workers: int = 1
    batch_size: int = 32
    notes: tuple = field(default=(), compare=False)

    def __post_init__(self):
        _check_choice("connectivity", self.connectivity, CONNECTIVITY)
        _check_choice("comparison1", self.comparison1, COMPARISONS)
        _check_choice("comparison2", self.comparison2, COMPARISONS)
        _check_choice("compare_to_future", self.compare_to_future, COMPARE_TO_FUTURE)
        _check_choice("n_conditions", self.n_conditions, (1, 2))
        _check_choice("precision", self.precision, PRECISIONS)
        _check_choice("solver", self.solver, linsolve.SOLVERS)
        if not linsolve.available(self.solver):
            raise InvalidParameter("El método de solución «pardiso» no está instalado (paquete pypardiso); "
                                   "use «auto» o «splu».", parameter="solver")
        for name in ("radius", "block_size", "workers", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise InvalidParameter(f"{name} debe ser un entero ≥ 1.", parameter=name)
        if int(self.buffer) < 0:
            raise InvalidParameter("buffer debe ser un entero ≥ 0.", parameter="buffer")
        if not (self.r_cutoff >= 0):
            raise InvalidParameter("r_cutoff debe ser ≥ 0 (Inf = sin corte).", parameter="r_cutoff")
        if self.block_size % 2 == 0:  # Omniscape.jl: "block_size is even, but must be odd. Using block_size + 1."
            object.__setattr__(self, "notes", self.notes + (
                f"block_size {self.block_size} es par; se usa {self.block_size + 1} (como Omniscape.jl).",))
            object.__setattr__(self, "block_size", self.block_size + 1)
        if (self.block_size - 1) // 2 > self.radius + self.buffer:
            raise InvalidParameter("El bloque no puede ser más ancho que la ventana: block_size ≤ "
                                   "2 × (radius + buffer) + 1.", parameter="block_size")

    @property
    def dist(self) -> int:
        return int(self.radius) + int(self.buffer)

    @property
    def block_radius(self) -> int:
        return (int(self.block_size) - 1) // 2

    @property
    def flow_potential(self) -> bool:
        return bool(self.calc_flow_potential or self.calc_normalized_current)


def _check_choice(name, value, valid):
    if value not in valid:
        raise InvalidParameter(f"Valor no válido para {name}: «{value}»; use uno de: "
                               f"{', '.join(str(v) for v in valid)}.", parameter=name)


@dataclass
class OmniscapeInputs:
    """Prepared rasters (see the contract): conductance (NaN = nodata), source strength (0 = none), conditions."""

    conductance: np.ndarray
    source: np.ndarray
    condition1: np.ndarray | None = None
    condition1_future: np.ndarray | None = None
    condition2: np.ndarray | None = None
    condition2_future: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.conductance.shape

    def window(self, r0: int, r1: int, c0: int, c1: int) -> "OmniscapeInputs":
        cut = lambda a: None if a is None else a[r0:r1, c0:c1]  # noqa: E731
        return OmniscapeInputs(*(cut(getattr(self, f.name)) for f in fields(self)))


@dataclass
class Partial:
    """A windowed contribution of one batch of targets: add ``cum`` (and ``fp``) at (r0, c0) of the full grid."""

    r0: int
    c0: int
    cum: np.ndarray
    fp: np.ndarray | None
    targets: int
    timings: dict


@dataclass
class OmniscapeResult:
    cum_currmap: np.ndarray
    flow_potential: np.ndarray | None
    normalized: np.ndarray | None
    targets: int
    timings: dict
    notes: list = field(default_factory=list)
    source: np.ndarray | None = None  # the source strength used (after thresholds / r_cutoff)


# ------------------------------------------------------------------------------------------ inputs


def prepare_inputs(resistance, sources, params: OmniscapeParams, conditions: dict | None = None) -> OmniscapeInputs:
    """Reclassify, check, turn resistance into conductance, derive or clean the source strength."""
    res = np.array(resistance, dtype=np.float64)
    if res.ndim != 2 or res.size == 0:
        raise InvalidParameter("La resistencia debe ser un ráster de una banda con celdas.", parameter="resistance")
    res[~np.isfinite(res)] = np.nan
    if params.reclass_table:
        old = res.copy()
        for src, dst in params.reclass_table:  # every rule reads the original values: no chains
            res[old == src] = dst
    finite = np.isfinite(res)
    if not finite.any():
        raise InvalidParameter("La resistencia no tiene ninguna celda con dato.", parameter="resistance")
    if (res[finite] <= 0).any():
        what = "conductancia" if params.resistance_is_conductance else "resistencia"
        raise InvalidParameter(f"La {what} tiene valores ≤ 0; deben ser > 0 (nodata = sin dato).",
                               parameter="resistance")
    cond = res if params.resistance_is_conductance else 1.0 / res
    if params.source_from_resistance:
        with np.errstate(divide="ignore"):
            src = np.where(finite & (cond >= 1.0 / np.float64(params.r_cutoff)), cond, 0.0)
    else:
        if sources is None:
            raise InvalidParameter("Falta el ráster de fuentes (source_file), o use source_from_resistance = true.",
                                   parameter="source_file")
        src = np.array(sources, dtype=np.float64)
        if src.shape != res.shape:
            raise InvalidParameter(f"El ráster de fuentes ({src.shape[0]}×{src.shape[1]}) no tiene el tamaño de la "
                                   f"resistencia ({res.shape[0]}×{res.shape[1]}).", parameter="source_file")
        src[~np.isfinite(src)] = 0.0
        src[src < params.source_threshold] = 0.0
    return OmniscapeInputs(cond, src, **_conditions(conditions or {}, params, res.shape))


def _conditions(given: dict, params: OmniscapeParams, shape) -> dict:
    if not params.conditional:
        return {}
    needed = ["condition1"] + (["condition2"] if params.n_conditions == 2 else [])
    if params.compare_to_future in ("1", "both"):
        needed.append("condition1_future")
    if params.n_conditions == 2 and params.compare_to_future in ("2", "both"):
        needed.append("condition2_future")
    out = {}
    for name in needed:
        arr = given.get(name)
        if arr is None:
            raise InvalidParameter(f"La conectividad condicional necesita {name}.", parameter=name)
        arr = np.array(arr, dtype=np.float64)
        if arr.shape != tuple(shape):
            raise InvalidParameter(f"{name} no tiene el tamaño de la resistencia.", parameter=name)
        out[name] = np.where(np.isfinite(arr), arr, np.nan)
    out.setdefault("condition1_future", out["condition1"])  # the target is compared with its present value
    if params.n_conditions == 2:
        out.setdefault("condition2_future", out["condition2"])
    return out


def plan_targets(source: np.ndarray, params: OmniscapeParams) -> np.ndarray:
    """(row, col, amps) of every block centre whose block holds source strength > 0 (Omniscape.jl's grid of
    block centres: from block_radius, every block_size cells, up to the last centre whose block fits)."""
    nrows, ncols = source.shape
    br, bs = params.block_radius, int(params.block_size)
    rows = np.arange(br, nrows - br, bs)
    cols = np.arange(br, ncols - br, bs)
    if len(rows) == 0 or len(cols) == 0:
        return np.zeros((0, 3))
    csum = np.pad(np.cumsum(np.cumsum(source, 0), 1), ((1, 0), (1, 0)))
    r0, r1 = rows - br, np.minimum(rows + br + 1, nrows)
    c0, c1 = cols - br, np.minimum(cols + br + 1, ncols)
    amps = (csum[r1][:, c1] - csum[r0][:, c1] - csum[r1][:, c0] + csum[r0][:, c0])
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    keep = amps > 0
    return np.column_stack([rr[keep], cc[keep], amps[keep]]).astype(np.float64)


def make_batches(targets: np.ndarray, params: OmniscapeParams) -> list[np.ndarray]:
    """Spatially compact batches of ``batch_size`` targets (square tiles of blocks), so a batch reads and
    returns one small bounding box."""
    if len(targets) == 0:
        return []
    side = max(1, int(round(math.sqrt(params.batch_size))))
    tile = side * int(params.block_size)
    key = (targets[:, 0] // tile) * 1_000_000 + targets[:, 1] // tile
    order = np.lexsort((targets[:, 1], targets[:, 0], key))
    t = targets[order]
    return [t[i:i + params.batch_size] for i in range(0, len(t), params.batch_size)]


# ------------------------------------------------------------------------------------------ window geometry

_OFFSETS = {4: ((0, 1, 1.0), (1, 0, 1.0)),
            8: ((0, 1, 1.0), (1, 0, 1.0), (1, 1, 1 / math.sqrt(2)), (1, -1, 1 / math.sqrt(2)))}


class Geometry:
    """Everything about a window that depends only on its shape: cells inside, edges, Laplacian pattern."""

    def __init__(self, h: int, w: int, gr: int, gc: int, dist: float | None, connectivity: int):
        yy, xx = np.mgrid[0:h, 0:w]
        inside = np.ones((h, w), bool) if dist is None else (yy - gr) ** 2 + (xx - gc) ** 2 <= dist * dist
        self.shape, self.ground, self.inside, self.eight = (h, w), (gr, gc), inside, connectivity == 8
        cell = np.arange(h * w).reshape(h, w)
        ea, eb, ew = [], [], []
        for dr, dc, wt in _OFFSETS[connectivity]:
            a = (slice(0, h - dr), slice(max(0, -dc), w - max(0, dc)))
            b = (slice(dr, h), slice(max(0, dc), w - max(0, -dc)))
            m = inside[a] & inside[b]
            ea.append(cell[a][m])
            eb.append(cell[b][m])
            ew.append(np.full(int(m.sum()), wt))
        self.ea, self.eb, self.ew = np.concatenate(ea), np.concatenate(eb), np.concatenate(ew)
        gcell = gr * w + gc
        node = np.full(h * w, -1, np.int64)
        nodes = np.flatnonzero(inside.ravel() & (np.arange(h * w) != gcell))
        node[nodes] = np.arange(len(nodes))
        self.nodes, self.n = nodes, len(nodes)
        na, nb = node[self.ea], node[self.eb]
        off = (na >= 0) & (nb >= 0)
        rows = np.r_[np.arange(self.n), np.minimum(na, nb)[off]]
        cols = np.r_[np.arange(self.n), np.maximum(na, nb)[off]]
        self.pattern = linsolve.Pattern(self.n, rows, cols, linsolve.grid_nested_dissection(*np.divmod(nodes, w)))
        pos = self.pattern.position
        self.cell_diag = np.full(h * w, -1, np.int64)
        self.cell_diag[nodes] = pos[: self.n]
        self.epos = np.full(len(self.ea), -1, np.int64)
        self.epos[off] = pos[self.n:]
        # the same positions on the grid, for the kernels that walk it (sequential reads instead of gathers)
        self.grid_diag = self.cell_diag.reshape(h, w)
        self.grid_epos = np.full((4, h * w), -1, np.int64)
        k = 0
        for o, seg in enumerate(ea):
            self.grid_epos[o, seg] = self.epos[k:k + len(seg)]
            k += len(seg)
        self.grid_epos = self.grid_epos.reshape(4, h, w)

    def fill(self, cond, alive) -> np.ndarray:
        """Values of the grounded Laplacian on the fixed pattern (``kernels.grid_fill_values``)."""
        return kernels.grid_fill_values(cond, alive, self.grid_epos, self.grid_diag, self.eight,
                                        _OFFSETS[8][2][2], len(self.pattern.indices))


@functools.lru_cache(maxsize=32)
def _geometry(h, w, gr, gc, dist, connectivity) -> Geometry:
    return Geometry(h, w, gr, gc, dist, connectivity)


class _Factors(threading.local):
    """Per-thread factorisations, kept for the few shapes seen most recently (full windows stay hot)."""

    def __init__(self):
        self.by_key: OrderedDict = OrderedDict()

    def get(self, key, geom: Geometry, solver: str) -> tuple[linsolve.Factor, bool]:
        f = self.by_key.pop(key, None)
        fresh = f is None
        if fresh:
            f = linsolve.Factor(geom.pattern, solver)
        self.by_key[key] = f
        while len(self.by_key) > 6:
            self.by_key.popitem(last=False)[1].release()
        return f, fresh


_FACTORS = _Factors()


def _solve_window(geom: Geometry, key: tuple, cond, src, params, timings, *, fixed=False,
                  connected=False) -> np.ndarray | None:
    """Node currents (h × w) of one window; ``cond`` None = conductance 1 on every cell (flow potential).
    ``fixed``: the matrix depends on the shape only, so its factorisation is reused as it is. ``connected``: every
    valid cell is known to be joined to the ground (a rectangle of the grid), no component search."""
    t0 = _clock()
    h, w = geom.shape
    gr, gc = geom.ground
    eight = params.connectivity == 8
    if cond is None:
        cond = _ones(h, w)
        valid = geom.inside
    else:
        valid = geom.inside & (cond > 0)  # NaN compares False: nodata is not a node
    # a whole disc or rectangle of cells is one piece: the component search only matters where nodata cuts it
    connected = connected or fixed or np.count_nonzero(valid) == geom.n + 1
    alive = valid if connected else kernels.ground_component(valid, gr, gc, eight)
    rhs_cells = np.where(alive, src, 0.0).ravel()
    rhs_cells[gr * w + gc] = 0.0  # a source on the ground cell is dropped (Circuitscape's "rmvsrc")
    if not valid[gr, gc] or not (rhs_cells > 0).any():
        timings["assembly"] += _clock() - t0
        return None
    solver = linsolve.resolve(params.solver)
    factor, fresh = _FACTORS.get((fixed, solver) + key, geom, solver)
    data = None if (fixed and not fresh) else geom.fill(cond, alive)
    t1 = _clock()
    if data is not None:  # factorisation and solve in one call: both times count as setup
        x = factor.factor_solve(data, rhs_cells[geom.nodes])
        t2 = t3 = _clock()
    else:
        t2 = _clock()
        x = factor.solve(rhs_cells[geom.nodes])
        t3 = _clock()
    cur = _currents(geom, x, cond, alive)
    t4 = _clock()
    for k, dt in zip(TIMING_KEYS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
        timings[k] += dt
    return cur


def _currents(geom: Geometry, x, cond, alive) -> np.ndarray:
    h, w = geom.shape
    volt = np.zeros(h * w)
    volt[geom.nodes] = x
    volt[~alive.ravel()] = 0.0
    return kernels.grid_node_currents(volt.reshape(h, w), cond, alive, geom.eight, _OFFSETS[8][2][2])


@functools.lru_cache(maxsize=8)
def _ones(h, w) -> np.ndarray:
    """Conductance 1 on a whole window (flow potential); shared read-only, not rebuilt per window."""
    a = np.ones((h, w))
    a.flags.writeable = False
    return a


class _FlowPotentials:
    """Flow potentials of the full windows of a batch, solved together: their matrix (conductance 1 on the whole
    rectangle, ground at the centre) is the same for every full window, so their right-hand sides go to the one
    factorisation as the columns of one multi-right-hand-side solve (one pass over the factor instead of one per
    window). Added to the map in target order, as they would be one by one."""

    def __init__(self, params: OmniscapeParams, timings, out: np.ndarray, size: int = 16):
        self.params, self.timings, self.out, self.size = params, timings, out, size
        self.items = []  # (window slices, right-hand side or None, ready current or None, correction or None)

    def add(self, win, rhs=None, pot=None, corr=None):
        if rhs is None and pot is None:
            return
        self.items.append((win, rhs, pot, corr))
        if len(self.items) >= self.size:
            self.flush()

    def flush(self):
        jobs = [i for i, it in enumerate(self.items) if it[1] is not None]
        pots = {}
        if jobs:
            p = self.params
            n = 2 * p.dist + 1
            key = (n, n, p.dist, p.dist, p.dist, p.connectivity)
            rect = _geometry(n, n, p.dist, p.dist, None, p.connectivity)
            solver = linsolve.resolve(p.solver)
            t0 = _clock()
            factor, fresh = _FACTORS.get((True, solver) + key + ("rect",), rect, solver)
            if fresh:
                factor.factor(rect.fill(_ones(n, n), rect.inside))
            t1 = _clock()
            b = np.empty((rect.n, len(jobs)), order="F")
            for j, i in enumerate(jobs):
                b[:, j] = self.items[i][1]
            x = factor.solve(b)
            t2 = _clock()
            for j, i in enumerate(jobs):
                pots[i] = _currents(rect, x[:, j], _ones(n, n), rect.inside)
            self.timings["setup"] += t1 - t0
            self.timings["solve"] += t2 - t1
            self.timings["currents"] += _clock() - t2
        for i, (win, rhs, pot, corr) in enumerate(self.items):
            pot = pots.get(i, pot)
            self.out[win] += pot if corr is None else pot * corr
        self.items = []


# ------------------------------------------------------------------------------------------ one target


def _window_bounds(row, col, shape, dist):
    return max(row - dist, 0), min(row + dist + 1, shape[0]), max(col - dist, 0), min(col + dist + 1, shape[1])


def _source_window(sub: OmniscapeInputs, t, bounds, full_shape, params: OmniscapeParams) -> np.ndarray:
    """Source currents of one window: strengths within ``radius`` of the target, the target block blanked,
    scaled to sum to the target's amps, then (conditional) unmatched sources removed — Omniscape.jl's order."""
    (row, col, amps), (r0, r1, c0, c1) = t, bounds
    gr, gc = int(row) - r0, int(col) - c0
    src = np.where(_disc(r1 - r0, c1 - c0, gr, gc, params.radius), sub.source, 0.0)
    d, br = params.dist, params.block_radius
    # Omniscape.jl blanks the block at the centre of a FULL window, in window coordinates (see module doc)
    src[d - br:min(d + br, full_shape[0] - 1) + 1, d - br:min(d + br, full_shape[1] - 1) + 1] = 0.0
    total = src[src > 0].sum()
    if total <= 0:
        return src
    src = np.where(src > 0, src * amps / total, src)
    if params.conditional:
        _match_conditions(src, sub, gr, gc, params)
    return src


@functools.lru_cache(maxsize=64)
def _disc(h, w, gr, gc, radius) -> np.ndarray:
    """Cells of an h × w window within ``radius`` of (gr, gc); one per window shape, not rebuilt per target."""
    yy, xx = np.mgrid[0:h, 0:w]
    disc = (yy - gr) ** 2 + (xx - gc) ** 2 <= radius ** 2
    disc.flags.writeable = False
    return disc


def _match_conditions(src, sub: OmniscapeInputs, gr, gc, params: OmniscapeParams) -> None:
    br = params.block_radius
    block = (slice(gr - br, gr + br + 1), slice(gc - br, gc + br + 1))
    specs = [(sub.condition1, sub.condition1_future, params.comparison1, params.condition1_lower,
              params.condition1_upper)]
    if params.n_conditions == 2:
        specs.append((sub.condition2, sub.condition2_future, params.comparison2, params.condition2_lower,
                      params.condition2_upper))
    for present, future, comparison, lower, upper in specs:
        values = future[block].T.ravel()  # column order, as Julia iterates
        values = values[np.isfinite(values)]
        with np.errstate(invalid="ignore"):
            if comparison == "within":
                ref = np.median(values) if len(values) else np.nan
                diff = present - ref
                src[(diff > upper) | (diff < lower)] = 0.0
            else:
                src[np.isfinite(present) & (present != _mode(values))] = 0.0


def _mode(values: np.ndarray) -> float:
    """Most frequent value, ties as StatsBase.mode breaks them: the value that first reaches the top count while
    the values are read in order (column order here)."""
    if len(values) == 0:
        return np.nan
    counts: dict = {}
    best, top = values[0], 0
    for v in values.tolist():
        c = counts[v] = counts.get(v, 0) + 1
        if c > top:
            best, top = v, c
    return float(best)


def _one_target(sub: OmniscapeInputs, origin, t, full_shape, params: OmniscapeParams, timings):
    """(bounds, current, flow potential) of one target; current None when nothing flows. The flow potential is
    ``(rhs, pot, corr)`` for ``_FlowPotentials.add``: a full window's right-hand side to be solved with the batch
    (and its correction), or the finished current of a window cut by the grid edge, or None."""
    t0 = _clock()
    row, col = int(t[0]), int(t[1])
    bounds = _window_bounds(row, col, full_shape, params.dist)
    r0, r1, c0, c1 = bounds
    local = sub.window(r0 - origin[0], r1 - origin[0], c0 - origin[1], c1 - origin[1])
    src = _source_window(local, t, bounds, full_shape, params)
    h, w, gr, gc = r1 - r0, c1 - c0, row - r0, col - c0
    d, n = params.dist, 2 * params.dist + 1
    cond = local.conductance
    full = (h, w) == (n, n)
    # A window cut by the grid edge is solved inside the full window, the cells beyond the edge nodata: same
    # circuit, and the pattern (analysed once) of the full window instead of a new analysis for every cut shape
    # (≈ 0.1 s each for the circle and the rectangle at radius 100). Not when the grid is much smaller than the
    # window (small test grids): there the full window would be mostly padding.
    embed = not full and h * w >= EMBED_FRACTION * n * n
    if embed:
        cut = (slice(d - gr, d - gr + h), slice(d - gc, d - gc + w))
        cond = np.full((n, n), np.nan)
        cond[cut] = local.conductance
        padded = np.zeros((n, n))
        padded[cut] = src
        src = padded
        key = (n, n, d, d, d, params.connectivity)
    else:
        key = (h, w, gr, gc, d, params.connectivity)
    timings["assembly"] += _clock() - t0
    geom = _geometry(*key)
    cur = _solve_window(geom, key, cond, src, params, timings)
    corr = None
    if params.correct_artifacts and params.block_size > 1:
        corr = _crop_correction(_correction(params), row, col, (h, w), full_shape, params.dist)
    fp = None
    if params.flow_potential:
        if full:  # solved with the batch's other full windows
            t0 = _clock()
            rhs = src.ravel().copy()
            rhs[gr * w + gc] = 0.0  # a source on the ground cell is dropped
            rhs = rhs[_geometry(n, n, d, d, None, params.connectivity).nodes]
            timings["assembly"] += _clock() - t0
            fp = (rhs, None, corr) if (rhs > 0).any() else None
        else:
            if embed:  # conductance 1 on the grid's part of the rectangle, nodata beyond the edge
                rect = _geometry(n, n, d, d, None, params.connectivity)
                ones = np.full((n, n), np.nan)
                ones[cut] = 1.0
                pot = _solve_window(rect, key + ("rect-cut",), ones, src, params, timings, connected=True)
            else:
                rect = _geometry(h, w, gr, gc, None, params.connectivity)
                pot = _solve_window(rect, key + ("rect",), None, src, params, timings, fixed=True)
            if pot is not None:
                pot = pot[cut] if embed else pot
                fp = (None, pot if corr is None else pot * corr, None)
    if embed and cur is not None:
        cur = cur[cut]
    if corr is not None and cur is not None:
        cur = cur * corr
    return bounds, cur, fp


# ------------------------------------------------------------------------------------------ block artefacts


@functools.lru_cache(maxsize=8)
def _correction_cached(radius, buffer, block_size, connectivity, solver) -> np.ndarray:
    """Omniscape.jl's block-artefact correction on a uniform landscape: the current of ``block_size²`` single-
    cell solves (1 A each from every source of the circle, target at each cell of the block: the shifted sum of
    one solve) divided by the current of one block solve (block_size² A from the sources outside the block)."""
    p = OmniscapeParams(radius=radius, buffer=buffer, block_size=block_size, connectivity=connectivity,
                        solver=solver, correct_artifacts=False)
    d, br, n = p.dist, p.block_radius, 2 * p.dist + 1
    yy, xx = np.mgrid[0:n, 0:n]
    in_r = (yy - d) ** 2 + (xx - d) ** 2 <= radius ** 2
    cond = np.where((yy - d) ** 2 + (xx - d) ** 2 <= d * d, 1.0, np.nan)
    timings = dict.fromkeys(TIMING_KEYS, 0.0)
    geom = _geometry(n, n, d, d, d, connectivity)
    key = (n, n, d, d, d, connectivity, "correction")
    null_src = np.where(in_r, 1.0 / (in_r.sum() - 1), 0.0)
    null_src[d, d] = 0.0
    null = _solve_window(geom, key, cond, null_src, p, timings)
    blocked = np.where(in_r, 1.0, 0.0)
    blocked[d - br:d + br + 1, d - br:d + br + 1] = 0.0
    blocked *= block_size ** 2 / blocked.sum()
    block_cur = _solve_window(geom, key, cond, blocked, p, timings)
    # No current (the 4-neighbour tips are dead ends) must stay 0, not a solver's round-off: a ratio of two
    # round-offs is noise (module doc). Circuitscape drops branch currents below 1e-8 of the largest.
    null[null < 1e-8 * null.max()] = 0.0
    block_cur[block_cur < 1e-8 * block_cur.max()] = 0.0
    total = np.zeros((n + 2 * br, n + 2 * br))
    for i in range(block_size):
        for j in range(block_size):
            total[i:i + n, j:j + n] += null
    total = total[br:br + n, br:br + n]
    total[block_cur == 0] = 0.0
    total[total == 0] = 1.0
    block_cur[block_cur == 0] = 1.0
    return total / block_cur


def _correction(params: OmniscapeParams) -> np.ndarray:
    return _correction_cached(int(params.radius), int(params.buffer), int(params.block_size),
                              int(params.connectivity), params.solver)


def _crop_correction(corr, row, col, shape, full_shape, dist):
    """The part of the (full-window) correction array that lines up with a window cut by the grid edge."""
    h, w = shape
    n = corr.shape[0]
    lo_r, hi_r, lo_c, hi_c = 0, n, 0, n
    if row > full_shape[0] - 1 - dist:
        hi_r = h
    if row < dist:
        lo_r = hi_r - h
    if col > full_shape[1] - 1 - dist:
        hi_c = w
    if col < dist:
        lo_c = hi_c - w
    return corr[lo_r:hi_r, lo_c:hi_c]


# ------------------------------------------------------------------------------------------ a batch


def solve_targets(inputs, params: OmniscapeParams, targets: np.ndarray, *, cancelled=None) -> Partial:
    """Solve a batch of targets; return their summed currents over the batch's bounding box (see the contract).
    ``inputs``: anything with ``.shape`` and ``.window(r0, r1, c0, c1) -> OmniscapeInputs``."""
    timings = dict.fromkeys(TIMING_KEYS, 0.0)
    full_shape = tuple(inputs.shape)
    targets = np.asarray(targets, dtype=np.float64).reshape(-1, 3)
    if len(targets) == 0:
        return Partial(0, 0, np.zeros((0, 0)), None, 0, timings)
    reach = max(params.dist, params.block_radius)
    R0 = max(int(targets[:, 0].min()) - reach, 0)
    R1 = min(int(targets[:, 0].max()) + reach + 1, full_shape[0])
    C0 = max(int(targets[:, 1].min()) - reach, 0)
    C1 = min(int(targets[:, 1].max()) + reach + 1, full_shape[1])
    sub = inputs.window(R0, R1, C0, C1)
    cum = np.zeros((R1 - R0, C1 - C0))
    fp = np.zeros_like(cum) if params.flow_potential else None
    potentials = _FlowPotentials(params, timings, fp, min(int(params.batch_size), 32)) if params.flow_potential \
        else None
    for t in targets:
        if cancelled is not None and cancelled():
            raise Cancelled()
        (r0, r1, c0, c1), cur, pot = _one_target(sub, (R0, C0), t, full_shape, params, timings)
        win = (slice(r0 - R0, r1 - R0), slice(c0 - C0, c1 - C0))
        if cur is not None:
            cum[win] += cur
        if pot is not None:
            potentials.add(win, *pot)
    if potentials is not None:
        potentials.flush()
    return Partial(R0, C0, cum, fp, len(targets), timings)


# ------------------------------------------------------------------------------------------ the run


class LocalExecutor:
    """The engine's default executor: a serial loop (workers = 1) or a thread pool (the solves release the GIL)."""

    in_process = True

    def __init__(self, workers: int = 1):
        self.workers = int(workers)
        self._pool = None

    def map(self, fn, batches):
        if self.workers <= 1:
            return map(fn, batches)
        if self._pool is None:  # one pool for every map: its threads keep their factorisations (thread-local)
            self._pool = ThreadPoolExecutor(self.workers)
        return self._pool.map(fn, batches)

    def cancel(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def run_omniscape(resistance, sources, params: OmniscapeParams, *, conditions: dict | None = None,
                  executor=None, progress: Callable[[int, str], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> OmniscapeResult:
    """Cumulative current, flow potential and normalised current of a resistance (or conductance) grid.

    ``resistance``/``sources``/``conditions`` are 2-D arrays on the same grid, NaN = nodata; ``sources`` may be
    None when ``params.source_from_resistance``. ``executor`` (``map(fn, batches)``, see the contract) defaults
    to an in-process one with ``params.workers`` threads. ``cancelled()`` is checked between targets (in-process)
    or between batches; a cancel raises ``Cancelled``."""
    if not isinstance(params, OmniscapeParams):
        raise InvalidParameter("params debe ser un OmniscapeParams.", parameter="params")
    started = time.perf_counter()
    progress = progress or (lambda pct, msg: None)
    cancelled = cancelled or (lambda: False)
    inputs = prepare_inputs(resistance, sources, params, conditions)
    targets = plan_targets(inputs.source, params)
    batches = make_batches(targets, params)
    progress(1, f"{len(targets)} bloques objetivo en {len(batches)} lotes")
    own = executor is None
    executor = executor or LocalExecutor(params.workers)
    shared = executor.share(inputs) if hasattr(executor, "share") else inputs
    kwargs = {"cancelled": cancelled} if getattr(executor, "in_process", False) else {}
    fn = functools.partial(solve_targets, shared, params, **kwargs)
    cum = np.zeros(inputs.shape)
    fp = np.zeros(inputs.shape) if params.flow_potential else None
    timings = dict.fromkeys(TIMING_KEYS, 0.0)
    done = 0
    try:
        for part in executor.map(fn, batches):
            _add(cum, fp, part, timings)
            done += part.targets
            progress(1 + int(98 * done / max(1, len(targets))), f"Ventanas resueltas: {done}/{len(targets)}")
            if cancelled():
                raise Cancelled()
    except BaseException:  # our Cancelled, the caller's own (e.g. jobs' JobCancelled), or an error: stop the rest
        if hasattr(executor, "cancel"):
            executor.cancel()
        raise
    finally:
        if own:
            executor.close()
    timings.update(total=time.perf_counter() - started, targets=len(targets), batches=len(batches))
    return _finish(inputs, cum, fp, params, timings)


def _add(cum, fp, part: Partial, timings) -> None:
    h, w = part.cum.shape
    cum[part.r0:part.r0 + h, part.c0:part.c0 + w] += part.cum
    if fp is not None and part.fp is not None:
        fp[part.r0:part.r0 + h, part.c0:part.c0 + w] += part.fp
    for k in TIMING_KEYS:
        timings[k] += part.timings.get(k, 0.0)


def _finish(inputs: OmniscapeInputs, cum, fp, params: OmniscapeParams, timings) -> OmniscapeResult:
    nodata = ~np.isfinite(inputs.conductance)
    norm = None
    if params.calc_normalized_current:
        with np.errstate(divide="ignore", invalid="ignore"):
            norm = cum / fp
        norm[np.isnan(norm)] = 0.0  # 0 / 0 (no current, no potential) is 0, as Omniscape.jl writes it
    dtype = np.float32 if params.precision == "single" else np.float64
    out = []
    for arr in (cum, fp if params.calc_flow_potential else None, norm):
        if arr is not None:
            arr = arr.astype(dtype)
            if params.mask_nodata:
                arr[nodata] = np.nan
        out.append(arr)
    return OmniscapeResult(out[0], out[1], out[2], int(timings["targets"]), timings, list(params.notes),
                           inputs.source)


# ------------------------------------------------------------------------------------------ classes

# Reading of normalised current (cumulative current ÷ flow potential) used in the Omniscape literature
# (McRae et al. 2016, «Conserving Nature's Stage», The Nature Conservancy; Omniscape.jl docs, Examples:
# «> 1 channelized/bottlenecked, ≈ 1 diffuse, < 1 impeded»). The breaks below are the defaults of this
# project and are parameters: Omniscape.jl itself publishes only the reference value 1.
NORMALIZED_CLASSES = (
    ("impedido", 0.0, 0.7),
    ("difuso", 0.7, 1.3),
    ("canalizado", 1.3, 1.7),
    ("intensificado", 1.7, math.inf),
)


def classify_normalized(normalized: np.ndarray, classes=NORMALIZED_CLASSES) -> np.ndarray:
    """Class index per cell (0 = first class …), −1 where nodata."""
    values = np.asarray(normalized, dtype=np.float64)
    out = np.full(values.shape, -1, np.int8)
    for i, (_, lo, hi) in enumerate(classes):
        out[np.isfinite(values) & (values >= lo) & (values < hi)] = i
    return out
