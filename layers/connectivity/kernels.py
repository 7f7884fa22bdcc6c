"""Compiled inner loops of the Omniscape engine (numba, ``cache=True``, ``nogil`` so worker threads overlap)."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def ground_component(valid, gr, gc, eight):
    """Cells joined to the ground cell (gr, gc) through valid cells: Circuitscape solves only that component
    (sources elsewhere in the window inject nothing)."""
    h, w = valid.shape
    alive = np.zeros((h, w), np.bool_)
    if not valid[gr, gc]:
        return alive
    stack = np.empty(h * w, np.int64)
    top = 0
    stack[top] = gr * w + gc
    top += 1
    alive[gr, gc] = True
    while top > 0:
        top -= 1
        k = stack[top]
        r = k // w
        c = k - r * w
        for dr in range(-1, 2):
            for dc in range(-1, 2):
                if dr == 0 and dc == 0:
                    continue
                if not eight and dr != 0 and dc != 0:
                    continue
                rr = r + dr
                cc = c + dc
                if rr < 0 or rr >= h or cc < 0 or cc >= w:
                    continue
                if valid[rr, cc] and not alive[rr, cc]:
                    alive[rr, cc] = True
                    stack[top] = rr * w + cc
                    top += 1
    return alive


@njit(cache=True, nogil=True)
def fill_values(cond, alive, ea, eb, ew, epos, dpos_a, dpos_b, cell_diag, n_data):
    """Values of the grounded Laplacian on its fixed pattern.

    Edge conductance = mean of the two cells' conductances × ``ew`` (1, or 1/√2 on diagonals) — Circuitscape's
    default (``connect_using_avg_resistances = false``). An edge counts only between two live cells; a cell that
    is not live (nodata, or cut off from the ground) keeps an identity row, so the pattern never changes.
    ``epos``/``dpos_a``/``dpos_b``: positions in ``data`` of the edge's off-diagonal entry and of its two cells'
    diagonals (−1 where the cell is the ground, whose row and column are removed)."""
    data = np.zeros(n_data)
    flat_c = cond.ravel()
    flat_alive = alive.ravel()
    for k in range(ea.shape[0]):
        a = ea[k]
        b = eb[k]
        if not (flat_alive[a] and flat_alive[b]):
            continue
        g = 0.5 * (flat_c[a] + flat_c[b]) * ew[k]
        if epos[k] >= 0:
            data[epos[k]] -= g
        if dpos_a[k] >= 0:
            data[dpos_a[k]] += g
        if dpos_b[k] >= 0:
            data[dpos_b[k]] += g
    for cell in range(cell_diag.shape[0]):
        p = cell_diag[cell]
        if p >= 0 and not flat_alive[cell]:
            data[p] = 1.0
    return data


@njit(cache=True, nogil=True)
def node_currents(volt, cond, alive, ea, eb, ew, n_cells):
    """Circuitscape's node current: max(current in, current out) of each cell — equal for a plain node, the
    larger one at a source (out) or at the ground (in). Branch currents below 1e-8 of the largest are dropped,
    as Circuitscape does."""
    flat_c = cond.ravel()
    flat_alive = alive.ravel()
    cur = np.zeros(ea.shape[0])
    big = 0.0
    for k in range(ea.shape[0]):
        a = ea[k]
        b = eb[k]
        if flat_alive[a] and flat_alive[b]:
            i = 0.5 * (flat_c[a] + flat_c[b]) * ew[k] * (volt[a] - volt[b])
            cur[k] = i
            if abs(i) > big:
                big = abs(i)
    inflow = np.zeros(n_cells)
    outflow = np.zeros(n_cells)
    for k in range(ea.shape[0]):
        i = cur[k]
        if i == 0.0 or abs(i) < 1e-8 * big:
            continue
        if i > 0:
            outflow[ea[k]] += i
            inflow[eb[k]] += i
        else:
            outflow[eb[k]] -= i
            inflow[ea[k]] -= i
    return np.maximum(inflow, outflow)
