import networkx as nx
import numpy as np
import pytest

from cities.services import network as N
from geosig.errors import InvalidParameter

T = np.array([[0, 1.0, 2.0, 3.0], [1.0, 0, 1.5, 2.5], [2.0, 1.5, 0, 0.0], [3.0, 2.5, 0.0, 0]])
P = np.array([1000.0, 200.0, 50.0, 10.0])


def test_gravity_hand_value_and_floor():
    g = N.gravity(P, T, beta=2.0, floor=0.1)
    assert g[0, 1] == pytest.approx(1000 * 200 / 1.0 ** 2)
    assert g[0, 2] == pytest.approx(1000 * 50 / 4.0)
    assert g[2, 3] == pytest.approx(50 * 10 / 0.1 ** 2)  # 0.0 h between distinct places is floored
    assert np.all(np.diag(g) == 0)


def test_hansen_against_loop():
    a = N.hansen(P, T, decay=0.7)
    ref = [sum(P[j] * np.exp(-0.7 * T[i, j]) for j in range(4)) for i in range(4)]
    assert a == pytest.approx(ref)


def test_nearest_in_class():
    t, idx = N.nearest_in_class(T, P >= 200)
    assert idx.tolist() == [0, 1, 1, 1]
    assert t.tolist() == [0.0, 0.0, 1.5, 2.5]
    t, idx = N.nearest_in_class(T, np.zeros(4, bool))
    assert np.isinf(t).all() and (idx == -1).all()


def test_closeness_equals_networkx():
    g = N.city_graph(T, neighbours=2)
    c = N.centrality(g)
    ref = nx.closeness_centrality(g, distance="weight")
    assert c["closeness"] == pytest.approx([ref[i] for i in range(4)])
    bet = nx.betweenness_centrality(g, weight="weight", normalized=True)
    assert c["betweenness"] == pytest.approx([bet[i] for i in range(4)])


@pytest.mark.parametrize("m, msg", [
    (np.zeros((3, 4)), "no es cuadrada"),
    (np.array([[0, 1.0], [2.0, 0]]), "asimétrica"),
    (np.array([[0, -1.0], [-1.0, 0]]), "negativos"),
    (np.array([[0, np.nan], [1.0, 0]]), "vacíos"),
    (np.array([[1.0, 1.0], [1.0, 0]]), "diagonal"),
])
def test_bad_matrices(m, msg):
    with pytest.raises(InvalidParameter, match=msg):
        N.check_matrix(m)


def test_small_asymmetry_within_tolerance_is_symmetrised():
    m = N.check_matrix(np.array([[0, 1.0], [1.04, 0]]), tolerance=0.05)
    assert m[0, 1] == m[1, 0] == pytest.approx(1.02)


def test_compiled_betweenness_equals_networkx_with_ties():
    """Above networkx_max_nodes the numba Brandes is used: same values, ties (0.1 h rounding) included."""
    rng = np.random.default_rng(0)
    n = 80
    t = np.round(rng.uniform(0.1, 3, (n, n)), 1)
    t = np.round((t + t.T) / 2, 1)
    np.fill_diagonal(t, 0)
    g = N.city_graph(t, neighbours=3)
    fast = N.centrality(g, networkx_max_nodes=10)
    assert fast["engine"] == "numba"
    ref = nx.betweenness_centrality(g, weight="weight", normalized=True)
    assert fast["betweenness"] == pytest.approx([ref[i] for i in range(n)], abs=1e-12)
