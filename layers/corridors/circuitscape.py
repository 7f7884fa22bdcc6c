"""Circuitscape's raster scenarios on arrays: pairwise, one-to-all, all-to-one and advanced (no Django, no files).

One public function, ``compute(landscape, options, sink)``; the scenario is looked up in ``MODES`` after every
option has been checked. The conventions are Circuitscape.jl's (v5), so its published test cases are the spec
(``tests/layers/test_circuitscape_compat.py``):

* the habitat grid becomes conductances (1/R for resistances); cells with conductance ≤ 0 or no data are not
  nodes; a mask keeps only cells where it is > 0;
* neighbours are joined by the mean of the two resistances (``averaging="resistance"``, i.e. 2/(1/c₁+1/c₂)) or
  of the two conductances (``"conductance"``), divided by √2 on diagonals (8 neighbours);
* every short-circuit region (polygon id) and every focal region is one node; a region cell on no data belongs
  to the node (it shows the node's values) but its resistors use its zero conductance;
* the current of a node is the larger of what flows into it and out of it (ground leakage included), and every
  cell of a node shows its node's value: a focal node shows the total current through it;
* pairwise voltages are 0 at the first point of the pair and R_eff at the second (1 A); resistances between
  points in different components are −1, between points in the same node 0.

Graphs: one graph, one factorisation (or one AMG hierarchy) per connected component, reused for every pair of a
pairwise run with single-cell focal points, and for every point of a one-to-all/all-to-one run (the focal nodes
held at 0 V change from point to point: a small dense system over the focal nodes, see ``_FocalSolver``).
Pairwise focal *regions* change the graph itself for each pair (the two regions are shorted); without polygons
one factorisation still serves every pair (``circuit.CorePairs``: the graph reduced onto the regions' boundary
cells, each pair a small dense solve); with polygons, one factorisation per pair, as in Circuitscape.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pyamg
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import splu

from geosig.errors import InvalidParameter

AVERAGING = ("resistance", "conductance")
CONNECTIVITIES = (4, 8)
POLICIES = ("keepall", "rmvsrc", "rmvgnd", "rmvall")
SOLVERS = ("auto", "direct", "amg")
NODATA = -9999.0
_OFFSETS = {4: [(0, 1, 1.0), (1, 0, 1.0)], 8: [(0, 1, 1.0), (1, 0, 1.0), (1, 1, math.sqrt(2)), (-1, 1, math.sqrt(2))]}


@dataclass
class IncludedPairs:
    """Circuitscape's included-pairs file: ``mode`` include/exclude, point ids, a 0/1 matrix over them."""
    mode: str
    ids: np.ndarray
    matrix: np.ndarray

    def excluded(self) -> set[tuple[int, int]]:
        m, ids, want = self.matrix, self.ids, 0 if self.mode == "include" else 1
        both = (m == want) & (m.T == want)
        return {(int(ids[i]), int(ids[j])) for i, j in zip(*np.nonzero(both))}


@dataclass
class Landscape:
    """The inputs as arrays on the habitat grid (row 0 = north). ``points`` rows are (row, col, id), 0-based."""
    habitat: np.ndarray  # float; NaN = no data
    habitat_is_resistance: bool = True
    polygons: np.ndarray | None = None  # int ids, 0 = none
    mask: np.ndarray | None = None  # > 0 keeps a cell
    points: np.ndarray | None = None  # (k, 3) int
    sources: np.ndarray | None = None  # advanced: current per cell (0 = none)
    grounds: np.ndarray | None = None  # advanced: ground resistance/conductance per cell (NaN = none)
    included: IncludedPairs | None = None
    strengths: np.ndarray | None = None  # (k, 2): id, source strength (one-to-all / all-to-one)


@dataclass
class Options:
    mode: str = "pairwise"
    connectivity: int = 8
    averaging: str = "conductance"  # Circuitscape's default (connect_using_avg_resistances = False)
    ground_is_resistance: bool = True
    policy: str = "keepall"
    unit_currents: bool = False
    direct_grounds: bool = False
    write_cur_maps: bool = False
    write_cum_cur_map_only: bool = False
    write_max_cur_maps: bool = False
    write_volt_maps: bool = False
    null_currents_to_nodata: bool = False
    null_voltages_to_nodata: bool = False
    log_transform: bool = False
    solver: str = "auto"
    direct_max_nodes: int = 200_000
    tol: float = 1e-10


@dataclass
class CircuitscapeResult:
    mode: str
    resistances: np.ndarray | None  # Circuitscape's table: pairwise (n+1)² with ids, focal modes (n, 2)
    nodes: int
    solves: int
    factorisations: int
    timings: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


