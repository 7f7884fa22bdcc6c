"""Layers API: metadata, overlay, identify and downloads (real requests through the test client)."""
import io
import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely

from layers.services.importing import import_layer
from tests.layers.conftest import X0, Y0, square_9377, synthetic_raster, to_4326, write_vector

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(tmp_path):
    polys = gpd.GeoDataFrame({"clase": ["A", "B"], "nota": ["uno", "dos"]},
                             geometry=to_4326([square_9377(0, 0, 10_000), square_9377(-4000, 1000, 2000)]), crs=4326)
    import_layer(write_vector(tmp_path / "cob.geojson", polys, "GeoJSON"), theme="ecosistemas",
                 metadata={"title": "Coberturas", "source": "prueba", "licence": "CC BY"})
    values = np.arange(400, dtype="float64").reshape(20, 20)
    import_layer(synthetic_raster(tmp_path / "alt.tif", values, west=-76.60, north=3.50, res=0.01),
                 metadata={"unit": "m"})


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_list_and_detail(client, data):
    body = client.get("/api/v1/layers/").json()
    by = {l["slug"]: l for l in body["layers"]}
    assert set(by) == {"cob", "alt"}
    assert by["cob"]["tiles"].endswith("/api/v1/layers/cob/tiles/{z}/{x}/{y}.pbf")
    assert by["alt"]["tiles"].endswith("/api/v1/layers/alt/tiles/{z}/{x}/{y}.png")
    assert by["cob"]["legend"] == [{"color": c["color"], "label": c["label"]} for c in by["cob"]["style"]["classes"]]
    assert [i["label"] for i in by["cob"]["legend"]] == ["A", "B"]
    d = client.get("/api/v1/layers/cob/").json()
    assert d["feature_count"] == 2 and d["licence"] == "CC BY" and d["import_report"]["status"] == "creada"
    assert {f["name"] for f in d["fields"]} == {"clase", "nota"}
    assert client.get("/api/v1/layers/nada/").status_code == 404


def test_overlay_endpoint(client, data):
    area = shapely.geometry.mapping(to_4326([shapely.box(X0 - 5000, Y0, X0 + 5000, Y0 + 10_000)]).iloc[0])
    r = _post(client, "/api/v1/overlay/", {"geometry": area, "layers": ["cob"]})
    assert r.status_code == 200
    (cob,) = r.json()["layers"]
    assert {c["value"]: round(c["pct_of_area"], 4) for c in cob["classes"]} == {"A": 50.0, "B": 4.0}
    bad = _post(client, "/api/v1/overlay/", {"geometry": {"type": "Point", "coordinates": [-76.5, 3.4]}})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_geometry"
    # «layers» is read by geosig.params.text_list: a list or "a,b" (as in identify), never a number, and capped
    assert _post(client, "/api/v1/overlay/", {"geometry": area, "layers": 5}).status_code == 400
    assert _post(client, "/api/v1/overlay/", {"geometry": area, "layers": "cob"}).json()["layers"][0]["slug"] == "cob"
    many = _post(client, "/api/v1/overlay/", {"geometry": area, "layers": ["cob"] * 20_000})
    assert many.status_code == 400 and "como máximo 50" in many.json()["detail"]
    assert _post(client, "/api/v1/overlay/", [area]).status_code == 400  # a JSON list is not a request object
    assert _post(client, "/api/v1/overlay/", {}).status_code == 400


def test_overlay_raster_zonal_via_api(client, data):
    box = shapely.box(-76.60 + 0.02, 3.50 - 0.05, -76.60 + 0.06, 3.50 - 0.01)  # rows 1..4, cols 2..5
    r = _post(client, "/api/v1/overlay/", {"geometry": shapely.geometry.mapping(box), "layers": ["alt"]})
    stats = r.json()["layers"][0]["stats"]
    block = np.arange(400).reshape(20, 20)[1:5, 2:6]
    assert (stats["min"], stats["max"]) == (block.min(), block.max())
    assert stats["mean"] == pytest.approx(block.mean())


def test_overlay_refuses_a_zonal_window_above_the_cell_cap(client, data, settings):
    settings.GEOSIG_ZONAL_MAX_CELLS = 15  # the box below covers 4 × 4 = 16 cells of «alt»
    box = shapely.box(-76.60 + 0.02, 3.50 - 0.05, -76.60 + 0.06, 3.50 - 0.01)
    r = _post(client, "/api/v1/overlay/", {"geometry": shapely.geometry.mapping(box), "layers": ["alt"]})
    assert r.status_code == 400, r.content
    assert r.json()["error"] == "invalid_parameter" and "16 celdas" in r.json()["detail"]


