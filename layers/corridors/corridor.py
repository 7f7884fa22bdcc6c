"""Least-cost corridors between core areas, in the manner of Linkage Mapper (McRae & Kavanagh 2011).

Steps (all on one validated resistance grid, costs as in ``costdistance``):

1. One multi-source Dijkstra from all cores at once gives the cost allocation (which core is cheapest to
   reach each cell) and the CWD to the nearest core. Two cores are *adjacent* when their allocation zones
   touch (8 neighbours). The cheapest crossing of the shared zone boundary, CWD(u) + step(u, v) + CWD(v),
   is an upper bound U_AB of the least-cost distance LCD_AB.
2. For each core A, CWD_A is computed only up to ``max_B U_AB + width`` (the cost cut-off): no cell beyond
   it can lie in a corridor of width ``width``. Cores run in parallel threads (the solver releases the GIL).
3. For each adjacent pair: LCD_AB = min of CWD_A over the cells of B; the least-cost path (LCP) is traced
   back from that cell along A's predecessors; the normalised least-cost corridor is
   NLCC_AB = CWD_A + CWD_B − LCD_AB (0 on the LCP, ≥ 0 elsewhere). Pairs are mosaicked by minimum; the
   link that gives the minimum is kept per cell so truncated corridors can be cut out per link.
4. Link table: Euclidean distance between the nearest cells of the two cores (edge to edge, cell centres),
   LCD (cost-weighted distance), LCP length, CWD:Euclidean and CWD:path-length ratios. A link is dropped
   (kept in the table with its reason) when its LCD exceeds ``max_link_cwd`` or its LCP passes through a
   third core (the two shorter links through that core represent it), as Linkage Mapper does.
"""
from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.spatial import cKDTree

from geosig.errors import InvalidParameter

from .costdistance import (SQRT2, cost_distance, cost_distance_from_zone, path_length, trace_path,
                           validate_resistance)

STATUS_LABELS = {
    "ok": "vínculo válido",
    "too_long": "descartado: distancia de costo mayor que el máximo",
    "through_core": "descartado: la ruta atraviesa otro núcleo",
    "no_path": "sin ruta (barreras)",
    "touching": "núcleos contiguos (corredor de longitud cero)",
}


class Cancelled(Exception):
    """Raised from inside a run when its cancel flag is set; callers discard partial results."""


@dataclass
class Link:
    a: int
    b: int
    status: str
    lcd: float = math.inf  # least-cost distance (cost units)
    euclid: float = math.nan  # edge-to-edge Euclidean distance (CRS units)
    path_len: float = math.nan
    via: int | None = None  # third core crossed by the LCP
    path: np.ndarray | None = None  # (k, 2) rows/cols from B's edge to A's edge

    @property
    def cwd_to_euclid(self) -> float:
        return self.lcd / self.euclid if self.euclid and np.isfinite(self.lcd) else math.nan

    @property
    def cwd_to_path(self) -> float:
        return self.lcd / self.path_len if self.path_len and np.isfinite(self.lcd) else math.nan

    @property
    def kept(self) -> bool:
        return self.status in ("ok", "touching")


@dataclass
class CorridorResult:
    cell_size: float
    width: float
    alloc: np.ndarray  # int32 label of the cheapest core (0 = unreachable)
    cwd_min: np.ndarray  # CWD to the nearest core
    cwd: dict[int, np.ndarray]  # per-core CWD, bounded by its cut-off (+inf beyond)
    links: list[Link]
    corridor: np.ndarray  # NLCC mosaic (min over kept links), +inf outside every bounded CWD
    corridor_link: np.ndarray  # int32, 1-based index into ``links`` giving the minimum; 0 = none
    notes: list[str] = field(default_factory=list)

    def truncated(self) -> np.ndarray:
        """Mask of cells inside a corridor of the configured width."""
        return self.corridor <= self.width

    def link_rows(self, names: dict[int, str] | None = None) -> list[dict]:
        names = names or {}
        out = []
        for i, lk in enumerate(self.links, start=1):
            out.append({
                "link_id": i, "core_a": lk.a, "core_b": lk.b,
                "name_a": names.get(lk.a, str(lk.a)), "name_b": names.get(lk.b, str(lk.b)),
                "status": lk.status, "status_label": STATUS_LABELS[lk.status],
                "euclid_dist": lk.euclid, "cwd": lk.lcd, "lcp_length": lk.path_len,
                "cwd_to_euclid": lk.cwd_to_euclid, "cwd_to_path": lk.cwd_to_path,
                "via_core": lk.via,
            })
        return out


