"""The territorial API over HTTP (Django test client against the real PostGIS)."""
import csv
import io
import json

import pyogrio
import pytest

pytestmark = pytest.mark.django_db


def get_json(client, url, status=200):
    resp = client.get(url)
    assert resp.status_code == status, resp.content[:300]
    return json.loads(resp.content)


def test_municipalities_feature_collection(client, territory):
    fc = get_json(client, "/api/v1/municipalities/")
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 42
    props = {f["properties"]["divipola"]: f["properties"] for f in fc["features"]}
    cali = props["76001"]
    assert cali["name"] == "Cali" and cali["subregion"] == "Sur"
    assert cali["population"] == 2227642 and cali["population_year"] == 2018
    assert cali["area_km2"] == pytest.approx(territory.get(divipola="76001").area_km2, abs=0.01)
    assert {f["geometry"]["type"] for f in fc["features"]} == {"MultiPolygon"}


def test_simplified_payload_is_small(client, territory):
    resp = client.get("/api/v1/municipalities/?simplified=true")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/geo+json"
    assert len(resp.content) <= 250_000
    assert len(json.loads(resp.content)["features"]) == 42


def test_subregion_filter(client, territory):
    fc = get_json(client, "/api/v1/municipalities/?subregion=buenaventura")
    assert [f["id"] for f in fc["features"]] == ["76109"]
    fc = get_json(client, "/api/v1/municipalities/?subregion=Norte")
    assert len(fc["features"]) == 16
    err = get_json(client, "/api/v1/municipalities/?subregion=oriente-lejano", status=400)
    assert "nororiente" in err["detail"]


def test_bbox_filter(client, territory):
    # A small box around Cali's cabecera: Cali is in, Buenaventura and Cartago are not.
    fc = get_json(client, "/api/v1/municipalities/?bbox=-76.55,3.40,-76.50,3.45")
    ids = {f["id"] for f in fc["features"]}
    assert "76001" in ids and "76109" not in ids and "76147" not in ids
    for bad in ("1,2", "a,b,c,d", "-76,3,-77,4"):
        err = get_json(client, f"/api/v1/municipalities/?bbox={bad}", status=400)
        assert err["error"] == "invalid_parameter" and "bbox" in err["detail"]


def test_bad_simplified_flag(client, territory):
    err = get_json(client, "/api/v1/municipalities/?simplified=quizas", status=400)
    assert "simplified" in err["detail"]


def test_municipality_detail_and_404(client, territory):
    f = get_json(client, "/api/v1/municipalities/76109/")
    p = f["properties"]
    assert p["name"] == "Buenaventura" and p["subregion"] == "Buenaventura" and p["cabecera"] == "Buenaventura"
    years = [v["year"] for v in p["indicators"]["poblacion_total"]["values"]]
    assert years == list(range(2012, 2025))
    assert p["census_not_available"] == [1985, 1993, 2005]
    err = get_json(client, "/api/v1/municipalities/99999/", status=404)
    assert err["error"] == "not_found" and "99999" in err["detail"]


def test_subregions(client, territory):
    fc = get_json(client, "/api/v1/subregions/")
    by = {f["id"]: f["properties"] for f in fc["features"]}
    assert list(by) == ["norte", "centro", "sur", "nororiente", "buenaventura"]
    assert by["buenaventura"]["municipalities"] == ["76109"]
    assert sum(len(p["municipalities"]) for p in by.values()) == 42


def test_indicators(client, territory):
    data = get_json(client, "/api/v1/indicators/?code=poblacion_total&year=2012")
    assert data["year"] == 2012 and len(data["values"]) == 42
    cali = next(v for v in data["values"] if v["divipola"] == "76001")
    assert cali["value"] == 2165625
    latest = get_json(client, "/api/v1/indicators/?code=densidad_poblacion")
    assert latest["year"] == 2024
    dens = next(v for v in latest["values"] if v["divipola"] == "76001")["value"]
    assert dens == pytest.approx(2283846 / territory.get(divipola="76001").area_km2, rel=1e-6)
    assert "poblacion_total" in get_json(client, "/api/v1/indicators/", status=400)["detail"]
    assert "2012" in get_json(client, "/api/v1/indicators/?code=poblacion_total&year=1990", status=400)["detail"]
    assert "entero" in get_json(client, "/api/v1/indicators/?code=poblacion_total&year=dos", status=400)["detail"]


