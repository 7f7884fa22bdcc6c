import numpy as np
import pytest

from cities.services import scenarios as SC
from geosig.errors import InvalidParameter


def test_fit_growth_recovers_exact_exponential_rates():
    years = np.arange(2012, 2025)
    rates = np.array([0.01, -0.005, 0.02])
    series = np.array([1000.0, 5000.0, 300.0]) * np.exp(np.outer(years - 2012, rates))
    assert SC.fit_growth(years, series) == pytest.approx(rates, abs=1e-12)


def test_project_with_adjustment():
    p = SC.project([1000.0], [0.01], 2024, 2034, [0.5])
    assert p[0] == pytest.approx(1000 * np.exp(0.015 * 10))
    with pytest.raises(InvalidParameter, match="anterior"):
        SC.project([1.0], [0.0], 2024, 2020)


def test_municipality_adjustment_overrides_subregion():
    sub = {"76001": "sur", "76109": "buenaventura", "76520": "sur"}
    adj = SC.adjustment_vector(["76001", "76109", "76520"], sub,
                               [("subregion", "sur", -0.5), ("municipality", "76520", 1.0)])
    assert adj.tolist() == [-0.5, 0.0, 1.0]
    with pytest.raises(InvalidParameter, match="Subregión desconocida"):
        SC.adjustment_vector(["76001"], sub, [("subregion", "marte", 1.0)])