def test_overlay_areas_lists_registered_resolvers(client, territory):
    kinds = {k["kind"]: k for k in client.get("/api/v1/overlay/areas/").json()["kinds"]}
    assert {"municipio", "subregion"} <= set(kinds)
    assert len(kinds["municipio"]["choices"]) == 42
    assert {"code": "76001", "name": "Cali"} in kinds["municipio"]["choices"] or any(
        c["code"] == "76001" for c in kinds["municipio"]["choices"])


def test_identify_vector_and_raster(client, data):
    lon, lat = to_4326([shapely.Point(X0 + 9000, Y0 + 9000)]).iloc[0].coords[0]  # in A, north of the raster
    r = client.get(f"/api/v1/identify/?lon={lon}&lat={lat}&zoom=12&layers=cob,alt").json()
    by = {l["slug"]: l for l in r["layers"]}
    assert [f["attributes"] for f in by["cob"]["features"]] == [{"clase": "A", "nota": "uno"}]
    assert by["alt"]["value"] is None  # the raster does not reach this point
    r = client.get("/api/v1/identify/?lon=-76.555&lat=3.475&layers=alt").json()  # row 2, col 4
    assert r["layers"][0]["value"] == 2 * 20 + 4
    assert client.get("/api/v1/identify/?lon=abc&lat=3").status_code == 400
    assert client.get("/api/v1/identify/?lat=3").status_code == 400


def test_identify_lines_within_pixels(client, tmp_path):
    line = gpd.GeoDataFrame({"n": ["vía"]}, geometry=[shapely.LineString([(-76.5, 3.4), (-76.4, 3.4)])], crs=4326)
    import_layer(write_vector(tmp_path / "via.geojson", line, "GeoJSON"))
    near = client.get("/api/v1/identify/?lon=-76.45&lat=3.4003&zoom=14&layers=via").json()  # ≈33 m away
    far = client.get("/api/v1/identify/?lon=-76.45&lat=3.4003&zoom=18&layers=via").json()  # 6 px ≈ 3.6 m
    assert len(near["layers"][0]["features"]) == 1 and near["layers"][0]["features"][0]["distance_m"] == pytest.approx(
        33.2, abs=0.5)
    assert far["layers"][0]["features"] == []


def test_downloads_whole_and_clipped(client, data):
    r = client.get("/api/v1/layers/cob/download.gpkg")
    assert r.status_code == 200 and r["Content-Disposition"] == 'attachment; filename="cob.gpkg"'
    assert r["Content-Type"] == "application/geopackage+sqlite3"
    gdf = gpd.read_file(io.BytesIO(r.content), engine="pyogrio")
    assert len(gdf) == 2 and set(gdf["clase"]) == {"A", "B"} and gdf.crs.to_epsg() == 4326
    area = shapely.geometry.mapping(to_4326([shapely.box(X0 - 5000, Y0, X0 + 5000, Y0 + 10_000)]).iloc[0])
    r = _post(client, "/api/v1/layers/cob/download.geojson", {"geometry": area})
    assert r["Content-Type"] == "application/geo+json"
    assert r["Content-Disposition"] == 'attachment; filename="cob-recorte.geojson"'
    clipped = gpd.read_file(io.BytesIO(r.content), engine="pyogrio").set_crs(4326, allow_override=True)
    areas = dict(zip(clipped["clase"], clipped.to_crs(9377).area))
    assert areas["A"] == pytest.approx(5e7, rel=1e-4) and areas["B"] == pytest.approx(4e6, rel=1e-4)
    r = client.get("/api/v1/layers/alt/download.tif")  # the whole file is streamed (FileResponse)
    assert r.streaming and r["Content-Type"] == "image/tiff" and 'filename="alt.tif"' in r["Content-Disposition"]
    with rasterio.open(io.BytesIO(r.getvalue())) as src:
        assert src.read(1)[3, 4] == 64 and src.crs.to_epsg() == 4326
    box = shapely.box(-76.58 + 1e-6, 3.45 + 1e-6, -76.54 - 1e-6, 3.49 - 1e-6)  # inset: no edge ambiguity
    r = _post(client, "/api/v1/layers/alt/download.tif", {"geometry": shapely.geometry.mapping(box)})
    with rasterio.open(io.BytesIO(r.content)) as src:
        assert src.shape == (4, 4) and src.read(1).tolist() == np.arange(400).reshape(20, 20)[1:5, 2:6].tolist()
    bad = client.get("/api/v1/layers/cob/download.tif")
    assert bad.status_code == 400 and "gpkg, geojson" in bad.json()["detail"]


def test_download_clipped_by_municipality_code(client, data, territory):
    r = client.get("/api/v1/layers/cob/download.geojson?area=municipio:76001")
    assert r.status_code == 200 and "recorte" in r["Content-Disposition"]
    assert client.get("/api/v1/layers/cob/download.geojson?area=municipio:99999").status_code == 404
