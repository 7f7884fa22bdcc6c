"""Circuit theory: effective resistance and current density against independent solves.

Node convention (see layers.corridors.circuit): cell centres are nodes, neighbours joined by
step × (R_a + R_b)/2 (step 1 cardinal, √2 diagonal), each core's cells shorted into one node.
"""
import math

import networkx as nx
import numpy as np
import pytest

from geosig.errors import InvalidParameter
from layers.corridors.circuit import pinch_points


def nx_reff(res, source, ground, connectivity):
    """Independent answer: a networkx graph with the core cells contracted, then nx.resistance_distance."""
    rows, cols = res.shape
    g = nx.Graph()
    steps = [(0, 1, 1.0), (1, 0, 1.0)] + ([(1, 1, math.sqrt(2)), (1, -1, math.sqrt(2))] if connectivity == 8 else [])
    name = {}
    for r in range(rows):
        for c in range(cols):
            name[r, c] = "S" if source[r, c] else "G" if ground[r, c] else (r, c)
    for r in range(rows):
        for c in range(cols):
            for dr, dc, step in steps:
                rr, cc = r + dr, c + dc
                if 0 <= rr < rows and 0 <= cc < cols and np.isfinite(res[r, c]) and np.isfinite(res[rr, cc]):
                    a, b = name[r, c], name[rr, cc]
                    if a == b:
                        continue
                    cond = 1.0 / (step * (res[r, c] + res[rr, cc]) / 2)
                    # Parallel resistors between the same two nodes add their conductances.
                    prev = g[a][b]["g"] if g.has_edge(a, b) else 0.0
                    g.add_edge(a, b, g=prev + cond)
    for a, b, d in g.edges(data=True):
        d["r"] = 1.0 / d["g"]
    return nx.resistance_distance(g, "S", "G", weight="r", invert_weight=True)


def strip(w, l):
    res = np.ones((w, l))
    src = np.zeros(res.shape, bool)
    gnd = np.zeros(res.shape, bool)
    src[:, 0] = True
    gnd[:, -1] = True
    return res, src, gnd


def test_uniform_strip_4_connected():
    w, l = 6, 40
    res, src, gnd = strip(w, l)
    out = pinch_points(res, src, gnd, connectivity=4)
    # Exactly (l − 1)/w: l − 1 unit resistors in series per row, w rows in parallel ...
    assert out.resistance == pytest.approx((l - 1) / w, rel=1e-10)
    assert out.resistance == pytest.approx(nx_reff(res, src, gnd, 4), rel=1e-8)
    # ... hence within 1/w (here 2.5 %) of the continuum value l/w.
    assert abs(out.resistance - l / w) <= 1 / w + 1e-12
    # 1 A spread evenly over w rows: each interior cell carries 1/w.
    np.testing.assert_allclose(out.current[:, 1:-1], 1 / w, rtol=1e-9)


def test_uniform_strip_8_connected_matches_independent_solve():
    res, src, gnd = strip(5, 30)
    out = pinch_points(res, src, gnd, connectivity=8, solver="direct")
    ref = nx_reff(res, src, gnd, 8)
    assert out.resistance == pytest.approx(ref, rel=1e-8)
    # Diagonals add parallel paths: lower than the 4-connected (l − 1)/w.
    assert out.resistance < 29 / 5


@pytest.mark.parametrize("solver", ["direct", "amg", "amg-sa"])
def test_chain_is_series_sum(solver):
    rng = np.random.default_rng(4)
    r = rng.uniform(1, 50, 200)
    res = r[None, :]
    src = np.zeros(res.shape, bool)
    gnd = np.zeros(res.shape, bool)
    src[0, 0] = gnd[0, -1] = True
    out = pinch_points(res, src, gnd, connectivity=8, solver=solver, tol=1e-12)
    expected = float(np.sum((r[:-1] + r[1:]) / 2))
    assert out.resistance == pytest.approx(expected, rel=1e-8)
    np.testing.assert_allclose(out.current[0, 1:-1], 1.0, rtol=1e-6)  # same 1 A through every link


