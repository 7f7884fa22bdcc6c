"""Exact weighted betweenness (Brandes 2001) compiled with numba, for city graphs too big for networkx's
pure-Python loop. Same arithmetic as ``networkx.betweenness_centrality(weight=..., normalized=True)``:
path lengths are summed edge by edge from the source and ties are exact float equalities, so the results
agree with networkx (tested) — including the many ties of travel times rounded to 0.1 h."""
from __future__ import annotations

import numpy as np
from numba import njit
from scipy.sparse import csr_matrix


@njit(cache=True)
def _push(hd, hn, size, d, v):
    i = size
    hd[i] = d
    hn[i] = v
    while i > 0:
        p = (i - 1) // 2
        if hd[p] <= hd[i]:
            break
        hd[p], hd[i] = hd[i], hd[p]
        hn[p], hn[i] = hn[i], hn[p]
        i = p
    return size + 1


@njit(cache=True)
def _pop(hd, hn, size):
    d, v = hd[0], hn[0]
    size -= 1
    hd[0], hn[0] = hd[size], hn[size]
    i = 0
    while True:
        left, right, small = 2 * i + 1, 2 * i + 2, i
        if left < size and hd[left] < hd[small]:
            small = left
        if right < size and hd[right] < hd[small]:
            small = right
        if small == i:
            break
        hd[small], hd[i] = hd[i], hd[small]
        hn[small], hn[i] = hn[i], hn[small]
        i = small
    return d, v, size


@njit(cache=True)
def _brandes(indptr, indices, weights, n):
    bc = np.zeros(n)
    dist = np.empty(n)
    sigma = np.empty(n)
    delta = np.empty(n)
    done = np.empty(n, np.bool_)
    stack = np.empty(n, np.int64)
    m = indices.size + n + 1
    hd = np.empty(m)
    hn = np.empty(m, np.int64)
    for s in range(n):
        dist[:] = np.inf
        sigma[:] = 0.0
        delta[:] = 0.0
        done[:] = False
        dist[s] = 0.0
        sigma[s] = 1.0
        size = _push(hd, hn, 0, 0.0, s)
        top = 0
        while size > 0:
            d, v, size = _pop(hd, hn, size)
            if done[v] or d > dist[v]:
                continue
            done[v] = True
            stack[top] = v
            top += 1
            for k in range(indptr[v], indptr[v + 1]):
                w = indices[k]
                if done[w]:
                    continue
                vw = d + weights[k]
                if vw < dist[w]:
                    dist[w] = vw
                    sigma[w] = sigma[v]
                    size = _push(hd, hn, size, vw, w)
                elif vw == dist[w]:
                    sigma[w] += sigma[v]
        # accumulation, farthest first; predecessors recomputed: v precedes w iff dist[v] + w(v,w) == dist[w]
        for i in range(top - 1, -1, -1):
            w = stack[i]
            coeff = (1.0 + delta[w]) / sigma[w]
            for k in range(indptr[w], indptr[w + 1]):
                v = indices[k]
                if done[v] and dist[v] + weights[k] == dist[w]:
                    delta[v] += sigma[v] * coeff
            if w != s:
                bc[w] += delta[w]
    return bc


def betweenness(n: int, edges_u, edges_v, edges_w) -> np.ndarray:
    """Normalised betweenness (endpoints excluded) of an undirected weighted graph given as edge arrays."""
    u = np.asarray(edges_u, np.int64)
    v = np.asarray(edges_v, np.int64)
    w = np.asarray(edges_w, float)
    g = csr_matrix((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=(n, n))
    g.sort_indices()
    bc = _brandes(g.indptr.astype(np.int64), g.indices.astype(np.int64), g.data.astype(float), n)
    return bc / ((n - 1) * (n - 2)) if n > 2 else bc
