"""OGC API – Features: core + GeoJSON + Part 2 (CRS by reference), checked against PostGIS and the registry."""
from __future__ import annotations

import json

import pytest
from django.db import connection

from ogc import views
from territorial.models import Municipality

pytestmark = pytest.mark.django_db
ITEMS = "/ogc/collections/municipios/items"


def get(client, url, data=None, **kw):
    r = client.get(url, data or {}, **kw)
    return r, (json.loads(r.content) if r["Content-Type"].split(";")[0].endswith("json") else None)


def test_landing_page_links_api_docs_conformance_and_data(client, territory):
    r, body = get(client, "/ogc/")
    rels = {l["rel"]: l for l in body["links"]}
    assert {"service-desc", "service-doc", "conformance", "data", "self"} <= set(rels)
    assert rels["service-desc"]["type"] == views.OPENAPI and rels["service-doc"]["href"].endswith("/api/v1/docs/")
    api, doc = get(client, "/ogc/api")
    assert api["Content-Type"] == views.OPENAPI and doc["openapi"].startswith("3.0")
    assert "/collections/municipios/items" in doc["paths"]  # where GDAL finds the filterable properties
    names = {p.get("name") for p in doc["paths"]["/collections/municipios/items"]["get"]["parameters"]}
    assert {"divipola", "subregion_code"} <= names


def test_landing_page_html_loads_nothing_from_a_cdn(client, territory):
    r = client.get("/ogc/", {"f": "html"})
    html = r.content.decode()
    assert r.status_code == 200 and "OAPIF:" in html
    assert "unpkg" not in html and "cdn" not in html.lower()
    assert "'self'" in r["Content-Security-Policy"]


def test_collections_list_every_public_vector_layer_and_the_catalogue(client, point_layer):
    r, body = get(client, "/ogc/collections")
    ids = {c["id"] for c in body["collections"]}
    assert {"municipios", "subregiones", "centros-poblados", "cabeceras", "pot-zonas", "capa-puntos-prueba",
            "catalogo"} <= ids
    muni = next(c for c in body["collections"] if c["id"] == "municipios")
    assert muni["itemType"] == "feature" and "http://www.opengis.net/def/crs/EPSG/0/9377" in muni["crs"]
    assert any(l["rel"] == "items" and l["type"] == "application/geo+json" for l in muni["links"])


def test_collections_follow_the_layer_registry_without_restart(client, territory):
    from tests.ogc.conftest import make_point_layer

    assert client.get("/ogc/collections/capa-nueva").status_code == 404
    layer = make_point_layer("nueva", n=3)
    assert client.get("/ogc/collections/capa-nueva").status_code == 200
    assert get(client, "/ogc/collections/capa-nueva/items")[1]["numberMatched"] == 3
    layer.delete()
    r, body = get(client, "/ogc/collections/capa-nueva")
    assert r.status_code == 404 and body["code"] == "not_found" and "No existe la colección" in body["description"]


def test_42_municipalities_with_divipola_and_area(client, territory):
    r, body = get(client, ITEMS, {"limit": 100})
    assert r.status_code == 200 and r["Content-Type"] == "application/geo+json"
    assert body["numberMatched"] == 42 and body["numberReturned"] == 42 and len(body["features"]) == 42
    stored = {m.divipola: m.area_km2 for m in Municipality.objects.all()}
    got = {f["id"]: f["properties"]["area_km2"] for f in body["features"]}
    assert got == pytest.approx(stored)
    assert got["76001"] == pytest.approx(564.1, abs=0.1)  # Cali, EPSG:9377 area (README: official 563.0 km²)


def test_paging_with_next_and_prev_links(client, territory):
    r, body = get(client, ITEMS, {"limit": 10})
    assert body["numberReturned"] == 10 and body["numberMatched"] == 42
    nxt = next(l["href"] for l in body["links"] if l["rel"] == "next")
    assert "offset=10" in nxt and "limit=10" in nxt
    r, last = get(client, ITEMS, {"limit": 10, "offset": 40})
    assert last["numberReturned"] == 2 and not any(l["rel"] == "next" for l in last["links"])
    assert any(l["rel"] == "prev" for l in last["links"])
    seen = set()
    for offset in range(0, 42, 10):
        seen |= {f["id"] for f in get(client, ITEMS, {"limit": 10, "offset": offset})[1]["features"]}
    assert len(seen) == 42  # a stable order: no feature twice, none missing


