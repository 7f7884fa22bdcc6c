"""The explorer shows each layer's service URLs ('Añadir a QGIS') as text fields, and the OGC one answers."""
import json
import urllib.request

import pytest

from tests.conftest import external_requests
from tests.ogc.conftest import make_point_layer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_layer_details_show_copyable_service_urls(page, live_server, loaded_territory_tx):
    make_point_layer("puntos-qgis", n=5)
    page.goto(live_server.url + "/capas/")
    page.wait_for_selector("#row-puntos-qgis")
    page.click("#row-puntos-qgis details > summary")
    box = page.locator("#row-puntos-qgis .qgis-box")
    assert "Añadir a QGIS" in box.inner_text()
    values = page.eval_on_selector_all("#row-puntos-qgis .qgis-box input", "es => es.map(e => e.value)")
    assert f"{live_server.url}/ogc/" in values
    collection = next(v for v in values if v.endswith("/ogc/collections/capa-puntos-qgis"))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    body = json.load(opener.open(collection))
    assert body["id"] == "capa-puntos-qgis"
    assert all(page.eval_on_selector_all("#row-puntos-qgis .qgis-box input", "es => es.map(e => e.readOnly)"))
    assert external_requests(page, live_server) == []


def test_ogc_landing_html_needs_nothing_outside_the_site(page, live_server, loaded_territory_tx):
    page.goto(live_server.url + "/ogc/?f=html")
    page.wait_for_selector("h1")
    assert "OAPIF:" in page.inner_text("main") and external_requests(page, live_server) == []
