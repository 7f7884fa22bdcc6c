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