def test_bbox_is_applied_by_postgis(client, territory):
    box = (-76.6, 3.3, -76.4, 3.5)  # around Cali
    r, body = get(client, ITEMS, {"bbox": ",".join(map(str, box)), "limit": 100})
    with connection.cursor() as cur:
        cur.execute("SELECT divipola FROM territorial_municipality WHERE ST_Intersects(geom, "
                    "ST_MakeEnvelope(%s, %s, %s, %s, 4326))", box)
        expected = {row[0] for row in cur.fetchall()}
    assert 0 < body["numberMatched"] < 42
    assert {f["id"] for f in body["features"]} == expected and "76001" in expected


def test_bbox_crs_in_metres(client, territory):
    """The same box given in EPSG:9377 (bbox-crs) selects what PostGIS selects with that box."""
    with connection.cursor() as cur:
        cur.execute("SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM (SELECT ST_Transform(cabecera, 9377) g "
                    "FROM territorial_municipality WHERE divipola='76001') s")
        x, y = cur.fetchone()[:2]
        box = (x - 2000, y - 2000, x + 2000, y + 2000)
        cur.execute("SELECT divipola FROM territorial_municipality WHERE ST_Intersects(geom, "
                    "ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, 9377), 4326))", box)
        expected = {row[0] for row in cur.fetchall()}
    r, body = get(client, ITEMS, {"bbox": ",".join(map(str, box)),
                                  "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/9377"})
    assert {f["id"] for f in body["features"]} == expected and "76001" in expected


def test_property_filter(client, territory):
    r, body = get(client, ITEMS, {"subregion_code": "sur", "limit": 100})
    expected = set(Municipality.objects.filter(subregion__code="sur").values_list("divipola", flat=True))
    assert {f["id"] for f in body["features"]} == expected and 0 < len(expected) < 42
    r, body = get(client, ITEMS, {"divipola": "76001"})
    assert body["numberMatched"] == 1 and body["features"][0]["properties"]["name"] == "Cali"


def test_layer_attribute_filter_compares_json_values(client, point_layer):
    r, body = get(client, "/ogc/collections/capa-puntos-prueba/items", {"grupo": "1", "limit": 100})
    assert body["numberMatched"] == 10 and all(f["properties"]["grupo"] == 1 for f in body["features"])
    r, body = get(client, "/ogc/collections/capa-puntos-prueba/items", {"nombre": "p7"})
    assert [f["id"] for f in body["features"]] == [7]


def test_crs_epsg_9377_returns_metres_equal_to_postgis(client, territory):
    crs = "http://www.opengis.net/def/crs/EPSG/0/9377"
    r, body = get(client, ITEMS, {"divipola": "76001", "crs": crs})
    assert r["Content-Crs"] == f"<{crs}>"
    ring = body["features"][0]["geometry"]["coordinates"][0][0]
    with connection.cursor() as cur:
        cur.execute("SELECT ST_AsGeoJSON(ST_Transform(geom, 9377))::json FROM territorial_municipality "
                    "WHERE divipola = '76001'")
        expected = cur.fetchone()[0]
        expected = json.loads(expected) if isinstance(expected, str) else expected
    ref = expected["coordinates"][0][0]
    assert len(ring) == len(ref)
    flat = [v for xy in ring for v in xy]
    assert flat == pytest.approx([v for xy in ref for v in xy], abs=0.01)  # 2 decimals: centimetres
    assert 4.5e6 < ring[0][0] < 4.8e6 and 1.8e6 < ring[0][1] < 2.2e6  # metres, not degrees


def test_crs_epsg_4326_by_reference_is_lat_lon(client, territory):
    r, body = get(client, "/ogc/collections/municipios/items/76001", {"crs": "http://www.opengis.net/def/crs/EPSG/0/4326"})
    lat, lon = body["geometry"]["coordinates"][0][0][0]
    assert 3 < lat < 4 and -77 < lon < -76


def test_one_item_and_a_missing_one(client, territory):
    r, body = get(client, "/ogc/collections/municipios/items/76001")
    assert r.status_code == 200 and body["id"] == "76001" and body["type"] == "Feature"
    assert any(l["rel"] == "collection" for l in body["links"])
    r, body = get(client, "/ogc/collections/municipios/items/99999")
    assert r.status_code == 404 and "99999" in body["description"]


