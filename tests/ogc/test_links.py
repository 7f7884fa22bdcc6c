"""Landing page ↔ API docs, and every layer's service URLs ('Añadir a QGIS') answer."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_api_docs_link_the_ogc_landing_and_back(client, territory):
    docs = client.get("/api/v1/docs/").content.decode()
    assert 'href="/ogc/?f=html"' in docs
    landing = client.get("/ogc/").json()
    assert any(l["rel"] == "service-doc" and l["href"].endswith("/api/v1/docs/") for l in landing["links"])


def test_each_layer_lists_service_urls_that_work(client, point_layer):
    layer = next(l for l in client.get("/api/v1/layers/").json()["layers"] if l["slug"] == "puntos-prueba")
    services = layer["services"]
    assert set(services) == {"xyz", "ogc_features", "ogc_collection", "ogc_tiles", "ogc_record", "iso19139"}
    for name, url in services.items():
        if name == "xyz":
            url = url.format(z=10, x=293, y=496)
        r = client.get(url)
        assert r.status_code == 200, (name, url, r.status_code)
    assert client.get(services["iso19139"])["Content-Type"].startswith("application/xml")


def test_explorer_page_carries_the_qgis_box_strings(client, territory):
    html = client.get("/capas/").content.decode()
    assert '"addToQgis": "A\\u00f1adir a QGIS' in html and "OGC API" in html  # json_script escapes non-ASCII