def _check_cores(res: np.ndarray, cores: np.ndarray, names: dict[int, str]) -> list[int]:
    if cores.shape != res.shape:
        raise InvalidParameter(f"La grilla de núcleos ({cores.shape}) no coincide con la de resistencia ({res.shape}).")
    labels = [int(v) for v in np.unique(cores) if v > 0]
    if len(labels) < 2:
        raise InvalidParameter(
            f"Se necesitan al menos dos núcleos dentro del área para trazar corredores; hay {len(labels)}."
        )
    blocked = [lab for lab in labels if not np.isfinite(res[cores == lab]).any()]
    if blocked:
        raise InvalidParameter(
            "Estos núcleos caen enteros sobre barreras o celdas sin dato (p. ej. fuera de la cobertura del DEM) y "
            "no pueden conectarse: " + ", ".join(names.get(b, str(b)) for b in blocked) + ".", cores=blocked,
        )
    return labels


def adjacency(alloc: np.ndarray, dist: np.ndarray, res: np.ndarray, cell_size: float) -> dict[tuple[int, int], float]:
    """Pairs of cores whose allocation zones touch → cheapest boundary crossing (an upper bound of their LCD)."""
    best: dict[tuple[int, int], float] = {}
    rows, cols = alloc.shape
    # (slice of u, slice of v, step length): right, down, down-right, down-left.
    shifts = [
        ((slice(None), slice(0, cols - 1)), (slice(None), slice(1, cols)), 1.0),
        ((slice(0, rows - 1), slice(None)), (slice(1, rows), slice(None)), 1.0),
        ((slice(0, rows - 1), slice(0, cols - 1)), (slice(1, rows), slice(1, cols)), SQRT2),
        ((slice(0, rows - 1), slice(1, cols)), (slice(1, rows), slice(0, cols - 1)), SQRT2),
    ]
    for su, sv, step in shifts:
        au, av = alloc[su], alloc[sv]
        m = (au != av) & (au > 0) & (av > 0)
        if not m.any():
            continue
        a, b = au[m], av[m]
        u = dist[su][m] + dist[sv][m] + step * cell_size * 0.5 * (res[su][m] + res[sv][m])
        lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
        key = lo * (1 << 32) + hi
        order = np.lexsort((u, key))
        key, u = key[order], u[order]
        first = np.r_[True, key[1:] != key[:-1]]
        for k, val in zip(key[first], u[first]):
            pair = (int(k >> 32), int(k & 0xFFFFFFFF))
            if val < best.get(pair, math.inf):
                best[pair] = float(val)
    return best


def _edge_cells(mask: np.ndarray) -> np.ndarray:
    """(row, col) of the cells of ``mask`` that touch a non-mask cell (enough for edge-to-edge distances)."""
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    edge = mask & ~inner
    return np.argwhere(edge)


