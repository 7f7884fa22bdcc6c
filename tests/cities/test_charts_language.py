"""Chart labels and the numbers inside them follow the reader's language (es-CO decimal comma, English)."""
import re

import pytest
from django.utils import translation

from cities.services import charts
from cities.services.report import balance_report

pytestmark = pytest.mark.django_db


def test_chart_labels_and_numbers_follow_the_language(cities):
    r = balance_report(2018, "cabecera")
    share = 100 * r.theil["between_share"]
    with translation.override("es"):
        rank, lorenz, theil = charts.rank_size_svg(r), charts.lorenz_svg(r), charts.theil_svg(r)
    assert "Rango (escala log)" in rank and "Proporción acumulada de ciudades" in lorenz
    assert f"entre subregiones ({share:.1f}".replace(".", ",") in theil
    assert re.search(r"Gini = 0,\d{3}", lorenz)
    with translation.override("en"):
        rank, lorenz, theil = charts.rank_size_svg(r), charts.lorenz_svg(r), charts.theil_svg(r)
    assert "Rank (log scale)" in rank and "Rango" not in rank and "OLS: b = " in rank
    assert "Cumulative share of cities" in lorenz and re.search(r"Gini = 0\.\d{3}", lorenz)
    assert f"between subregions ({share:.1f}" in theil and "within subregions" in theil
