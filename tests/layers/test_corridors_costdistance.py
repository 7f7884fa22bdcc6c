"""Cost distance: hand-computed values, an independent heapq Dijkstra and skimage's MCP_Geometric.

Convention under test: cost of a step between 8-neighbour cell centres = step length × mean of the two
resistances, step = cell size (cardinal) or √2 × cell size (diagonal); source cells cost 0.
"""
import heapq
import math

import numpy as np
import pytest
from skimage.graph import MCP_Geometric

from geosig.errors import InvalidParameter
from layers.corridors.costdistance import cost_distance, path_length, trace_path, validate_resistance

S2 = math.sqrt(2)


def reference_dijkstra(res, sources, cell):
    """Plain textbook Dijkstra with heapq (independent of the numba solver)."""
    rows, cols = res.shape
    dist = np.full(res.shape, np.inf)
    heap = []
    for r, c in sources:
        dist[r, c] = 0.0
        heap.append((0.0, r, c))
    heapq.heapify(heap)
    while heap:
        d, r, c = heapq.heappop(heap)
        if d > dist[r, c]:
            continue
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == dc == 0:
                    continue
                rr, cc = r + dr, c + dc
                if 0 <= rr < rows and 0 <= cc < cols and np.isfinite(res[rr, cc]):
                    step = cell * (S2 if dr and dc else 1.0)
                    nd = d + step * (res[r, c] + res[rr, cc]) / 2
                    if nd < dist[rr, cc]:
                        dist[rr, cc] = nd
                        heapq.heappush(heap, (nd, rr, cc))
    return dist


def one_source(shape, r, c):
    s = np.zeros(shape, np.int32)
    s[r, c] = 1
    return s