def test_locate(client, territory):
    inside = get_json(client, "/api/v1/locate/?lon=-76.5216&lat=3.4144")  # Cali's cabecera
    assert inside["inside"] and inside["municipality"]["divipola"] == "76001" and inside["subregion"]["code"] == "sur"
    bogota = get_json(client, "/api/v1/locate/?lon=-74.08&lat=4.61")
    assert bogota["inside"] is False and "fuera del Valle" in bogota["detail"]
    assert 150 < bogota["nearest"]["distance_km"] < 300
    for q, word in (("lon=abc&lat=3", "lon"), ("lon=-76&lat=95", "lat"), ("lat=3", "lon"), ("lon=nan&lat=3", "lon")):
        err = get_json(client, f"/api/v1/locate/?{q}", status=400)
        assert word in err["detail"]


def test_downloads(client, territory, tmp_path):
    resp = client.get("/api/v1/downloads/municipalities.gpkg")
    assert resp.status_code == 200 and "attachment" in resp["Content-Disposition"]
    path = tmp_path / "m.gpkg"
    path.write_bytes(resp.content)
    gdf = pyogrio.read_dataframe(path)
    assert len(gdf) == 42 and gdf.crs.to_epsg() == 4326
    assert gdf.set_index("divipola").loc["76001", "nombre"] == "Cali"
    geo = json.loads(client.get("/api/v1/downloads/subregions.geojson").content)
    assert len(geo["features"]) == 5
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/downloads/indicators.csv?code=poblacion_total").content.decode())))
    assert len(rows) == 42 * 13 and {r["indicador"] for r in rows} == {"poblacion_total"}
    assert get_json(client, "/api/v1/downloads/municipalities.shp", status=400)["detail"].startswith("Formato desconocido")
    assert get_json(client, "/api/v1/downloads/rios.gpkg", status=400)["error"] == "invalid_parameter"


def test_openapi_schema(client, territory):
    resp = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert resp.status_code == 200
    schema = json.loads(resp.content)
    assert "/api/v1/municipalities/" in schema["paths"] and "/api/v1/locate/" in schema["paths"]


def test_home_page_is_spanish_by_default(client, territory):
    resp = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert resp.status_code == 200
    assert 'lang="es"' in resp.content.decode() and "Buscar municipio" in resp.content.decode()


def test_municipalities_cache_follows_data_changes(client, territory, django_capture_on_commit_callbacks):
    first = client.get("/api/v1/municipalities/?simplified=true", HTTP_ACCEPT_ENCODING="gzip")
    assert first["Content-Encoding"] == "gzip" and first.has_header("ETag")
    assert client.get("/api/v1/municipalities/?simplified=true", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        cali = territory.get(divipola="76001")
        cali.name = "Santiago de Cali"
        cali.save()
    after = get_json(client, "/api/v1/municipalities/?subregion=sur")
    assert "Santiago de Cali" in {f["properties"]["name"] for f in after["features"]}
    assert client.get("/api/v1/municipalities/?simplified=true", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_admin_cannot_change_a_boundary(client, territory, django_user_model):
    admin_user = django_user_model.objects.create_superuser("jefa", password="x-clave-larga-1")
    client.force_login(admin_user)
    cali = territory.get(divipola="76001")
    url = f"/admin/territorial/municipality/{cali.pk}/change/"
    assert client.get(url).status_code == 200
    norte = cali.subregion.__class__.objects.get(code="norte")
    square = '{"type": "Polygon", "coordinates": [[[-76.6,3.3],[-76.5,3.3],[-76.5,3.4],[-76.6,3.4],[-76.6,3.3]]]}'
    resp = client.post(url, {"name": "Cali", "subregion": norte.pk, "cabecera_name": cali.cabecera_name,
                             "cabecera": cali.cabecera.geojson, "geom": square})
    assert resp.status_code == 302, resp.content[:500]
    cali.refresh_from_db()
    assert cali.subregion == norte  # the planning decision is editable
    assert cali.geom.num_coords > 5 and cali.area_km2 == pytest.approx(562.8, abs=20)  # the boundary is not