def test_amg_agrees_with_direct_and_networkx_with_barriers():
    rng = np.random.default_rng(11)
    res = rng.uniform(1, 20, (25, 30))
    res[rng.random(res.shape) < 0.2] = np.nan
    src = np.zeros(res.shape, bool)
    gnd = np.zeros(res.shape, bool)
    src[10:13, 0:2] = True
    gnd[12:15, 28:30] = True
    res[src | gnd] = 1.0
    d = pinch_points(res, src, gnd, solver="direct")
    a = pinch_points(res, src, gnd, solver="amg", tol=1e-12)
    sa = pinch_points(res, src, gnd, solver="amg-sa", tol=1e-12)
    assert a.solver == "amg" and sa.solver == "amg-sa" and d.solver == "direct"
    assert a.resistance == pytest.approx(d.resistance, rel=1e-7)
    assert sa.resistance == pytest.approx(d.resistance, rel=1e-7)
    assert d.resistance == pytest.approx(nx_reff(res, src, gnd, 8), rel=1e-8)
    np.testing.assert_allclose(a.current, d.current, atol=1e-6)
    assert (d.current[~np.isfinite(res)] == 0).all()  # barriers carry no current


def test_window_and_errors():
    res, src, gnd = strip(6, 20)
    window = np.zeros(res.shape, bool)
    window[2, :] = True  # only one row conducts: a chain of 19 unit resistors
    assert pinch_points(res, src, gnd, window=window, connectivity=4).resistance == pytest.approx(19.0)
    wall = res.copy()
    wall[:, 10] = np.nan
    with pytest.raises(InvalidParameter, match="ninguna ruta"):
        pinch_points(wall, src, gnd)
    with pytest.raises(InvalidParameter, match="Conectividad"):
        pinch_points(res, src, gnd, connectivity=6)
    with pytest.raises(InvalidParameter, match="comparten"):
        pinch_points(res, src, src)


def test_core_cells_carry_the_total_current_as_circuitscape():
    """Circuitscape writes a focal node's total current on each of its cells: here 1 A on every core cell
    (the old convention, ½ Σ|I| of each cell's own resistors, gave 1/w on the core's column of a strip)."""
    w, l = 4, 12
    res, src, gnd = strip(w, l)
    out = pinch_points(res, src, gnd, connectivity=4)
    np.testing.assert_allclose(out.current[src], 1.0, rtol=1e-9)
    np.testing.assert_allclose(out.current[gnd], 1.0, rtol=1e-9)
    np.testing.assert_allclose(out.current[:, 1:-1], 1 / w, rtol=1e-9)  # interior cells unchanged


def test_conductance_averaging_chain_and_error():
    """averaging="conductance" (Circuitscape's default): each resistor is 1 / mean(1/R_a, 1/R_b)."""
    rng = np.random.default_rng(8)
    r = rng.uniform(1, 30, 50)
    res = r[None, :]
    src = np.zeros(res.shape, bool)
    gnd = np.zeros(res.shape, bool)
    src[0, 0] = gnd[0, -1] = True
    out = pinch_points(res, src, gnd, connectivity=4, averaging="conductance")
    assert out.resistance == pytest.approx(float(np.sum(2 / (1 / r[:-1] + 1 / r[1:]))), rel=1e-10)
    with pytest.raises(InvalidParameter, match="resistance, conductance"):
        pinch_points(res, src, gnd, averaging="media")


# ------------------------------------------------------------------ all pairs of one window (CorePairs)

from layers.connectivity import linsolve  # noqa: E402
from layers.corridors import circuitscape as cs  # noqa: E402
from layers.corridors.circuit import CorePairs  # noqa: E402

SCHUR_SOLVERS = ["splu"] + (["pardiso"] if linsolve.available("pardiso") else [])


