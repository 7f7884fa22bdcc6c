"""Core-network metrics against hand-computed IIC/PC and networkx's own current-flow definition."""
import math

import pytest

from geosig.errors import InvalidParameter
from layers.corridors.network import core_graph, current_flow_centrality, iic, metrics, pc

AREAS = {1: 1.0, 2: 2.0, 3: 3.0}
LINKS = [(1, 2, 10.0), (2, 3, 20.0)]


def test_iic_hand_computed():
    g = core_graph(AREAS, LINKS)
    # Dispersal 15: only 1–2 is a link. Σ a_i² = 14 plus 2·(1·2)/(1+1) = 2  →  16 / 10².
    assert iic(g, dispersal=15, landscape_area=10) == pytest.approx(0.16)
    # Dispersal 25: path 1–2–3; 1–3 is two links away: 14 + 2·2/2 + 2·6/2 + 2·3/3 = 24.
    assert iic(g, dispersal=25, landscape_area=10) == pytest.approx(0.24)


def test_pc_hand_computed():
    g = core_graph(AREAS, LINKS)
    # p = 0.5 at 15 cost units: p*_12 = 2^(-10/15), p*_23 = 2^(-20/15), p*_13 = 2^(-30/15) = 0.25 (via 2).
    expected = (14 + 2 * 2 * 2 ** (-10 / 15) + 2 * 6 * 2 ** (-20 / 15) + 2 * 3 * 0.25) / 100
    assert pc(g, dispersal=15, landscape_area=10) == pytest.approx(expected)


def test_current_flow_centrality_on_a_path():
    g = core_graph({1: 1, 2: 1, 3: 1, 4: 1}, [(1, 2, 5), (2, 3, 5), (3, 4, 5)])
    c = current_flow_centrality(g)
    # On a tree current flow = shortest-path betweenness: inner nodes of P4 carry 2 of 3 pairs.
    assert c[2] == pytest.approx(2 / 3) and c[3] == pytest.approx(2 / 3)
    assert c[1] == pytest.approx(0.0) and c[4] == pytest.approx(0.0)


def test_metrics_report_and_importance():
    rep = metrics(AREAS, LINKS, dispersal=25, landscape_area=10)
    by = {r["core"]: r for r in rep["cores"]}
    # Removing core 2 leaves 1 and 3 apart: IIC = (1 + 9)/100 → dIIC_2 = 100·(0.24 − 0.10)/0.24.
    assert by[2]["dIIC"] == pytest.approx(100 * (0.24 - 0.10) / 0.24)
    assert rep["IIC"] == pytest.approx(0.24)
    with pytest.raises(InvalidParameter, match="dispersión"):
        iic(core_graph(AREAS, LINKS), dispersal=0, landscape_area=1)
    assert math.isfinite(rep["PC"])