@pytest.mark.parametrize("query,word", [
    ({"bbox": "a,b,c,d"}, "bbox"), ({"bbox": "1,2,3"}, "bbox"), ({"bbox": "-70,3,-76,4"}, "invertido"),
    ({"limit": "0"}, "limit"), ({"limit": "diez"}, "limit"), ({"offset": "-1"}, "offset"),
    ({"crs": "EPSG:999999"}, "sistema de referencia"), ({"bbox-crs": "EPSG:9377"}, "bbox-crs"),
    ({"datetime": "ayer"}, "datetime"), ({"datetime": "2024-02-01/2024-01-01"}, "datetime"),
    ({"color": "rojo"}, "Parámetro desconocido"), ({"area_km2": "grande"}, "area_km2"),
])
def test_bad_input_is_a_spanish_400(client, territory, query, word):
    r, body = get(client, ITEMS, query)
    assert r.status_code == 400, body
    assert set(body) == {"code", "description"} and word in body["description"]


def test_limit_is_capped_for_anonymous_clients(client, point_layer, settings, django_user_model):
    settings.OGC_MAX_LIMIT_ANON = 5
    r, body = get(client, "/ogc/collections/capa-puntos-prueba/items", {"limit": 500})
    assert r.status_code == 200 and body["numberReturned"] == 5  # OGC: a larger limit is reduced, not refused
    settings.OGC_MAX_LIMIT = 7
    client.force_login(django_user_model.objects.create_user("lectora"))
    assert get(client, "/ogc/collections/capa-puntos-prueba/items", {"limit": 500})[1]["numberReturned"] == 7


def test_items_are_throttled_with_the_ogc_scope(client, territory, settings):
    from rest_framework.settings import api_settings

    settings.GEOSIG_THROTTLE_ENABLED = True
    rates = dict(api_settings.DEFAULT_THROTTLE_RATES)
    assert "ogc_anon" in rates
    api_settings.DEFAULT_THROTTLE_RATES["ogc_anon"] = "2/min"
    try:
        codes = [client.get(ITEMS).status_code for _ in range(3)]
    finally:
        api_settings.DEFAULT_THROTTLE_RATES.clear()
        api_settings.DEFAULT_THROTTLE_RATES.update(rates)
    assert codes == [200, 200, 429]


def test_centros_poblados_and_cabeceras(client, territory):
    from cities.models import City
    from cities.services.loading import load_cities

    if City.objects.count() != 569:
        load_cities()
    body = get(client, "/ogc/collections/centros-poblados/items", {"limit": 1})[1]
    assert body["numberMatched"] == 569  # DIVIPOLA 2017 (cities README)
    body = get(client, "/ogc/collections/cabeceras/items", {"limit": 100})[1]
    assert body["numberMatched"] == 42 and all(f["properties"]["is_cabecera"] for f in body["features"])
    assert {f["properties"]["divipola"] for f in body["features"]} == set(
        Municipality.objects.values_list("divipola", flat=True))
    assert get(client, "/ogc/collections/centros-poblados/items", {"is_cabecera": "sí"})[1]["numberMatched"] == 42


def test_fuzz_findings_stay_fixed(client, point_layer, pot_plans):
    """Found by the schemathesis run of test_conformance.py (were 500s): a filter Django proves empty (a negative
    value of a positive field) is an empty page; a date property filter with a non-date value is a 400."""
    body = get(client, "/ogc/collections/capa-puntos-prueba/items", {"fid": "-14327499"})[1]
    assert body["numberMatched"] == 0 and body["features"] == []
    assert client.get("/ogc/collections/capa-puntos-prueba/items/-5").status_code == 404
    r, body = get(client, "/ogc/collections/pot-zonas/items", {"approved_at": "lorem ipsum"})
    assert r.status_code == 400 and "approved_at" in body["description"]
    assert get(client, "/ogc/collections/pot-zonas/items", {"fid": "1"})[0].status_code == 400  # not a pot property


def test_errors_follow_the_language_cookie(client, territory, settings):
    r, body = get(client, ITEMS, {"crs": "EPSG:1"})
    assert body["description"].startswith("«crs» no es un sistema de referencia ofrecido")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r, body = get(client, ITEMS, {"crs": "EPSG:1"})
    assert r.status_code == 400 and body["description"].startswith("«crs» is not an offered reference system")
