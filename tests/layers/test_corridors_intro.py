"""The corridors page's introduction says where the analysis runs: recipes on EPSG:9377, an uploaded resistance
raster on its own grid and CRS (since the native-grid change; test_raster_native checks the behaviour). It used to
say «Cálculo en EPSG:9377» for everything."""
import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def _intro(client) -> str:
    html = client.get("/corredores/").content.decode()
    start = html.index("<h1>")
    return html[start:html.index("</section>", start)]


def test_spanish_intro_says_a_raster_keeps_its_own_grid(client):
    intro = _intro(client)
    assert "Cálculo en EPSG:9377." not in intro
    assert "se calcula en EPSG:9377" in intro
    assert "se analiza en su propia grilla y su CRS" in intro


def test_english_intro(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    intro = _intro(client)
    assert "is computed in EPSG:9377" in intro
    assert "analysed on its own grid and CRS" in intro
    assert "Calculated in EPSG:9377" not in intro and "propia grilla" not in intro