Sink = Callable[[str, np.ndarray], None]  # (Circuitscape's map name without prefix, e.g. "curmap_1_2", grid)


def compute(landscape: Landscape, options: Options, sink: Sink | None = None) -> CircuitscapeResult:
    """Run one Circuitscape raster scenario; maps go to ``sink(name, grid)`` as they are made."""
    _check(landscape, options)
    t0 = time.perf_counter()
    result = MODES[options.mode](landscape, options, sink or (lambda name, grid: None))
    result.timings["total"] = time.perf_counter() - t0
    return result


def check(landscape: Landscape, options: Options) -> None:
    """``compute``'s checks alone: the API refuses bad inputs with a 4xx before a job exists."""
    _check(landscape, options)


# ------------------------------------------------------------------------------------------------ checks


def _choice(value, valid, what):
    if value not in valid:
        raise InvalidParameter(f"{what} «{value}» no válido; use uno de: {', '.join(map(str, valid))}.")


def _check(ls: Landscape, o: Options) -> None:
    """Modes first (with the valid values), then the arrays."""
    _choice(o.mode, tuple(MODES), "Modo")
    _choice(o.connectivity, CONNECTIVITIES, "Número de vecinos")
    _choice(o.averaging, AVERAGING, "Promedio")
    _choice(o.policy, POLICIES, "Política de conflictos fuente/tierra")
    _choice(o.solver, SOLVERS, "Método de solución")
    hab = np.asarray(ls.habitat, dtype=np.float64)
    if hab.ndim != 2 or hab.size == 0:
        raise InvalidParameter("El mapa de hábitat debe ser una cuadrícula 2D no vacía.")
    if ls.habitat_is_resistance and np.any(hab[np.isfinite(hab)] == 0):
        raise InvalidParameter("Una resistencia 0 no se admite en el mapa de hábitat; use una región de "
                               "cortocircuito (polígono) en su lugar.")
    for name in ("polygons", "mask", "sources", "grounds"):
        grid = getattr(ls, name)
        if grid is not None and np.shape(grid) != hab.shape:
            raise InvalidParameter(f"La cuadrícula «{name}» ({np.shape(grid)}) no tiene el tamaño del hábitat "
                                   f"{hab.shape}.")
    if o.mode == "advanced":
        if ls.sources is None or ls.grounds is None:
            raise InvalidParameter("El modo avanzado necesita un archivo de fuentes y uno de tierras.")
        return
    pts = ls.points
    if pts is None or len(pts) == 0:
        raise InvalidParameter("Este modo necesita un archivo de puntos o regiones focales.")
    pts = np.asarray(pts)
    if (pts[:, :2] < 0).any() or (pts[:, 0] >= hab.shape[0]).any() or (pts[:, 1] >= hab.shape[1]).any():
        raise InvalidParameter("Al menos un punto focal cae fuera del mapa de hábitat.")
    if len(np.unique(pts[pts[:, 2] >= 0, 2])) < 2:
        raise InvalidParameter("Se necesitan al menos dos puntos focales válidos (ids distintos).")


# ------------------------------------------------------------------------------------------------ graph


def conductances(ls: Landscape) -> np.ndarray:
    """Cell conductances, 0 where there is no node (no data, masked, conductance ≤ 0)."""
    hab = np.asarray(ls.habitat, dtype=np.float64)
    ok = np.isfinite(hab)
    with np.errstate(divide="ignore"):
        g = np.where(ok, 1.0 / np.where(ok, hab, 1.0) if ls.habitat_is_resistance else hab, 0.0)
    if ls.mask is not None:
        g = g * (np.nan_to_num(np.asarray(ls.mask, dtype=np.float64), nan=0.0) > 0)
    return np.where(g > 0, g, 0.0)


