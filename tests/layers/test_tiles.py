"""Vector tiles decoded with mapbox-vector-tile; PNG tiles decoded with Pillow; HTTP behaviour of both."""
import io
import math

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from PIL import Image
from pyproj import Transformer

from layers.models import Layer
from layers.services.importing import import_layer
from layers.services.tiles import vector_tile
from tests.layers.conftest import synthetic_raster, write_vector

pytestmark = pytest.mark.django_db
TO_3857 = Transformer.from_crs(4326, 3857, always_xy=True)
HALF = math.pi * 6378137.0
POINTS = [(-76.52, 3.44, "a"), (-76.50, 3.45, "b"), (-76.48, 3.42, "a")]


def _tile_of(lon, lat, z):
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _expected_px(lon, lat, z, x, y):
    mx, my = TO_3857.transform(lon, lat)
    size = 2 * HALF / (1 << z)
    minx, maxy = -HALF + x * size, HALF - y * size
    return (mx - minx) / size * 4096, (maxy - my) / size * 4096


@pytest.fixture
def points(tmp_path):
    gdf = gpd.GeoDataFrame({"tipo": [p[2] for p in POINTS], "nombre": ["P1", "P2", "P3"]},
                           geometry=[shapely.Point(p[0], p[1]) for p in POINTS], crs=4326)
    import_layer(write_vector(tmp_path / "estaciones.geojson", gdf, "GeoJSON"), metadata={"label_field": "nombre"})
    return Layer.objects.get(slug="estaciones")


def test_mvt_decodes_to_the_expected_points(points):
    z = 10
    x, y = _tile_of(-76.50, 3.44, z)
    assert all(_tile_of(lon, lat, z) == (x, y) for lon, lat, _ in POINTS)
    tile = mapbox_vector_tile.decode(vector_tile(points, z, x, y), default_options={"y_coord_down": True})
    feats = tile["estaciones"]["features"]
    assert tile["estaciones"]["extent"] == 4096 and len(feats) == 3
    got = {f["properties"]["label"]: (f["properties"]["class"], f["geometry"]["coordinates"]) for f in feats}
    for (lon, lat, cls), name in zip(POINTS, ["P1", "P2", "P3"]):
        ex, ey = _expected_px(lon, lat, z, x, y)
        assert got[name][0] == cls
        assert got[name][1][0] == pytest.approx(ex, abs=1) and got[name][1][1] == pytest.approx(ey, abs=1)


def test_mvt_far_away_tile_is_empty_and_polygons_simplified_per_zoom(tmp_path, points):
    assert vector_tile(points, 10, 0, 0) == b""
    circle = shapely.Point(-76.5, 3.45).buffer(0.05, quad_segs=500)  # 2000 vertices
    gdf = gpd.GeoDataFrame({"n": [1]}, geometry=[circle], crs=4326)
    import_layer(write_vector(tmp_path / "circulo.geojson", gdf, "GeoJSON"))
    layer = Layer.objects.get(slug="circulo")

    z = 9  # the circle is ~36 px wide; tolerance 153 m
    x, y = _tile_of(-76.5, 3.45, z)
    (f,) = mapbox_vector_tile.decode(vector_tile(layer, z, x, y))["circulo"]["features"]
    ring = f["geometry"]["coordinates"][0]
    assert 8 < len(ring) < 40  # 2001 vertices simplified to what a z9 screen can show
    size = 2 * HALF / (1 << z)
    expected = gpd.GeoSeries([circle], crs=4326).to_crs(3857).area.iloc[0] * (4096 / size) ** 2
    assert shapely.Polygon(ring).area == pytest.approx(expected, rel=0.05)  # still the same circle
    x, y = _tile_of(-76.45, 3.45, 15)  # a high zoom keeps the edge detail (tolerance 2.4 m)
    (f,) = mapbox_vector_tile.decode(vector_tile(layer, 15, x, y))["circulo"]["features"]
    assert len(f["geometry"]["coordinates"][0]) > len(ring) / 4


def test_tile_http_headers_etag_and_errors(client, points):
    x, y = _tile_of(-76.50, 3.44, 10)
    url = f"/api/v1/layers/estaciones/tiles/10/{x}/{y}.pbf"
    r = client.get(url)
    assert r.status_code == 200 and r["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert "max-age=3600" in r["Cache-Control"] and r["ETag"]
    assert len(mapbox_vector_tile.decode(r.content)["estaciones"]["features"]) == 3
    assert client.get(url, HTTP_IF_NONE_MATCH=r["ETag"]).status_code == 304
    bad = client.get("/api/v1/layers/estaciones/tiles/10/5000/1.pbf")
    assert bad.status_code == 400 and "no existe" in bad.json()["detail"]
    assert client.get("/api/v1/layers/estaciones/tiles/23/0/0.pbf").status_code == 400
    assert client.get("/api/v1/layers/nada/tiles/1/0/0.pbf").status_code == 404
    assert client.get(f"/api/v1/layers/estaciones/tiles/10/{x}/{y}.png").status_code == 400


def test_png_tile_uses_the_colour_ramp_and_nodata_is_transparent(tmp_path, client):
    values = np.zeros((40, 40))
    values[:, 20:] = 100.0
    values[25:, :] = -9999  # nodata band at the bottom (south of 3.375°)
    import_layer(synthetic_raster(tmp_path / "dos.tif", values, west=-76.60, north=3.50, res=0.005))
    z = 11
    x, y = _tile_of(-76.55, 3.44, z)
    r = client.get(f"/api/v1/layers/dos/tiles/{z}/{x}/{y}.png")
    assert r.status_code == 200 and r["Content-Type"] == "image/png" and "max-age" in r["Cache-Control"]
    img = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGBA"))

    def pixel(lon, lat):
        px, py = _expected_px(lon, lat, z, x, y)
        assert 0 <= px < 4096 and 0 <= py < 4096, "point outside the tile"
        return tuple(img[int(py / 16), int(px / 16)])

    assert pixel(-76.57, 3.46) == (0x1A, 0x98, 0x50, 255)  # value 0 → first stop of the ramp
    assert pixel(-76.48, 3.46) == (0xF5, 0xF5, 0xF5, 255)  # value 100 (east of −76.50) → last stop
    assert pixel(-76.57, 3.35)[3] == 0  # nodata → transparent
    far = client.get("/api/v1/layers/dos/tiles/12/0/0.png")
    assert far.status_code == 200 and np.asarray(Image.open(io.BytesIO(far.content)))[..., 3].max() == 0
