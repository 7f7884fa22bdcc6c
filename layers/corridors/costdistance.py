"""Cost-weighted distance (CWD), cost allocation and least-cost-path traceback on a resistance grid.

Conventions (the same everywhere in ``layers.corridors``):

* Graph: cell centres joined to their 8 neighbours.
* Cost of a step between neighbouring centres a and b = step length × (R_a + R_b) / 2, where the step length
  is the cell size for the 4 cardinal moves and √2 × cell size for the 4 diagonal moves. Costs are therefore
  in "resistance × metre" units when the cell size is in metres. This is the convention of
  ``skimage.graph.MCP_Geometric`` and GRASS ``r.cost`` (without knight's moves).
* A source (core) cell has CWD 0; the cost of a core's own cells is not counted.
* Barriers: nodata / NaN / +inf cells are never entered (and never crossed diagonally-through either: a
  diagonal step only needs its two end cells to be passable, as in the libraries above).
* Resistance ≤ 0 is an input error (``validate_resistance`` rejects it before any computation).

The solver is a compiled Dijkstra (numba, ``nogil``) with an indexed 4-ary heap (decrease-key, so each cell
is in the heap at most once: memory stays at ~4 bytes/cell for the heap and ~4 for positions) and an
optional cost cut-off: cells whose CWD exceeds ``cutoff`` are left at +inf and not expanded — the corridor
method only needs CWD up to LCD + width, so it never pays for the rest of the raster.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from geosig.errors import InvalidParameter

SQRT2 = math.sqrt(2.0)
# Neighbour offsets (drow, dcol) and their step lengths in cells; index k is what ``pred`` stores.
DR = np.array([-1, 1, 0, 0, -1, -1, 1, 1], np.int64)
DC = np.array([0, 0, -1, 1, -1, 1, -1, 1], np.int64)
STEP = np.array([1.0, 1.0, 1.0, 1.0, SQRT2, SQRT2, SQRT2, SQRT2])
NO_PRED = -1


@dataclass
class CostResult:
    """CWD per cell (+inf where unreachable or beyond the cut-off), nearest-source label, predecessor move."""

    dist: np.ndarray  # float64
    alloc: np.ndarray | None  # int32, 0 = not reached
    pred: np.ndarray | None  # int8, index into DR/DC of the step that reached the cell; -1 = source/unreached
    cutoff: float


def validate_resistance(resistance: np.ndarray, nodata: float | None = None, name: str = "resistencia") -> np.ndarray:
    """Return a float64 C-contiguous copy with barriers (nodata, NaN, inf) as +inf; reject values ≤ 0."""
    arr = np.array(resistance, dtype=np.float64, order="C", copy=True)
    if arr.ndim != 2:
        raise InvalidParameter(f"La {name} debe ser una grilla 2-D (llegó forma {arr.shape}).")
    barrier = ~np.isfinite(arr)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        barrier |= arr == nodata
    bad = (~barrier) & (arr <= 0)
    if bad.any():
        n = int(bad.sum())
        rows, cols = np.nonzero(bad)
        raise InvalidParameter(
            f"La {name} tiene {n} celda(s) con valor ≤ 0 (p. ej. fila {rows[0]}, columna {cols[0]}: "
            f"{arr[rows[0], cols[0]]:g}). La resistencia debe ser > 0; use «sin dato» para barreras absolutas.",
            cells=n,
        )
    arr[barrier] = np.inf
    if not np.isfinite(arr).any():
        raise InvalidParameter(f"La {name} no tiene ninguna celda transitable (todo es barrera o sin dato).")
    return arr


@njit(cache=True, nogil=True, inline="always")
def _sift_up(hkey, hitem, pos, i, k, item):
    # Keys live in the heap itself (not looked up through dist[]): far fewer cache misses on big grids.
    while i > 0:
        parent = (i - 1) >> 2
        pk = hkey[parent]
        if pk <= k:
            break
        p = hitem[parent]
        hkey[i] = pk
        hitem[i] = p
        pos[p] = i
        i = parent
    hkey[i] = k
    hitem[i] = item
    pos[item] = i


@njit(cache=True, nogil=True, inline="always")
def _sift_down(hkey, hitem, pos, i, size, k, item):
    while True:
        first = 4 * i + 1
        if first >= size:
            break
        best = first
        bk = hkey[first]
        last = first + 4
        if last > size:
            last = size
        for c in range(first + 1, last):
            ck = hkey[c]
            if ck < bk:
                best = c
                bk = ck
        if bk >= k:
            break
        h = hitem[best]
        hkey[i] = bk
        hitem[i] = h
        pos[h] = i
        i = best
    hkey[i] = k
    hitem[i] = item
    pos[item] = i


@njit(cache=True, nogil=True)
def _search(res, rows, cols, cell, cutoff, dist, alloc, pred, want_alloc, want_pred, hkey, hitem, pos, size):
    """Dijkstra main loop from whatever the heap holds; returns how many cells were left beyond the cut-off."""
    half = 0.5 * cell
    dr = np.array([-1, 1, 0, 0, -1, -1, 1, 1])
    dc = np.array([0, 0, -1, 1, -1, 1, -1, 1])
    w = np.array([1.0, 1.0, 1.0, 1.0, 1.4142135623730951, 1.4142135623730951, 1.4142135623730951, 1.4142135623730951])
    while size > 0:
        u = hitem[0]
        du = hkey[0]
        if du > cutoff:
            break
        size -= 1
        pos[u] = -2
        if size > 0:
            _sift_down(hkey, hitem, pos, 0, size, hkey[size], hitem[size])
        ru = res[u]
        ur = u // cols
        uc = u - ur * cols
        for k in range(8):
            vr = ur + dr[k]
            vc = uc + dc[k]
            if vr < 0 or vr >= rows or vc < 0 or vc >= cols:
                continue
            v = vr * cols + vc
            pv = pos[v]
            if pv == -2:
                continue
            rv = res[v]
            if rv == np.inf:
                continue
            nd = du + half * w[k] * (ru + rv)
            if nd < dist[v] and nd <= cutoff:
                dist[v] = nd
                if want_alloc:
                    alloc[v] = alloc[u]
                if want_pred:
                    pred[v] = k
                if pv == -1:
                    size += 1
                    _sift_up(hkey, hitem, pos, size - 1, nd, v)
                else:
                    _sift_up(hkey, hitem, pos, pv, nd, v)
    # Cells still waiting in the heap were only reached beyond the cut-off: not part of the result.
    for i in range(size):
        v = hitem[i]
        dist[v] = np.inf
        if want_alloc:
            alloc[v] = 0
        if want_pred:
            pred[v] = -1
    return size


@njit(cache=True, nogil=True)
def _dijkstra(res, rows, cols, src, cell, cutoff, dist, alloc, pred, want_alloc, want_pred, hkey, hitem, pos):
    """Multi-source Dijkstra over the flattened grid. ``src`` holds a label > 0 on source cells.

    Indexed 4-ary min-heap with decrease-key; ``pos``: -1 = never seen, -2 = settled, >= 0 = heap slot.
    ``hkey``/``hitem``/``pos`` are scratch buffers of n cells (reused across runs by the caller: fresh
    400 MB allocations per run cost more in page faults than the search on a 16 M-cell grid).
    """
    n = rows * cols
    size = 0
    for i in range(n):
        pos[i] = -1
        dist[i] = np.inf
    if want_pred:
        for i in range(n):
            pred[i] = -1
    if want_alloc:
        for i in range(n):
            alloc[i] = 0
    for i in range(n):
        if src[i] > 0 and res[i] < np.inf:
            dist[i] = 0.0
            if want_alloc:
                alloc[i] = src[i]
            hkey[size] = 0.0
            hitem[size] = i
            pos[i] = size
            size += 1
    # All keys are 0: the array is already a heap.
    return _search(res, rows, cols, cell, cutoff, dist, alloc, pred, want_alloc, want_pred, hkey, hitem, pos, size)


@njit(cache=True, nogil=True)
def _dijkstra_zone(res, rows, cols, zone, cwd0, pred0, cell, cutoff, dist, pred, hkey, hitem, pos):
    """Single-core CWD that starts from the core's own allocation zone, already solved by the all-cores pass.

    Inside its zone a core is the nearest one, so the multi-source CWD and predecessors there ARE this
    core's: those cells are settled as they are, and only the zone's edge cells (those with a passable
    neighbour outside the zone) are pushed, with their CWD as key. Any path leaving the zone leaves it for
    the last time through such an edge cell, so the search outside is exact and skips the whole zone.
    """
    n = rows * cols
    size = 0
    dummy = np.zeros(1, np.int32)
    dr = np.array([-1, 1, 0, 0, -1, -1, 1, 1])
    dc = np.array([0, 0, -1, 1, -1, 1, -1, 1])
    for i in range(n):
        pos[i] = -1
        dist[i] = np.inf
        pred[i] = -1
    for i in range(n):
        if not zone[i]:
            continue
        if cwd0[i] > cutoff:
            pos[i] = -2  # beyond the cut-off: stays +inf
            continue
        dist[i] = cwd0[i]
        pred[i] = pred0[i]
        ur = i // cols
        uc = i - ur * cols
        edge = False
        for k in range(8):
            vr = ur + dr[k]
            vc = uc + dc[k]
            if vr < 0 or vr >= rows or vc < 0 or vc >= cols:
                continue
            v = vr * cols + vc
            if not zone[v] and res[v] < np.inf:
                edge = True
                break
        if edge:
            size += 1
            _sift_up(hkey, hitem, pos, size - 1, cwd0[i], i)
        else:
            pos[i] = -2
    return _search(res, rows, cols, cell, cutoff, dist, dummy, pred, False, True, hkey, hitem, pos, size)


def cost_distance_from_zone(
    resistance: np.ndarray, zone: np.ndarray, cwd0: np.ndarray, pred0: np.ndarray, cell_size: float,
    cutoff: float = math.inf, scratch: dict | None = None,
) -> CostResult:
    """CWD (and predecessors) from ONE core, given the all-cores pass: ``zone`` = cells allocated to the core,
    ``cwd0``/``pred0`` = that pass's CWD and predecessors. Same result as ``cost_distance`` from the core alone."""
    rows, cols = resistance.shape
    n = rows * cols
    dist = np.empty(n, np.float64)
    pred = np.empty(n, np.int8)
    buf = scratch if scratch is not None else {}
    if buf.get("n") != n:
        buf.update(n=n, hkey=np.empty(n, np.float64), hitem=np.empty(n, np.int32), pos=np.empty(n, np.int32))
    _dijkstra_zone(resistance.reshape(-1), rows, cols, np.ascontiguousarray(zone).reshape(-1),
                   np.ascontiguousarray(cwd0).reshape(-1), np.ascontiguousarray(pred0).reshape(-1),
                   float(cell_size), float(cutoff), dist, pred, buf["hkey"], buf["hitem"], buf["pos"])
    return CostResult(dist.reshape(rows, cols), None, pred.reshape(rows, cols), float(cutoff))


