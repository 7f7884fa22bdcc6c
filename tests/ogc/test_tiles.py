"""OGC API – Tiles: TileMatrixSet metadata (checked against the WebMercatorQuad formulas) and tiles equal to
the layers' own XYZ endpoint."""
from __future__ import annotations

import math

import mapbox_vector_tile
import pytest

pytestmark = pytest.mark.django_db
EARTH = 2 * math.pi * 6378137.0


def test_tile_matrix_set_definition(client, territory):
    listed = client.get("/ogc/tileMatrixSets").json()["tileMatrixSets"]
    assert [t["id"] for t in listed] == ["WebMercatorQuad"]
    tms = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    assert [m["id"] for m in tms["tileMatrices"]] == [str(z) for z in range(23)]
    for m in tms["tileMatrices"]:
        z = int(m["id"])
        assert m["matrixWidth"] == m["matrixHeight"] == 2 ** z
        assert m["cellSize"] == pytest.approx(EARTH / 256 / 2 ** z, rel=1e-9)
        assert m["scaleDenominator"] == pytest.approx(m["cellSize"] / 0.00028, rel=1e-9)  # 0.28 mm pixel
        assert m["pointOfOrigin"] == pytest.approx([-EARTH / 2, EARTH / 2])
    assert client.get("/ogc/tileMatrixSets/Otro").status_code == 404


def test_tilesets_of_a_layer_and_the_template(client, point_layer):
    sets = client.get("/ogc/collections/capa-puntos-prueba/tiles").json()["tilesets"]
    assert sets[0]["dataType"] == "vector" and sets[0]["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    ts = client.get("/ogc/collections/capa-puntos-prueba/tiles/WebMercatorQuad").json()
    template = next(l for l in ts["links"] if l["rel"] == "item")
    assert template["templated"] and template["href"].endswith("/{tileMatrix}/{tileRow}/{tileCol}")
    assert template["type"] == "application/vnd.mapbox-vector-tile"
    assert ts["layers"][0]["id"] == "puntos-prueba" and ts["layers"][0]["geometryDimension"] == 0
    assert client.get("/ogc/collections/municipios/tiles").status_code == 404  # no tiles for it (yet)


def test_tile_equals_the_layers_endpoint(client, point_layer):
    from layers.services.tiles import tile_bounds_4326

    lon, lat = point_layer.extent.centroid.coords
    z = 10
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    x0, y0, x1, y1 = tile_bounds_4326(z, x, y)
    inside = sum(1 for f in point_layer.features.all() if x0 <= f.geom.x < x1 and y0 <= f.geom.y < y1)
    ogc = client.get(f"/ogc/collections/capa-puntos-prueba/tiles/WebMercatorQuad/{z}/{y}/{x}")
    xyz = client.get(f"/api/v1/layers/puntos-prueba/tiles/{z}/{x}/{y}.pbf")
    assert ogc.status_code == 200 and ogc["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert ogc.content == xyz.content and ogc["ETag"] == xyz["ETag"]
    decoded = mapbox_vector_tile.decode(ogc.content)
    assert len(decoded["puntos-prueba"]["features"]) == inside > 0
    bad = client.get(f"/ogc/collections/capa-puntos-prueba/tiles/WebMercatorQuad/{z}/{n}/{x}")
    assert bad.status_code == 400 and "no existe" in bad.json()["description"]


def test_raster_tiles_equal_the_layers_png(client, territory, tmp_path, settings):
    import numpy as np

    from layers.services.importing import import_layer
    from tests.layers.conftest import synthetic_raster

    settings.MEDIA_ROOT = tmp_path / "media"
    values = np.zeros((40, 40))
    values[:, 20:] = 100.0
    import_layer(synthetic_raster(tmp_path / "dos.tif", values, west=-76.60, north=3.50, res=0.005))
    listed = {c["id"]: c for c in client.get("/ogc/collections").json()["collections"]}
    assert listed["capa-dos"]["layerDataType"] == "Raster"
    assert not any(l["rel"] == "items" for l in listed["capa-dos"]["links"])
    ts = client.get("/ogc/collections/capa-dos/tiles/WebMercatorQuad").json()
    assert ts["dataType"] == "map" and next(l for l in ts["links"] if l["rel"] == "item")["type"] == "image/png"
    z, x, y = 11, 588, 1004  # the tile of (-76.55, 3.44) at z11
    ogc = client.get(f"/ogc/collections/capa-dos/tiles/WebMercatorQuad/{z}/{y}/{x}")
    xyz = client.get(f"/api/v1/layers/dos/tiles/{z}/{x}/{y}.png")
    assert ogc.status_code == 200 and ogc["Content-Type"] == "image/png" and ogc.content == xyz.content
    import io

    from PIL import Image

    alpha = np.asarray(Image.open(io.BytesIO(ogc.content)).convert("RGBA"))[..., 3]
    assert alpha.max() == 255  # a painted tile, not the empty one
    assert client.get("/ogc/collections/capa-dos/items").json()["code"] == "not_found"
