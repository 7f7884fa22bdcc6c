"""The offline context map: /api/v1/context/tiles (MVT) and /api/v1/context/relief (hillshade PNG)."""
from __future__ import annotations

import io
import math

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from django.conf import settings
from PIL import Image

from geosig import versioned
from layers.services.importing import import_layer
from layers.services.shipped import SHIPPED
from territorial.models import Department, Municipality
from territorial.services import context

RAW = settings.GEOSIG_RAW_DIR
WORLD = 2 * math.pi * 6378137.0


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def tile_bounds_3857(z, x, y):
    size = WORLD / (1 << z)
    minx, maxy = -WORLD / 2 + x * size, WORLD / 2 - y * size
    return minx, maxy - size, minx + size, maxy


def import_shipped(*slugs):
    for entry in SHIPPED:
        if entry["meta"]["slug"] in slugs:
            import_layer(RAW / entry["file"], theme=entry["theme"], replace=True, metadata=entry["meta"])


@pytest.fixture
def context_data(territory, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    versioned._local.clear()  # tiles are memoised per process: start every test from the database
    import_shipped(context.RIVER_SLUG, context.ROADS_SLUG)


@pytest.fixture
def dem(context_data):
    import_shipped(context.DEM_SLUG)


def decode(content):
    return mapbox_vector_tile.decode(content, default_options={"y_coord_down": True})


def to_3857(layer, z, x, y, coords):
    """Tile units (y down) → EPSG:3857 metres."""
    minx, miny, maxx, maxy = tile_bounds_3857(z, x, y)
    k = (maxx - minx) / layer["extent"]
    return [(minx + cx * k, maxy - cy * k) for cx, cy in coords]


def lines_of(layer, feature, z, x, y):
    g = feature["geometry"]
    parts = [g["coordinates"]] if g["type"] == "LineString" else g["coordinates"]
    return shapely.MultiLineString([to_3857(layer, z, x, y, p) for p in parts])


def test_cali_tile_has_every_layer_and_the_real_cali_outline(client, context_data):
    cali = Municipality.objects.get(divipola="76001")
    z = 10
    x, y = tile_of(cali.cabecera.x, cali.cabecera.y, z)
    r = client.get(f"/api/v1/context/tiles/{z}/{x}/{y}.pbf")
    assert r.status_code == 200 and r["Content-Type"] == "application/vnd.mapbox-vector-tile"
    tile = decode(r.content)
    assert set(tile) == set(context.MVT_LAYERS)  # Cali's tile reaches the department's southern edge

    # Cali's outline in the tile is its real boundary (clipped to the tile), within half a pixel at z10
    mun = tile["municipios"]
    (feat,) = [f for f in mun["features"] if f["properties"]["divipola"] == "76001"]
    assert feat["properties"]["nombre"] == "Cali"
    env = shapely.box(*tile_bounds_3857(z, x, y))
    drawn = lines_of(mun, feat, z, x, y).intersection(env)  # the tile carries a 64-unit buffer beyond its edge
    truth = shapely.from_wkb(bytes(cali.geom.transform(3857, clone=True).boundary.wkb)).intersection(env)
    half_px = WORLD / (256 * 2 ** z) / 2  # ≈ 76 m: the simplification tolerance
    assert drawn.hausdorff_distance(truth) < half_px + 10
    assert drawn.length == pytest.approx(truth.length, rel=0.05)

    # its seat is a labelled point at the right place
    labels = {f["properties"]["divipola"]: f for f in tile["cabeceras"]["features"]}
    assert labels["76001"]["properties"]["nombre"] == cali.cabecera_name
    (px, py), = to_3857(tile["cabeceras"], z, x, y, [labels["76001"]["geometry"]["coordinates"]])
    seat = cali.cabecera.transform(3857, clone=True)
    assert math.hypot(px - seat.x, py - seat.y) < 2 * (WORLD / 2 ** z / 4096)  # within 2 tile units
    # roads and river: the features of the shipped layers that meet this tile, nothing invented
    assert all(f["properties"]["ruta"] for f in tile["vias"]["features"])
    assert len(tile["rio"]["features"]) >= 1


def test_zoom_decides_the_layers_and_a_low_zoom_view_is_small(client, context_data):
    dep = Department.objects.get()
    centre = dep.geom.centroid
    x, y = tile_of(centre.x, centre.y, 5)
    assert set(decode(client.get(f"/api/v1/context/tiles/5/{x}/{y}.pbf").content)) == {"departamento"}
    x, y = tile_of(centre.x, centre.y, 6)
    assert set(decode(client.get(f"/api/v1/context/tiles/6/{x}/{y}.pbf").content)) == {"departamento", "rio"}
    # every tile of a z8 view of the department: all 42 seats labelled once, a few KB in all
    minx, miny, maxx, maxy = dep.geom.extent
    x0, y0 = tile_of(minx, maxy, 8)
    x1, y1 = tile_of(maxx, miny, 8)
    seats, size = [], 0
    for tx in range(x0, x1 + 1):
        for ty in range(y0, y1 + 1):
            body = client.get(f"/api/v1/context/tiles/8/{tx}/{ty}.pbf").content
            size += len(body)
            seats += [f["properties"]["divipola"] for f in decode(body).get("cabeceras", {"features": []})["features"]]
    assert sorted(seats) == sorted(Municipality.objects.values_list("divipola", flat=True))
    assert size < 40_000


def test_far_away_tile_is_empty_and_bad_addresses_are_400(client, context_data):
    r = client.get("/api/v1/context/tiles/10/0/0.pbf")
    assert r.status_code == 200 and r.content == b""
    for url in ("/api/v1/context/tiles/3/8/0.pbf", "/api/v1/context/tiles/23/0/0.pbf",
                "/api/v1/context/relief/2/0/4.png"):
        r = client.get(url)
        assert r.status_code == 400, url
        assert "tesela" in r.json()["detail"].lower() or "zoom" in r.json()["detail"].lower()


def test_tile_is_cached_per_data_version_with_etag(client, context_data):
    cali = Municipality.objects.get(divipola="76001")
    x, y = tile_of(cali.cabecera.x, cali.cabecera.y, 9)
    url = f"/api/v1/context/tiles/9/{x}/{y}.pbf"
    first = client.get(url)
    assert "max-age" in first["Cache-Control"] and first["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    Municipality.objects.filter(pk=cali.pk).update(cabecera_name="Cali renombrada")
    assert client.get(url).content == first.content  # same data version: the memoised tile
    versioned.bump("territorial")  # what the loaders and signals do after a change
    second = client.get(url)
    assert second["ETag"] != first["ETag"]
    names = [f["properties"]["nombre"] for f in decode(second.content)["cabeceras"]["features"]]
    assert "Cali renombrada" in names


def test_without_the_layers_the_tile_still_has_the_territory(client, territory, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    versioned._local.clear()
    cali = Municipality.objects.get(divipola="76001")
    x, y = tile_of(cali.cabecera.x, cali.cabecera.y, 10)
    tile = decode(client.get(f"/api/v1/context/tiles/10/{x}/{y}.pbf").content)
    assert set(tile) == {"departamento", "municipios", "cabeceras"}  # no river, no roads: nothing drawn for them
    png = client.get(f"/api/v1/context/relief/10/{x}/{y}.png")  # no DEM: a transparent tile
    img = Image.open(io.BytesIO(png.content))
    assert img.size == (256, 256) and img.convert("RGBA").getextrema()[3] == (0, 0)


def test_relief_tile_is_shaded_over_the_dem_and_transparent_north_of_4n(client, dem):
    x, y = tile_of(-76.6, 3.6, 10)  # between Cali and Dagua: well inside the DEM
    r = client.get(f"/api/v1/context/relief/10/{x}/{y}.png")
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    img = Image.open(io.BytesIO(r.content)).convert("LA")
    assert img.size == (256, 256)
    grey, alpha = (np.asarray(img)[..., i] for i in (0, 1))
    assert (alpha == 255).all()
    assert grey[alpha == 255].std() > 10 and len(np.unique(grey[alpha == 255])) > 20  # relief, not a flat grey
    cartago = Municipality.objects.get(divipola="76147")  # 4.75°N: no DEM there
    x, y = tile_of(cartago.cabecera.x, cartago.cabecera.y, 9)
    north = Image.open(io.BytesIO(client.get(f"/api/v1/context/relief/9/{x}/{y}.png").content)).convert("RGBA")
    assert north.size == (256, 256) and north.getextrema()[3] == (0, 0)


def test_hillshade_is_computed_once_per_dem_version(dem, monkeypatch):
    from layers.services import hillshade

    layer = context.relief_layer()
    calls = []
    real = hillshade._compute
    monkeypatch.setattr(hillshade, "_compute", lambda *a: (calls.append(1), real(*a)))
    first = hillshade.ensure_hillshade(layer)
    assert hillshade.ensure_hillshade(layer) == first and calls == [1]
    hillshade.hillshade_tile(layer, 9, *tile_of(-76.52, 3.44, 9))
    assert calls == [1]  # a tile reads the stored shading, never recomputes it