def cost_distance(
    resistance: np.ndarray,
    sources: np.ndarray,
    cell_size: float = 1.0,
    cutoff: float = math.inf,
    allocation: bool = False,
    predecessors: bool = False,
    validated: bool = False,
    scratch: dict | None = None,
) -> CostResult:
    """CWD from every source cell (``sources`` > 0; its value is the source label used for allocation).

    ``resistance``: 2-D array, barriers as NaN/inf (pass ``validated=True`` if it came from
    ``validate_resistance`` already). ``cutoff``: stop expanding beyond this accumulated cost.
    ``scratch``: a dict reused between calls of one thread to keep the heap buffers allocated.
    """
    res = resistance if validated else validate_resistance(resistance)
    src = np.ascontiguousarray(sources, dtype=np.int32)
    if src.shape != res.shape:
        raise InvalidParameter(f"Las fuentes ({src.shape}) no tienen la forma de la resistencia ({res.shape}).")
    if not (src > 0).any():
        raise InvalidParameter("No hay celdas de origen (núcleos) dentro del ráster.")
    if not np.isfinite(res[src > 0]).any():
        raise InvalidParameter("Todas las celdas de origen caen sobre barreras o celdas sin dato.")
    rows, cols = res.shape
    n = rows * cols
    dist = np.empty(n, np.float64)
    alloc = np.empty(n if allocation else 1, np.int32)
    pred = np.empty(n if predecessors else 1, np.int8)
    buf = scratch if scratch is not None else {}
    if buf.get("n") != n:
        buf.update(n=n, hkey=np.empty(n, np.float64), hitem=np.empty(n, np.int32), pos=np.empty(n, np.int32))
    _dijkstra(res.reshape(-1), rows, cols, src.reshape(-1), float(cell_size), float(cutoff), dist, alloc, pred,
              allocation, predecessors, buf["hkey"], buf["hitem"], buf["pos"])
    return CostResult(
        dist.reshape(rows, cols),
        alloc.reshape(rows, cols) if allocation else None,
        pred.reshape(rows, cols) if predecessors else None,
        float(cutoff),
    )


def trace_path(pred: np.ndarray, start: tuple[int, int], max_steps: int | None = None) -> np.ndarray:
    """Follow predecessor moves from ``start`` back to a source; returns (k, 2) array of (row, col), start first."""
    rows, cols = pred.shape
    r, c = int(start[0]), int(start[1])
    out = [(r, c)]
    limit = max_steps or rows * cols
    for _ in range(limit):
        k = pred[r, c]
        if k < 0:
            break
        r -= DR[k]
        c -= DC[k]
        out.append((r, c))
    else:
        raise RuntimeError("traceback did not reach a source (corrupt predecessor grid)")
    return np.array(out, np.int64)


def path_length(path: np.ndarray, cell_size: float) -> float:
    """Geometric length of a cell-centre path (cardinal steps = cell, diagonal = √2 cell)."""
    if len(path) < 2:
        return 0.0
    d = np.abs(np.diff(path, axis=0))
    diag = (d[:, 0] == 1) & (d[:, 1] == 1)
    return float(cell_size * (np.count_nonzero(~diag) + SQRT2 * np.count_nonzero(diag)))