def test_hand_computed_3x3():
    res = np.array([[1, 2, 1], [4, 1, 1], [1, 1, 8]], float)
    d = cost_distance(res, one_source(res.shape, 0, 0), cell_size=10).dist
    h = 10 * S2  # one diagonal step of 10 m
    expected = np.array([
        [0.0, 10 * 1.5, h * 1 + h * 1],  # (0,2): via (1,1): 14.142 + 14.142·(1+1)/2 beats 15 + 10·1.5 = 30
        [10 * 2.5, h * 1, h + 10 * 1],  # (1,0) direct 25; (1,2) via (1,1): 14.142 + 10
        [h + h * 1, h + 10 * 1, h + 10 + 10 * 4.5],  # (2,2): 24.142 + 10·(1+8)/2 = 69.142
    ])
    np.testing.assert_allclose(d, expected, rtol=0, atol=1e-9)
    assert d[2, 2] == pytest.approx(69.14213562, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_reference_dijkstra_and_skimage(seed):
    rng = np.random.default_rng(seed)
    res = rng.uniform(0.5, 20, (37, 53))
    res[rng.random(res.shape) < 0.15] = np.nan  # scattered nodata barriers
    srcs = [(3, 4), (30, 40), (18, 25)]
    for r, c in srcs:
        res[r, c] = 1.0
    sources = np.zeros(res.shape, np.int32)
    for i, (r, c) in enumerate(srcs, start=1):
        sources[r, c] = i
    out = cost_distance(res, sources, cell_size=30.0, allocation=True)
    ref = reference_dijkstra(res, srcs, 30.0)
    assert np.array_equal(np.isfinite(out.dist), np.isfinite(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(out.dist[fin], ref[fin], rtol=1e-12, atol=1e-9)

    sk = res.copy()
    sk[np.isnan(sk)] = np.inf
    costs, _ = MCP_Geometric(sk, fully_connected=True, sampling=(30.0, 30.0)).find_costs(srcs)
    np.testing.assert_allclose(out.dist[fin], costs[fin], rtol=1e-9)

    # Allocation = the source whose own single-source CWD is smallest.
    singles = np.stack([reference_dijkstra(res, [s], 30.0) for s in srcs])
    with np.errstate(invalid="ignore"):  # inf - inf on cells no source reaches
        ok = fin & (np.sort(singles, axis=0)[1] - singles.min(axis=0) > 1e-6)  # no ties
    assert np.array_equal(out.alloc[ok], singles.argmin(axis=0)[ok] + 1)


def test_nodata_is_barrier():
    res = np.ones((5, 7))
    res[:, 3] = -9999  # a full-height wall of nodata
    d = cost_distance(validate_resistance(res, nodata=-9999), one_source(res.shape, 2, 0), validated=True).dist
    assert np.isinf(d[:, 3:]).all()
    res[4, 3] = 1.0  # one gap at the bottom: the far side is reached only through it
    d = cost_distance(validate_resistance(res, nodata=-9999), one_source(res.shape, 2, 0), validated=True).dist
    ref = reference_dijkstra(np.where(res == -9999, np.nan, res), [(2, 0)], 1.0)
    np.testing.assert_allclose(d, ref)
    # (2,0) → (4,2) needs 2 diagonals, then (4,3), then (3,4): 2√2 + 1 + √2
    assert d[3, 4] == pytest.approx(3 * S2 + 1)


def test_cutoff_keeps_exact_values_below_it():
    rng = np.random.default_rng(5)
    res = rng.uniform(1, 10, (40, 40))
    src = one_source(res.shape, 20, 20)
    full = cost_distance(res, src, 2.0).dist
    cut = cost_distance(res, src, 2.0, cutoff=60.0).dist
    inside = full <= 60.0
    assert 0 < inside.sum() < inside.size
    np.testing.assert_array_equal(cut[inside], full[inside])
    assert np.isinf(cut[~inside]).all()


def test_traceback_path_cost_equals_cwd():
    rng = np.random.default_rng(9)
    res = rng.uniform(1, 10, (25, 30))
    out = cost_distance(res, one_source(res.shape, 2, 3), 5.0, predecessors=True)
    path = trace_path(out.pred, (22, 27))
    assert tuple(path[0]) == (22, 27) and tuple(path[-1]) == (2, 3)
    cost = 0.0
    for (r0, c0), (r1, c1) in zip(path[:-1], path[1:]):
        step = 5.0 * (S2 if r0 != r1 and c0 != c1 else 1.0)
        cost += step * (res[r0, c0] + res[r1, c1]) / 2
    assert cost == pytest.approx(out.dist[22, 27], rel=1e-12)
    assert path_length(np.array([[0, 0], [1, 1], [1, 2]]), 10.0) == pytest.approx(10 * S2 + 10)


def test_bad_resistance_and_sources_rejected():
    res = np.ones((4, 4))
    res[1, 2] = 0.0
    with pytest.raises(InvalidParameter, match="≤ 0"):
        validate_resistance(res)
    res[1, 2] = -3
    with pytest.raises(InvalidParameter, match="fila 1, columna 2"):
        cost_distance(res, one_source(res.shape, 0, 0))
    with pytest.raises(InvalidParameter, match="origen"):
        cost_distance(np.ones((4, 4)), np.zeros((4, 4), np.int32))
    blocked = np.ones((4, 4))
    blocked[0, 0] = np.nan
    with pytest.raises(InvalidParameter, match="barreras"):
        cost_distance(blocked, one_source((4, 4), 0, 0))


@pytest.mark.parametrize("cutoff", [math.inf, 900.0])
def test_zone_start_equals_single_core_search(cutoff):
    from layers.corridors.costdistance import cost_distance_from_zone

    rng = np.random.default_rng(21)
    res = rng.uniform(1, 20, (45, 60))
    res[rng.random(res.shape) < 0.1] = np.nan
    cores = np.zeros(res.shape, np.int32)
    for lab, (r, c) in enumerate([(5, 5), (40, 50), (20, 30), (8, 55)], start=1):
        cores[r - 1:r + 2, c - 1:c + 2] = lab
        res[r - 1:r + 2, c - 1:c + 2] = 1.0
    v = validate_resistance(res)
    full = cost_distance(v, cores, 10.0, allocation=True, predecessors=True, validated=True)
    for lab in (1, 2, 3, 4):
        alone = cost_distance(v, (cores == lab).astype(np.int32), 10.0, cutoff=cutoff, validated=True)
        zoned = cost_distance_from_zone(v, full.alloc == lab, full.dist, full.pred, 10.0, cutoff=cutoff)
        np.testing.assert_allclose(zoned.dist, alone.dist, rtol=1e-12)
        # Its predecessors lead back to the core along a path whose cost is the CWD.
        far = np.unravel_index(np.nanargmax(np.where(np.isfinite(zoned.dist), zoned.dist, -1)), res.shape)
        path = trace_path(zoned.pred, far)
        assert cores[tuple(path[-1])] == lab
        cost = sum(10.0 * (S2 if r0 != r1 and c0 != c1 else 1.0) * (v[r0, c0] + v[r1, c1]) / 2
                   for (r0, c0), (r1, c1) in zip(path[:-1], path[1:]))
        assert cost == pytest.approx(zoned.dist[far], rel=1e-12)