def node_map(g: np.ndarray, regions: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Cell → node (−1 none): one node per cell with g > 0; every region with such a cell is one node, all its
    cells included (Circuitscape's construct_node_map). Numbered in column-major order, as Circuitscape."""
    key = np.where(g > 0, np.arange(g.size).reshape(g.shape) + 1, 0).astype(np.int64)
    if regions is not None:
        reg = np.asarray(regions, dtype=np.int64)
        live = np.unique(reg[(reg != 0) & (g > 0)])
        inreg = np.isin(reg, live)
        # a region is keyed after every cell key; the min of the keys orders it like its first cell
        key = np.where(inreg, -(np.searchsorted(live, reg) + 1), key)  # negative: never a cell key
    flat = key.T.ravel()  # column-major, like Julia
    uniq, first = np.unique(flat[flat != 0], return_index=True)
    order = np.argsort(first)  # first appearance (column-major) defines the numbering
    rank = np.empty(len(uniq), np.int64)
    rank[order] = np.arange(len(uniq))
    node_flat = np.full(flat.size, -1, np.int64)
    node_flat[flat != 0] = rank[np.searchsorted(uniq, flat[flat != 0])]
    return node_flat.reshape(g.shape[::-1]).T.copy(), len(uniq)


@dataclass
class Network:
    node: np.ndarray  # cell → node, −1 none
    n: int
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray  # conductance of each resistor between distinct nodes
    comp: np.ndarray  # component label per node

    def laplacian(self) -> sp.csr_matrix:
        n, u, v, w = self.n, self.u, self.v, self.w
        deg = np.bincount(u, w, n) + np.bincount(v, w, n)
        return sp.coo_matrix((np.r_[-w, -w, deg], (np.r_[u, v, np.arange(n)], np.r_[v, u, np.arange(n)])),
                             shape=(n, n)).tocsr()


def network(g: np.ndarray, regions: np.ndarray | None, o: Options) -> Network:
    """Resistor network of a conductance grid: Circuitscape's construct_graph, vectorised."""
    node, n = node_map(g, regions)
    rows, cols = g.shape
    us, vs, ws = [], [], []
    for dr, dc, step in _OFFSETS[o.connectivity]:
        a = (slice(max(0, -dr), rows - max(0, dr)), slice(0, cols - dc))
        b = (slice(max(0, dr), rows - max(0, -dr)), slice(dc, cols))
        na, nb = node[a], node[b]
        keep = (na >= 0) & (nb >= 0) & (na != nb)  # resistors inside one node carry nothing
        ga, gb = g[a][keep], g[b][keep]
        with np.errstate(divide="ignore"):
            if o.averaging == "resistance":
                both = (ga > 0) & (gb > 0)  # a region cell on no data (conductance 0) conducts nothing
                w = np.where(both, 2.0 / (1.0 / np.where(both, ga, 1) + 1.0 / np.where(both, gb, 1)), 0.0)
            else:
                w = (ga + gb) / 2.0
        us.append(na[keep]), vs.append(nb[keep]), ws.append(w / step)
    u, v, w = np.concatenate(us), np.concatenate(vs), np.concatenate(ws)
    live = w > 0
    u, v, w = u[live], v[live], w[live]
    _, comp = connected_components(sp.coo_matrix((w, (u, v)), shape=(n, n)), directed=False)
    return Network(node, n, u, v, w, comp)


class Reduced:
    """A component's Laplacian (+ ground conductances) with some nodes held at 0 V, factorised once."""

    def __init__(self, lap: sp.csr_matrix, fixed: np.ndarray, o: Options, diag: np.ndarray | None = None):
        a = lap + sp.diags(diag) if diag is not None else lap
        self.keep = np.flatnonzero(~fixed)
        self.n = lap.shape[0]
        a = a[self.keep][:, self.keep].tocsc()
        self.kind = o.solver if o.solver != "auto" else ("direct" if len(self.keep) <= o.direct_max_nodes else "amg")
        self.tol = o.tol
        if a.shape[0] == 0:
            self.kind = "empty"
        elif self.kind == "direct":
            try:
                # symmetric-pattern minimum degree ordering: about half the fill-in and factor time of
                # SuperLU's default COLAMD on these grid Laplacians (81 000 nodes: 4.3 s against 8.0 s)
                self.lu = splu(a, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
            except RuntimeError:  # e.g. negative ground conductances cancelling the network's own
                raise InvalidParameter("El sistema del circuito es singular: revise las tierras (conductancias "
                                       "negativas o nulas) y las fuentes.") from None
        else:
            # Classical AMG on this M-matrix; one hierarchy serves every right-hand side of the component.
            self.ml = pyamg.ruge_stuben_solver(a.tocsr(), max_coarse=500)

    def solve(self, b: np.ndarray) -> np.ndarray:
        x = np.zeros(self.n)
        rhs = b[self.keep]
        if self.kind == "empty":
            return x
        if self.kind == "direct":
            x[self.keep] = self.lu.solve(rhs)
        else:
            x[self.keep] = self.ml.solve(rhs, tol=self.tol, accel="cg", maxiter=1000)
        return x


def node_currents(net: Network, volt: np.ndarray, ground: np.ndarray | None = None) -> np.ndarray:
    """Per node: max(current in, current out) over its resistors and its ground leakage (Circuitscape)."""
    i = net.w * (volt[net.u] - volt[net.v])
    big = np.abs(i).max(initial=0.0)
    i[np.abs(i) < 1e-8 * big] = 0.0  # Circuitscape drops branch currents below 1e-8 of the largest
    pos, neg = np.maximum(i, 0.0), np.maximum(-i, 0.0)
    out = np.bincount(net.u, pos, net.n) + np.bincount(net.v, neg, net.n)
    inn = np.bincount(net.v, pos, net.n) + np.bincount(net.u, neg, net.n)
    if ground is not None:
        leak = ground * volt
        out += np.maximum(leak, 0.0)
        inn += np.maximum(-leak, 0.0)
    return np.maximum(inn, out)


def to_cells(net: Network, values: np.ndarray, nodes_in: np.ndarray) -> np.ndarray:
    """Node values on the grid; 0 on cells whose node is not among ``nodes_in`` (boolean per node)."""
    node = net.node
    ok = node >= 0
    ok[ok] = nodes_in[node[ok]]
    out = np.zeros(node.shape)
    out[ok] = values[node[ok]]
    return out


def _finish(grid: np.ndarray, g: np.ndarray, o: Options, null_to_nodata: bool, log: bool = False) -> np.ndarray:
    if log and o.log_transform:  # Circuitscape log-transforms current maps only
        with np.errstate(divide="ignore"):
            grid = np.where(grid > 0, np.log10(np.where(grid > 0, grid, 1.0)), NODATA)
    if null_to_nodata:
        grid = np.where(g == 0, NODATA, grid)
    return grid


class _Cumulative:
    def __init__(self, shape, with_max: bool):
        self.cum = np.zeros(shape)
        self.max = np.full(shape, NODATA) if with_max else None

    def add(self, cmap):
        self.cum += cmap
        if self.max is not None:
            np.maximum(self.max, cmap, out=self.max)

    def emit(self, o: Options, sink: Sink):
        if o.write_cur_maps or o.write_cum_cur_map_only:
            sink("cum_curmap", np.maximum(self.cum, NODATA))
            if self.max is not None:
                sink("max_curmap", np.maximum(self.max, NODATA))


# ------------------------------------------------------------------------------------------------ pairwise


def _prune(points: np.ndarray, inc: IncludedPairs | None) -> tuple[np.ndarray, set]:
    """Points kept and unordered excluded pairs, as Circuitscape's generate_exclude_pairs."""
    points = np.asarray(points, dtype=np.int64)
    points = points[points[:, 2] >= 0]
    points = points[np.argsort(points[:, 2], kind="stable")]
    if inc is None:
        return points, set()
    if inc.mode == "include":
        points = points[np.isin(points[:, 2], inc.ids)]
    return points, inc.excluded()


def _pairwise(ls: Landscape, o: Options, sink: Sink) -> CircuitscapeResult:
    g = conductances(ls)
    points, excluded = _prune(ls.points, ls.included)
    ids = points[:, 2]
    cum = _Cumulative(g.shape, o.write_max_cur_maps)
    if len(ids) != len(np.unique(ids)):
        res, stats = _pairwise_regions(ls, g, points, excluded, o, sink, cum)
        labels = np.unique(ids)
    else:
        res, stats = _pairwise_points(ls, g, points, excluded, o, sink, cum)
        labels = ids
    np.fill_diagonal(res, 0.0)
    table = np.zeros((len(labels) + 1, len(labels) + 1))
    table[0, 1:] = labels
    table[1:, 0] = labels
    table[1:, 1:] = res
    cum.emit(o, sink)
    return CircuitscapeResult("pairwise", table, *stats)


def _pair_maps(net, g, volt, comp_nodes, name, ground, o, sink, cum):
    if o.write_volt_maps:
        sink(f"voltmap{name}", _finish(to_cells(net, volt, comp_nodes), g, o, o.null_voltages_to_nodata))
    if not (o.write_cur_maps or o.write_cum_cur_map_only):
        return  # no current map is written: none is computed
    cmap = _finish(to_cells(net, node_currents(net, volt, ground), comp_nodes), g, o, o.null_currents_to_nodata, True)
    cum.add(cmap)
    if o.write_cur_maps and not o.write_cum_cur_map_only:
        sink(f"curmap{name}", cmap)


def _pairwise_points(ls, g, points, excluded, o, sink, cum):
    """Single-cell focal points: one graph, one factorisation per component, every pair solved on it."""
    net = network(g, ls.polygons, o)
    ids = points[:, 2]
    pnode = net.node[points[:, 0], points[:, 1]]
    k = len(ids)
    res = -np.ones((k, k))
    lap = net.laplacian()
    solves = facts = 0
    for c in np.unique(net.comp[pnode[pnode >= 0]]):
        in_c = net.comp == c
        csub = list(dict.fromkeys(int(p) for p in pnode if p >= 0 and in_c[p]))
        for p in csub:  # several points in one node (a polygon): resistance 0 between them
            same = np.flatnonzero(pnode == p)
            res[np.ix_(same, same)] = 0.0
        if len(csub) < 2:
            continue
        local = np.flatnonzero(in_c)
        pos = np.full(net.n, -1)
        pos[local] = np.arange(len(local))
        fixed = np.zeros(len(local), bool)
        fixed[pos[csub[0]]] = True  # any reference node: the injections of a pair sum to 0
        red = Reduced(lap[local][:, local], fixed, o)
        facts += 1
        for a in range(len(csub)):
            src = np.flatnonzero(pnode == csub[a])
            for b in range(a + 1, len(csub)):
                dst = np.flatnonzero(pnode == csub[b])
                combos = [(i, j) for i in src for j in dst
                          if (int(ids[i]), int(ids[j])) not in excluded]
                if not combos:
                    continue
                rhs = np.zeros(len(local))
                rhs[pos[csub[a]]], rhs[pos[csub[b]]] = -1.0, 1.0
                x = red.solve(rhs)
                solves += 1
                x -= x[pos[csub[a]]]
                volt = np.zeros(net.n)
                volt[local] = x
                r = float(x[pos[csub[b]]])
                for i, j in combos:
                    res[i, j] = res[j, i] = r
                    _pair_maps(net, g, volt, in_c, f"_{ids[i]}_{ids[j]}", None, o, sink, cum)
    return res, (net.n, solves, facts)


def _region_polymap(shape, polygons, points, p1, p2):
    """Circuitscape's create_new_polymap for one pair: the two focal regions become short-circuit regions."""
    if polygons is None:
        new = np.zeros(shape, np.int64)
        for p in (p1, p2):
            sel = points[points[:, 2] == p]
            new[sel[:, 0], sel[:, 1]] = p
        return new
    poly = np.asarray(polygons, np.int64)
    new = poly.copy()
    k = int(poly.max())
    for p in (p1, p2):
        sel = points[points[:, 2] == p]
        if len(sel) == 1:
            continue
        under = poly[sel[:, 0], sel[:, 1]]
        k += 1
        if (under == 0).all():
            new[sel[:, 0], sel[:, 1]] = k
        else:  # the polygons the region touches become one region (its cells outside them stay as they are)
            new[np.isin(poly, under[under != 0])] = k
    return new


def _pairwise_regions(ls, g, points, excluded, o, sink, cum):
    """Focal regions: each pair shorts its two regions, so each pair has its own graph."""
    labels = np.unique(points[:, 2])
    res = -np.ones((len(labels), len(labels)))
    solves = facts = nodes = 0
    shared = None
    for a in range(len(labels)):
        for b in range(a + 1, len(labels)):
            p1, p2 = int(labels[a]), int(labels[b])
            if (p1, p2) in excluded:
                continue
            net = network(g, _region_polymap(g.shape, ls.polygons, points, p1, p2), o)
            nodes = max(nodes, net.n)
            first1, first2 = points[points[:, 2] == p1][0], points[points[:, 2] == p2][0]
            n1, n2 = net.node[first1[0], first1[1]], net.node[first2[0], first2[1]]
            if n1 < 0 or n2 < 0 or net.comp[n1] != net.comp[n2]:
                continue
            if n1 == n2:
                res[a, b] = res[b, a] = 0.0
                continue
            in_c = net.comp == net.comp[n1]
            if shared is None:
                shared = _SharedRegions(ls, g, points, o)
                facts += shared.core_pairs is not None
            solves += 1
            if shared.core_pairs is not None:
                volt = shared.voltages(p2, p1, net)  # 1 A into p2, p1 grounded: Circuitscape's signs
                res[a, b] = res[b, a] = float(volt[n2])
                _pair_maps(net, g, volt, in_c, f"_{p1}_{p2}", None, o, sink, cum)
                continue
            local = np.flatnonzero(in_c)
            pos = np.full(net.n, -1)
            pos[local] = np.arange(len(local))
            fixed = np.zeros(len(local), bool)
            fixed[pos[n1]] = True
            red = Reduced(net.laplacian()[local][:, local], fixed, o)
            rhs = np.zeros(len(local))
            rhs[pos[n2]] = 1.0
            x = red.solve(rhs)
            facts += 1
            volt = np.zeros(net.n)
            volt[local] = x
            res[a, b] = res[b, a] = float(x[pos[n2]])
            _pair_maps(net, g, volt, in_c, f"_{p1}_{p2}", None, o, sink, cum)
    return res, (nodes, solves, facts)


class _SharedRegions:
    """Focal regions without polygons: the graph with every region as plain cells is the same for all pairs, so
    ``circuit.CorePairs`` factorises it once and gives each pair's cell voltages exactly as the pair's own graph
    (its two regions shorted). ``core_pairs`` is None when that does not apply (polygons, a cell in two regions);
    the caller then builds and factorises each pair's graph."""

    def __init__(self, ls, g, points, o):
        from .circuit import CorePairs

        self.core_pairs = None
        cores = np.zeros(g.shape, np.int64)
        cores[points[:, 0], points[:, 1]] = points[:, 2] + 1  # +1: ids may be 0
        if ls.polygons is not None or len(np.unique(points[:, :2], axis=0)) < len(points) or (points[:, 2] < 0).any():
            return
        with np.errstate(divide="ignore"):
            resistance = np.where(g > 0, 1.0 / np.where(g > 0, g, 1.0), np.nan)
        self.core_pairs = CorePairs(resistance, cores, connectivity=o.connectivity, averaging=o.averaging)

    def voltages(self, src: int, gnd: int, net: Network) -> np.ndarray:
        """Node voltages of the pair's network (``net``) with 1 A into region ``src`` and ``gnd`` at 0 V."""
        cell_v = self.core_pairs.pair(src + 1, gnd + 1).voltage
        volt = np.zeros(net.n)
        ok = (net.node >= 0) & np.isfinite(cell_v)
        volt[net.node[ok]] = cell_v[ok]
        return volt


# ------------------------------------------------------------------------------------------------ advanced


def _node_sums(net: Network, grid: np.ndarray) -> np.ndarray:
    vals = np.zeros(net.n)
    cells = (grid != 0) & (net.node >= 0)
    np.add.at(vals, net.node[cells], grid[cells])
    return vals


def _resolve(sources, grounds, policy):
    """Circuitscape's resolve_conflicts: finite grounds are taken before the policy removes anything."""
    finite = np.where(np.isinf(grounds), 0.0, grounds)
    both = (sources != 0) & (grounds != 0)
    if policy in ("rmvsrc", "rmvall"):
        sources = np.where(both, 0.0, sources)
    if policy == "rmvgnd":
        grounds = np.where(both, 0.0, grounds)
    grounds = np.where(np.isinf(grounds) & (sources > 0), 0.0, grounds)
    return sources, grounds, (finite if finite.any() else None)


def _advanced_solve(net, lap, sources, grounds, finite, o):
    """Voltages (0 off the solved components), solved component mask, and factorisations made."""
    volt = np.zeros(net.n)
    solved = np.zeros(net.n, bool)
    facts = 0
    for c in np.unique(net.comp):
        in_c = net.comp == c
        local = np.flatnonzero(in_c)
        s, gr = sources[local], grounds[local]
        if s.sum() == 0 or gr.sum() == 0:
            continue
        red = Reduced(lap[local][:, local], np.isinf(gr), o, None if finite is None else finite[local])
        facts += 1
        volt[local] = red.solve(s)
        solved |= in_c
    return volt, solved, facts


def _advanced(ls: Landscape, o: Options, sink: Sink) -> CircuitscapeResult:
    g = conductances(ls)
    net = network(g, ls.polygons, o)
    src = np.nan_to_num(np.asarray(ls.sources, dtype=np.float64), nan=0.0)
    gnd = np.asarray(ls.grounds, dtype=np.float64)
    with np.errstate(divide="ignore"):
        gnd = np.where(np.isnan(gnd), 0.0, 1.0 / gnd if o.ground_is_resistance else gnd)
    if o.unit_currents:
        src = np.where(src != 0, 1.0, 0.0)
    if o.direct_grounds:
        gnd = np.where(gnd != 0, np.inf, 0.0)
    sources, grounds, finite = _resolve(_node_sums(net, src), _node_sums(net, gnd), o.policy)
    volt, solved, facts = _advanced_solve(net, net.laplacian(), sources, grounds, finite, o)
    if o.write_volt_maps:
        sink("voltmap", to_cells(net, volt, solved))
    if o.write_cur_maps or o.write_cum_cur_map_only:
        cur = to_cells(net, node_currents(net, volt, finite), solved) if o.write_cur_maps else np.zeros(g.shape)
        sink("curmap", cur)
    notes = [] if solved.any() else ["Ningún componente tiene a la vez fuentes y tierras: no se resolvió nada."]
    return CircuitscapeResult("advanced", None, net.n, facts, facts, notes=notes)


# ------------------------------------------------------------------------------------------------ one/all


def _focal_polymap(polygons, points, point_map) -> np.ndarray:
    """Circuitscape's create_new_polymap with a point map: focal regions joined to the short-circuit regions."""
    if polygons is None:
        return point_map.copy()
    poly = np.asarray(polygons, np.int64)
    new = poly.copy()
    cells = np.argwhere(point_map.T != 0)[:, ::-1]  # column-major order, as Julia's findall
    if len(points[:, 2]) == len(np.unique(points[:, 2])):
        k = int(poly.max())
        free = (point_map != 0) & (poly == 0)
        new[free] = point_map[free] + k
        return new
    k = max(int(poly.max()), int(point_map.max()))
    for r, c in cells:
        v1, v2 = point_map[r, c], new[r, c]
        if v2 == 0:
            new[r, c] = k + v1
        elif v1 != v2:
            new[new == v2] = v1
    return new


def _focal_problem(ls, o, point_map, unique_map, n, strength, strength_map):
    """Source and ground grids for focal point ``n`` (Circuitscape's onetoall_kernel)."""
    if o.mode == "one-to-all":
        src = np.where(unique_map == n, strength, 0.0)
        gnd = np.where((point_map != n) & (point_map > 0), np.inf, 0.0)
        return src, gnd, "rmvgnd"
    if strength_map is not None:
        src = np.where(unique_map == n, 0.0, strength_map)
    else:
        src = np.where((unique_map != 0) & (point_map != n), 1.0, 0.0)
    gnd = np.where(point_map == n, np.inf, 0.0)
    return src, gnd, "rmvsrc"


def _focal(ls: Landscape, o: Options, sink: Sink) -> CircuitscapeResult:
    g = conductances(ls)
    points, _ = _prune(ls.points, None)
    inc = ls.included
    if inc is not None:  # one-to-all/all-to-one keep only the listed points, in either mode (Circuitscape)
        points = points[np.isin(points[:, 2], inc.ids)]
    strengths = None if ls.strengths is None else np.asarray(ls.strengths, dtype=np.float64)
    if inc is not None and strengths is not None:
        strengths = strengths[np.isin(strengths[:, 0], inc.ids)]
    if strengths is not None and len(strengths) < len(points):
        raise InvalidParameter(f"El archivo de intensidades de fuente tiene {len(strengths)} filas; se "
                               f"necesita una por punto focal ({len(points)}).")
    point_map = np.zeros(g.shape, np.int64)
    point_map[points[:, 0], points[:, 1]] = points[:, 2]
    labels = list(dict.fromkeys(int(p) for p in points[:, 2]))
    unique_map = np.zeros(g.shape, np.int64)
    for p in labels:
        r, c = points[points[:, 2] == p][0][:2]
        unique_map[r, c] = p
    net = network(g, _focal_polymap(ls.polygons, points, point_map), o)
    solver = _FocalSolver(net, net.node[points[:, 0], points[:, 1]], o)
    cum = _Cumulative(g.shape, o.write_max_cur_maps)
    res = np.zeros(len(labels))
    for i, n in enumerate(labels):
        pmap, smap = _point_maps(inc, i, point_map, points, strengths)
        if pmap.sum() == n:  # no partner left after the included-pairs file
            res[i] = -1
            continue
        strength = strengths[i, 1] if strengths is not None else 1.0
        src, gnd, policy = _focal_problem(ls, o, pmap, unique_map, n, strength, smap)
        sources, grounds, _ = _resolve(_node_sums(net, src), _node_sums(net, gnd), policy)
        check = net.node[points[i, 0], points[i, 1]] if i < len(points) else -1
        volt, solved = solver.solve(sources, grounds, int(check))
        res[i] = _focal_resistance(o, net, volt, solved, src)
        if o.write_volt_maps:
            sink(f"voltmap_{n}", to_cells(net, volt, solved))
        curr = to_cells(net, node_currents(net, volt), solved) if o.write_cur_maps else np.zeros(g.shape)
        if o.write_cur_maps or o.write_cum_cur_map_only:
            sink(f"curmap_{n}", curr)
        cum.add(curr)
    cum.emit(o, sink)
    return CircuitscapeResult(o.mode, np.column_stack([labels, res]), net.n, solver.solves, solver.factorisations)


def _point_maps(inc, i, point_map, points, strengths):
    """Point map of the i-th point's solve (partners left out by the included-pairs file removed) and, with
    variable strengths, the strength of each point cell (1 for removed points), as Circuitscape."""
    pmap = point_map.copy()
    if inc is not None and i < len(inc.ids):
        want = 0 if inc.mode == "include" else 1
        for j, other in enumerate(inc.ids):
            if i != j and inc.matrix[i, j] == want:
                pmap[pmap == other] = 0
    if strengths is None:
        return pmap, None
    st = strengths[: len(points), 1].copy()
    st[pmap[points[:, 0], points[:, 1]] == 0] = 1.0
    smap = np.zeros(point_map.shape)
    smap[points[:, 0], points[:, 1]] = st
    return pmap, smap


class _FocalSolver:
    """One factorisation per component for all the solves of a one-to-all/all-to-one run.

    Each solve holds a different set G of focal nodes at 0 V. With L_r⁻¹ (the component's Laplacian grounded at
    one reference node, factorised once) and Z = L_r⁻¹ restricted to the focal nodes (one solve per focal node,
    once), the currents y leaving through G and the voltage shift c solve the small system
    Z_GG y − c = (L_r⁻¹ s)_G, Σ y = Σ s; then v = L_r⁻¹ (s − y on G) + c. Exactly Circuitscape's system
    (G removed, sources s), without refactoring per point."""

    def __init__(self, net: Network, focal_nodes: np.ndarray, o: Options):
        self.net, self.o, self.lap = net, o, net.laplacian()
        self.focal = np.unique(focal_nodes[focal_nodes >= 0])
        self.parts: dict[int, tuple] = {}
        self.solves = self.factorisations = 0

    def _part(self, c: int):
        if c not in self.parts:
            local = np.flatnonzero(self.net.comp == c)
            fixed = np.zeros(len(local), bool)
            fixed[0] = True
            red = Reduced(self.lap[local][:, local], fixed, self.o)
            terminals = np.searchsorted(local, self.focal[self.net.comp[self.focal] == c])
            z = np.empty((len(terminals), len(terminals)))
            for k, t in enumerate(terminals):
                e = np.zeros(len(local))
                e[t] = 1.0
                z[:, k] = red.solve(e)[terminals]
            self.factorisations += 1
            self.solves += len(terminals)
            self.parts[c] = (local, red, {int(t): k for k, t in enumerate(terminals)}, z)
        return self.parts[c]

    def solve(self, sources, grounds, check: int):
        """Voltages (0 off the solved component) and the solved nodes; only the component of ``check``."""
        net = self.net
        volt, solved = np.zeros(net.n), np.zeros(net.n, bool)
        if check < 0:
            return volt, solved
        in_c = net.comp == net.comp[check]
        s, gr = sources[in_c], grounds[in_c]
        if s.sum() == 0 or gr.sum() == 0:
            return volt, solved
        local, red, index, z = self._part(int(net.comp[check]))
        held = np.flatnonzero(np.isinf(gr))
        k = [index[int(h)] for h in held]
        m = len(k)
        a = np.zeros((m + 1, m + 1))
        a[:m, :m], a[:m, m], a[m, :m] = z[np.ix_(k, k)], -1.0, 1.0
        u = red.solve(s)
        y = np.linalg.solve(a, np.r_[u[held], s.sum()])
        f = s.copy()
        f[held] -= y[:m]
        v = red.solve(f) + y[m]
        v[held] = 0.0
        self.solves += 2
        volt[local], solved[local] = v, True
        return volt, solved


def _focal_resistance(o, net, volt, solved, src) -> float:
    """One-to-all: voltage at the source / its strength (−1 if nothing was solved); all-to-one: 0 or −1."""
    if not solved.any():
        return -1.0
    if o.mode == "all-to-one":
        return 0.0
    cells = np.argwhere(src.T != 0)[:, ::-1]  # first source cell in column-major order
    r, c = cells[0]
    node = net.node[r, c]
    val = (volt[node] if node >= 0 and solved[node] else 0.0) / src[r, c]
    return -1.0 if val == 0 else float(val)


MODES: dict[str, Callable[[Landscape, Options, Sink], CircuitscapeResult]] = {
    "pairwise": _pairwise,
    "one-to-all": _focal,
    "all-to-one": _focal,
    "advanced": _advanced,
}