def corridors(
    resistance: np.ndarray,
    cores: np.ndarray,
    cell_size: float,
    width: float,
    max_link_cwd: float | None = None,
    threads: int = 2,
    progress: Callable[[int, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    validated: bool = False,
    names: dict[int, str] | None = None,
    executor=None,
) -> CorridorResult:
    """Run the whole least-cost-corridor analysis (see module docstring).

    ``resistance``: 2-D array (barriers NaN/inf); ``cores``: int array, 0 = no core, k > 0 = core id;
    ``width``: corridor truncation width in cost units (also sets the CWD cut-off); ``max_link_cwd``: links
    with a larger LCD are dropped as too long (None = no limit). ``executor``: None = per-core surfaces on
    ``threads`` threads of this process; else an executor with ``share``/``map`` (``layers.distributed``) that
    runs them as tasks on windows — the same surfaces, bit for bit.
    """
    if width is None or not width > 0:
        raise InvalidParameter(f"El ancho de corte del corredor debe ser > 0 en unidades de costo (llegó {width}).")
    if max_link_cwd is not None and not max_link_cwd > 0:
        raise InvalidParameter(f"La distancia de costo máxima de un vínculo debe ser > 0 (llegó {max_link_cwd}).")
    progress = progress or (lambda pct, msg: None)
    cancelled = cancelled or (lambda: False)
    res = resistance if validated else validate_resistance(resistance)
    cores = np.ascontiguousarray(cores, dtype=np.int32)
    names = names or {}
    labels = _check_cores(res, cores, names)
    notes: list[str] = []

    progress(2, "Asignación de costo desde todos los núcleos")
    full = cost_distance(res, cores, cell_size, allocation=True, predecessors=True, validated=True)
    if cancelled():
        raise Cancelled()
    adj = adjacency(full.alloc, full.dist, res, cell_size)
    _note_isolated(adj, labels, names, notes)
    cutoff = _cutoffs(adj, width, max_link_cwd)
    per_core, pred = _per_core_surfaces(res, full, cutoff, cell_size, threads, progress, cancelled, executor, adj)

    progress(82, "Vínculos, rutas de menor costo y corredores")
    core_cells, edge_cells = _core_cells(cores, labels)
    links = [_link(a, b, per_core[a], pred[a], core_cells[b], edge_cells, cores, cell_size, max_link_cwd)
             for (a, b) in sorted(adj)]
    touching = [lk for lk in links if lk.status == "touching"]
    if touching:
        notes.append(
            "Núcleos contiguos (se tocan; su corredor tiene longitud cero): "
            + ", ".join(f"{names.get(lk.a, lk.a)}–{names.get(lk.b, lk.b)}" for lk in touching) + "."
        )

    if cancelled():
        raise Cancelled()
    corridor, corridor_link = _mosaic(res.shape, links, per_core)
    progress(95, "Corredores listos")
    return CorridorResult(cell_size, width, full.alloc, full.dist, per_core, links, corridor, corridor_link, notes)


def _note_isolated(adj: dict, labels: list[int], names: dict, notes: list[str]) -> None:
    """Refuse a run where no pair connects; name the cores whose zone touches no other's (barriers)."""
    linked = {c for pair in adj for c in pair}
    isolated = [lab for lab in labels if lab not in linked]
    if not adj:
        raise InvalidParameter(
            "Ningún par de núcleos tiene una ruta entre sí: las barreras o celdas sin dato los separan por completo."
        )
    if isolated:
        notes.append("Núcleos sin ruta hacia ningún otro (aislados por barreras): "
                     + ", ".join(names.get(c, str(c)) for c in isolated) + ".")


def _cutoffs(adj: dict, width: float, max_link_cwd: float | None) -> dict[int, float]:
    """Per core: the farthest cost its surface must reach (its longest adjacent link plus the corridor width)."""
    cutoff: dict[int, float] = {}
    for (a, b), u in adj.items():
        limit = u if max_link_cwd is None else min(u, max_link_cwd)
        for c in (a, b):
            cutoff[c] = max(cutoff.get(c, 0.0), limit + width)
    return cutoff


def _per_core_surfaces(res, full, cutoff, cell_size, threads, progress, cancelled, executor=None, adj=()):
    """Cost-distance (and predecessor) surface of every core, truncated at its cut-off: on ``threads`` threads,
    or as window tasks of ``executor`` (see ``_surfaces_on``)."""
    per_core: dict[int, np.ndarray] = {}
    pred: dict[int, np.ndarray] = {}
    # Largest cut-off first: the workers then finish together instead of one waiting on the biggest run.
    todo = sorted(cutoff, key=lambda c: -cutoff[c])
    if executor is None:
        results = _surfaces_threaded(res, full, cutoff, cell_size, threads, todo, cancelled)
    else:
        results = _surfaces_on(executor, res, full, cutoff, cell_size, todo, adj)
    try:
        for done, (lab, dist, prd) in enumerate(results, start=1):
            if dist is None or cancelled():
                raise Cancelled()
            per_core[lab], pred[lab] = dist, prd
            progress(5 + int(75 * done / len(todo)), f"Distancia de costo del núcleo {lab} ({done}/{len(todo)})")
    finally:
        # A cancelled run leaves no search running (threads finish theirs, Dask tasks are cancelled).
        getattr(results, "close", lambda: None)()
    return per_core, pred


def _surfaces_threaded(res, full, cutoff, cell_size, threads, todo, cancelled):
    local = threading.local()

    def one(lab: int):
        if cancelled():
            return lab, None, None
        if not hasattr(local, "scratch"):
            local.scratch = {}
        # Start from the core's allocation zone (already solved): saves about one full search in total.
        r = cost_distance_from_zone(res, full.alloc == lab, full.dist, full.pred, cell_size, cutoff=cutoff[lab],
                                    scratch=local.scratch)
        return lab, r.dist, r.pred

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        yield from pool.map(one, todo)


@dataclass(frozen=True)
class CoreTask:
    """One core's search as a task: where to look on the grid and the shared rasters to read it from.

    Windows are ((row0, row1), (col0, col1)) of the whole grid: ``window`` is the first guess, ``limit`` a window
    that provably holds every cell within the cut-off, ``zone`` the bounding box of the core's allocation zone.
    """

    label: int
    window: tuple[tuple[int, int], tuple[int, int]]
    limit: tuple[tuple[int, int], tuple[int, int]]
    zone: tuple[tuple[int, int], tuple[int, int]]
    cutoff: float
    cell_size: float
    rasters: dict  # name → reference with .read(window): resistance, alloc, cwd, pred of the all-cores pass


_worker_scratch = threading.local()  # heap buffers kept between the tasks of one worker thread


def core_surface(task: CoreTask):
    """Runs on a worker: the core's truncated CWD and predecessors, cropped to their finite part; returns
    (label, ((row0, row1), (col0, col1)), dist, pred, windows tried) in whole-grid coordinates.

    The search on a window is the whole-grid search, operation for operation, unless it settles a cell on the
    window's inner ring (where a step could leave it): only then can the whole grid differ, and the window is
    doubled on the touched sides and the search repeated (never beyond ``limit``, where nothing can touch).
    """
    win, tries = task.window, 1
    while True:
        dist, pred = _window_search(task, win)
        grown = _grow(win, _touched(dist, win, task.limit), task.limit)
        if grown == win:
            break
        win, tries = grown, tries + 1
    r0, r1, c0, c1 = _finite_box(dist)
    box = ((win[0][0] + r0, win[0][0] + r1), (win[1][0] + c0, win[1][0] + c1))
    return task.label, box, dist[r0:r1, c0:c1].copy(), pred[r0:r1, c0:c1].copy(), tries


def _window_search(task: CoreTask, win):
    """``cost_distance_from_zone`` on one window; the all-cores rasters are read only over the core's zone."""
    (a0, a1), (b0, b1) = win
    res = np.ascontiguousarray(task.rasters["resistance"].read(win), dtype=np.float64)
    zone = np.zeros(res.shape, bool)
    cwd0 = np.zeros(res.shape)
    pred0 = np.full(res.shape, -1, np.int8)
    (z0, z1), (y0, y1) = task.zone
    zr, zc = (max(a0, z0), min(a1, z1)), (max(b0, y0), min(b1, y1))
    if zr[0] < zr[1] and zc[0] < zc[1]:
        # Outside its zone a core's cells are never read by the zone-start search: no need to fetch them.
        sub = (slice(zr[0] - a0, zr[1] - a0), slice(zc[0] - b0, zc[1] - b0))
        zone[sub] = task.rasters["alloc"].read((zr, zc)) == task.label
        cwd0[sub] = task.rasters["cwd"].read((zr, zc))
        pred0[sub] = task.rasters["pred"].read((zr, zc))
    if not hasattr(_worker_scratch, "buf"):
        _worker_scratch.buf = {}
    r = cost_distance_from_zone(res, zone, cwd0, pred0, task.cell_size, cutoff=task.cutoff,
                                scratch=_sized(_worker_scratch.buf, res.size))
    return r.dist, r.pred


def _sized(buf: dict, n: int) -> dict:
    """Views of n cells on buffers kept at the largest size seen (a fresh 400 MB heap per task costs page faults)."""
    if buf.get("cap", 0) < n:
        buf.update(cap=n, hkey=np.empty(n, np.float64), hitem=np.empty(n, np.int32), pos=np.empty(n, np.int32))
    return {"n": n, "hkey": buf["hkey"][:n], "hitem": buf["hitem"][:n], "pos": buf["pos"][:n]}


def _touched(dist, win, limit) -> tuple[bool, bool, bool, bool]:
    """Which sides (top, bottom, left, right) of ``win`` have a settled cell on them, where ``limit`` goes on."""
    fin = np.isfinite
    return (win[0][0] > limit[0][0] and bool(fin(dist[0]).any()),
            win[0][1] < limit[0][1] and bool(fin(dist[-1]).any()),
            win[1][0] > limit[1][0] and bool(fin(dist[:, 0]).any()),
            win[1][1] < limit[1][1] and bool(fin(dist[:, -1]).any()))


def _grow(win, sides, limit):
    (a0, a1), (b0, b1) = win
    h, w = a1 - a0, b1 - b0
    top, bottom, left, right = sides
    return ((max(limit[0][0], a0 - h) if top else a0, min(limit[0][1], a1 + h) if bottom else a1),
            (max(limit[1][0], b0 - w) if left else b0, min(limit[1][1], b1 + w) if right else b1))


def _surfaces_on(executor, res, full, cutoff, cell_size, todo, adj=()):
    """Per-core surfaces as tasks on ``executor``, each on a window of the grid (see ``core_surface``).

    First guess: the bounding box of the zones of the core and of its neighbours, grown by half. Limit: every step costs at
    least cell × min(R), so a cell within the cut-off lies at most k = cut-off / (cell × min R) steps from the
    core; the core's box grown by k + 2 cells can never be touched. The test checks the bits against threads.
    """
    rasters = {name: executor.share(arr, name) for name, arr in
               (("resistance", res), ("alloc", full.alloc), ("cwd", full.dist), ("pred", full.pred))}
    rmin = float(res[np.isfinite(res)].min())
    cores, zones = _core_boxes(full), _zone_boxes(full.alloc, list(cutoff))
    near = {lab: {lab} for lab in cutoff}
    for a, b in adj:
        near.setdefault(a, {a}).add(b)
        near.setdefault(b, {b}).add(a)
    rows, cols = res.shape
    tasks = []
    for lab in todo:
        reach = cutoff[lab] / (cell_size * rmin) * (1 + 1e-9)
        h = rows + cols if not math.isfinite(reach) else int(math.ceil(reach)) + 2
        r0, r1, c0, c1 = cores[lab]
        limit = ((max(0, r0 - h), min(rows, r1 + h)), (max(0, c0 - h), min(cols, c1 + h)))
        guess = [zones[c] for c in near[lab] if c in zones] + [((r0, r1), (c0, c1))]
        g0, g1 = min(g[0][0] for g in guess), max(g[0][1] for g in guess)
        h0, h1 = min(g[1][0] for g in guess), max(g[1][1] for g in guess)
        # Half the size again on every side: on the benchmark grids a surface overshoots its neighbours' zones by
        # up to ~0.5 of their box, and a window that proves too small costs a second search.
        dr, dc = (g1 - g0) // 2 + 2, (h1 - h0) // 2 + 2
        win = ((max(limit[0][0], g0 - dr), min(limit[0][1], g1 + dr)),
               (max(limit[1][0], h0 - dc), min(limit[1][1], h1 + dc)))
        tasks.append(CoreTask(lab, win, limit, zones[lab], float(cutoff[lab]), float(cell_size), rasters))
    results = executor.map(core_surface, tasks)
    try:
        for lab, ((a0, a1), (b0, b1)), d, p, _tries in results:
            dist = np.full(res.shape, np.inf)
            prd = np.full(res.shape, -1, np.int8)
            dist[a0:a1, b0:b1], prd[a0:a1, b0:b1] = d, p
            yield lab, dist, prd
    finally:
        getattr(results, "close", lambda: None)()


def _core_boxes(full) -> dict[int, tuple[int, int, int, int]]:
    """Bounding box (row0, row1, col0, col1) of each core's source cells (CWD 0 in the all-cores pass)."""
    flat = np.flatnonzero((full.dist.ravel() == 0) & (full.alloc.ravel() > 0))
    labs = full.alloc.ravel()[flat]
    r, c = np.divmod(flat, full.dist.shape[1])
    out = {}
    for lab in np.unique(labs):
        m = labs == lab
        out[int(lab)] = (int(r[m].min()), int(r[m].max()) + 1, int(c[m].min()), int(c[m].max()) + 1)
    return out


def _zone_boxes(alloc: np.ndarray, labels: list[int]) -> dict[int, tuple[tuple[int, int], tuple[int, int]]]:
    """Bounding box ((row0, row1), (col0, col1)) of each label's allocation zone, in one pass over the grid."""
    ordered = np.array(sorted(labels), dtype=np.int64)
    idx = np.searchsorted(ordered, alloc)  # label k → its rank; 0 and unknown labels land on a spare row
    idx[(idx >= len(ordered)) | (ordered[np.minimum(idx, len(ordered) - 1)] != alloc)] = len(ordered)
    rows_hit = np.zeros((len(ordered) + 1, alloc.shape[0]), bool)
    cols_hit = np.zeros((len(ordered) + 1, alloc.shape[1]), bool)
    rows_hit[idx, np.arange(alloc.shape[0])[:, None]] = True
    cols_hit[idx, np.arange(alloc.shape[1])[None, :]] = True
    out = {}
    for k, lab in enumerate(ordered):
        rr, cc = np.flatnonzero(rows_hit[k]), np.flatnonzero(cols_hit[k])
        if len(rr):
            out[int(lab)] = ((int(rr[0]), int(rr[-1]) + 1), (int(cc[0]), int(cc[-1]) + 1))
    return out


def _core_cells(cores: np.ndarray, labels: list[int]):
    """(row, col) of every cell of each core, and of the cells on each core's edge."""
    flat = np.flatnonzero(cores)
    flat_lab = cores.ravel()[flat]
    order = np.argsort(flat_lab, kind="stable")
    flat, flat_lab = flat[order], flat_lab[order]
    bounds = np.searchsorted(flat_lab, labels + [labels[-1] + 1])
    core_cells = {lab: np.column_stack(np.unravel_index(flat[bounds[i]:bounds[i + 1]], cores.shape))
                  for i, lab in enumerate(labels)}
    edge_cells = {}
    for lab, cc in core_cells.items():
        r0, c0 = cc.min(axis=0)
        r1, c1 = cc.max(axis=0) + 1
        # Pad by one False cell: the window's border must count as "outside" the core.
        edge_cells[lab] = _edge_cells(np.pad(cores[r0:r1, c0:c1] == lab, 1)) + (r0 - 1, c0 - 1)
    return core_cells, edge_cells


def _link(a, b, cwd_a, pred_a, cells_b, edge_cells, cores, cell_size, max_link_cwd) -> Link:
    """The link a–b: least-cost distance, Euclidean edge-to-edge distance, least-cost path and its status."""
    rb, cb = cells_b[:, 0], cells_b[:, 1]
    vals = cwd_a[rb, cb]
    i = int(np.argmin(vals))
    lcd = float(vals[i])
    euclid = float(cKDTree(edge_cells[a][:, ::-1] * cell_size).query(edge_cells[b][:, ::-1] * cell_size, k=1)[0].min())
    if not np.isfinite(lcd):
        # Beyond the cut-off, which is only lower than the boundary bound when max_link_cwd is set.
        return Link(a, b, "too_long" if max_link_cwd is not None else "no_path", euclid=euclid)
    path = trace_path(pred_a, (rb[i], cb[i]))
    plen = path_length(path, cell_size)
    on_path = cores[path[:, 0], path[:, 1]]
    others = [int(v) for v in np.unique(on_path) if v not in (0, a, b)]
    if max_link_cwd is not None and lcd > max_link_cwd:
        status = "too_long"
    elif others:
        status = "through_core"
    elif len(path) <= 2 and euclid <= cell_size * SQRT2 + 1e-9:
        status = "touching"
    else:
        status = "ok"
    return Link(a, b, status, lcd, euclid, plen, others[0] if others else None, path)


def _finite_box(d: np.ndarray) -> tuple[int, int, int, int]:
    fin = np.isfinite(d)
    rows_any, cols_any = np.flatnonzero(fin.any(axis=1)), np.flatnonzero(fin.any(axis=0))
    return rows_any[0], rows_any[-1] + 1, cols_any[0], cols_any[-1] + 1


def _mosaic(shape, links: list[Link], per_core: dict[int, np.ndarray]):
    """Minimum normalised corridor (NLCC) over all "ok" links, and which link gives each cell its value."""
    # Bounding box of each core's finite (within cut-off) CWD: a pair's NLCC lives in the intersection.
    boxes = {lab: _finite_box(d) for lab, d in per_core.items()}
    corridor = np.full(shape, np.inf)
    corridor_link = np.zeros(shape, np.int32)
    for idx, lk in enumerate(links, start=1):
        if lk.status != "ok":
            continue
        ba, bb = boxes[lk.a], boxes[lk.b]
        win = (slice(max(ba[0], bb[0]), min(ba[1], bb[1])), slice(max(ba[2], bb[2]), min(ba[3], bb[3])))
        nlcc = per_core[lk.a][win] + per_core[lk.b][win]
        nlcc -= lk.lcd
        # Only rounding can make it negative (≈ -1e-12 on the LCP): clamp so the mosaic reads 0 there.
        np.maximum(nlcc, 0.0, out=nlcc)
        cur = corridor[win]
        better = nlcc < cur
        cur[better] = nlcc[better]
        corridor_link[win][better] = idx
    return corridor, corridor_link