def four_cores(seed=3):
    """40 × 40, 10 % nodata, four cores; core 4 is split in two pieces, one of them walled in by nodata (it
    conducts nothing but shows the core's voltage and current), and a core-free island."""
    rng = np.random.default_rng(seed)
    res = rng.uniform(1, 20, (40, 40))
    res[rng.random(res.shape) < 0.1] = np.nan
    cores = np.zeros(res.shape, int)
    cores[2:6, 2:7] = 1
    cores[30:36, 3:6] = 2
    cores[5:9, 30:37] = 3
    cores[20:24, 18:22] = 4
    cores[37, 37] = 4  # walled-in piece of core 4
    res[36:39, 36:39] = np.nan
    res[37, 37] = 5.0
    res[12:15, 12:15] = np.nan  # a core-free island (its centre)
    res[13, 13] = 2.0
    res[cores > 0] = np.where(np.isfinite(res[cores > 0]), res[cores > 0], 1.0)
    return res, cores


@pytest.mark.parametrize("solver", SCHUR_SOLVERS)
@pytest.mark.parametrize("connectivity,averaging", [(8, "resistance"), (4, "conductance")])
def test_all_pairs_equal_pinch_points_pair_by_pair(solver, connectivity, averaging):
    """One factorisation for the window, every pair exactly as its own pinch_points run (only that pair's
    two cores shorted, the other cores ordinary cells): R_eff, voltages, currents, solved cells."""
    res, cores = four_cores()
    cp = CorePairs(res, cores, connectivity=connectivity, averaging=averaging, solver=solver)
    got = dict(cp.all_pairs(batch=4))
    assert sorted(got) == [(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)]
    for (a, b), r in got.items():
        ref = pinch_points(res, cores == a, cores == b, connectivity=connectivity, solver="direct",
                           averaging=averaging)
        assert r.resistance == pytest.approx(ref.resistance, rel=1e-9)
        assert r.nodes == ref.nodes
        np.testing.assert_array_equal(np.isnan(r.voltage), np.isnan(ref.voltage))
        np.testing.assert_allclose(r.voltage, ref.voltage, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(r.current, ref.current, rtol=1e-9, atol=1e-12)
    assert np.isnan(got[1, 2].voltage[13, 13]) and got[1, 2].current[13, 13] == 0  # the island carries nothing
    assert got[1, 4].current[37, 37] == pytest.approx(1.0)  # walled-in piece of the source core: its total


@pytest.mark.parametrize("averaging", ["resistance", "conductance"])
def test_all_pairs_equal_circuitscape_focal_regions(averaging):
    """Circuitscape's pairwise mode with focal regions under the same convention (8 neighbours): the same
    resistance table. With an all-zero polygon grid the engine builds and factorises each pair's own graph (its
    two regions shorted, as Circuitscape.jl): the independent answer; without polygons it uses CorePairs."""
    res, cores = four_cores(seed=9)
    cp = CorePairs(res, cores, averaging=averaging, solver=SCHUR_SOLVERS[-1])
    rows, cols = np.nonzero(cores)
    points = np.column_stack([rows, cols, cores[rows, cols]])
    opts = cs.Options(mode="pairwise", connectivity=8, averaging=averaging, solver="direct", write_cur_maps=True,
                      write_volt_maps=True)
    maps_pp, maps_sh = {}, {}
    per_pair = cs.compute(cs.Landscape(habitat=res, points=points, polygons=np.zeros(res.shape, int)), opts,
                          lambda name, grid: maps_pp.__setitem__(name, grid))
    shared = cs.compute(cs.Landscape(habitat=res, points=points), opts,
                        lambda name, grid: maps_sh.__setitem__(name, grid))
    assert (per_pair.factorisations, shared.factorisations) == (6, 1)
    assert sorted(maps_pp) == sorted(maps_sh) and "voltmap_1_2" in maps_pp and "cum_curmap" in maps_pp
    for name in maps_pp:  # Circuitscape's signs (0 V at the pair's first region) and its current maps
        np.testing.assert_allclose(maps_sh[name], maps_pp[name], rtol=1e-9, atol=1e-9)
    ids = list(per_pair.resistances[0, 1:].astype(int))
    for (a, b), r in cp.all_pairs():
        i, j = 1 + ids.index(a), 1 + ids.index(b)
        assert r.resistance == pytest.approx(per_pair.resistances[i, j], rel=1e-9)
        assert shared.resistances[i, j] == pytest.approx(per_pair.resistances[i, j], rel=1e-9)


@pytest.mark.parametrize("solver", SCHUR_SOLVERS)
def test_all_pairs_series_strip_by_hand(solver):
    """A 1-cell-wide strip with three 2-cell cores: R between two cores is the series sum of
    (R_i + R_{i+1})/2 from the first core's inner cell to the second's, the third core (between them or
    not) being ordinary cells; 1 A on every cell between, nothing on the dangling end beyond the ground."""
    rng = np.random.default_rng(21)
    r = rng.uniform(1, 30, 30)
    r[[0, 1, 14, 15, 28, 29]] = [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    res = r[None, :]
    cores = np.zeros(res.shape, int)
    cores[0, 0:2], cores[0, 14:16], cores[0, 28:30] = 1, 2, 3
    cp = CorePairs(res, cores, solver=solver)
    series = lambda i, j: float(np.sum((r[i:j] + r[i + 1:j + 1]) / 2))  # noqa: E731 — cell i to cell j
    got = dict(cp.all_pairs())
    assert got[1, 2].resistance == pytest.approx(series(1, 14), rel=1e-12)
    assert got[1, 3].resistance == pytest.approx(series(1, 28), rel=1e-12)  # core 2 is plain cells here
    assert got[2, 3].resistance == pytest.approx(series(15, 28), rel=1e-12)
    np.testing.assert_allclose(got[1, 2].current[0, :16], 1.0, rtol=1e-12)
    np.testing.assert_allclose(got[1, 2].current[0, 16:], 0.0, atol=1e-12)
    np.testing.assert_allclose(got[1, 2].voltage[0, 16:], 0.0, atol=1e-12)  # beyond the ground: 0 V, no current
    np.testing.assert_allclose(got[1, 3].current[0, :], 1.0, rtol=1e-12)


def test_all_pairs_errors():
    res, cores = four_cores()
    wall = res.copy()
    wall[:, 25] = np.nan  # core 3 cut off from the others
    cp = CorePairs(wall, cores, solver="splu")
    with pytest.raises(InvalidParameter, match="ninguna ruta"):
        cp.pair(1, 3)
    assert cp.pair(1, 2).resistance > 0
    with pytest.raises(InvalidParameter, match="núcleos en la ventana: 1, 2, 3, 4"):
        cp.pair(1, 7)
    with pytest.raises(InvalidParameter, match="no tiene el tamaño"):
        CorePairs(res, cores[:-1])
    walled = np.full((7, 7), np.nan)  # two single-cell cores, each walled in by nodata: nothing to factorise
    walled[1, 1] = walled[5, 5] = 1.0
    lone = np.zeros((7, 7), int)
    lone[1, 1], lone[5, 5] = 1, 2
    with pytest.raises(InvalidParameter, match="ninguna ruta"):
        CorePairs(walled, lone, solver=SCHUR_SOLVERS[-1]).pair(1, 2)


@pytest.mark.skipif(not linsolve.available("pardiso"), reason="PARDISO not installed")
def test_all_pairs_two_mkl_threads_same_answer_and_default_restored():
    """threads=2 is thread-local to CorePairs' PARDISO calls: same answer, and MKL's setting afterwards is the
    one it had before (Omniscape relies on its one-thread default)."""
    from layers.corridors.schur import mkl_threads

    res, cores = four_cores()
    one = CorePairs(res, cores, solver="pardiso", threads=1).pair(2, 3)
    lib = linsolve._LIB["proto"].libmkl
    before = lib.MKL_Get_Max_Threads()
    two = CorePairs(res, cores, solver="pardiso", threads=2).pair(2, 3)
    assert lib.MKL_Get_Max_Threads() == before
    with mkl_threads(2):
        assert lib.MKL_Get_Max_Threads() == 2
    assert lib.MKL_Get_Max_Threads() == before
    assert two.resistance == pytest.approx(one.resistance, rel=1e-12)
    np.testing.assert_allclose(two.current, one.current, rtol=1e-9, atol=1e-12)
