"""Rasters are stored on their own grid and CRS (issue 15): the round trip keeps grid, CRS and values; tiles
reproject on the fly, identify/zonal/export read the native cells."""
import math

import numpy as np
import pytest
import rasterio
import shapely
import shapely.geometry
import shapely.ops
from django.core.management import call_command
from PIL import Image
from pyproj import Transformer
from rasterio.transform import from_origin

from layers.models import Layer
from layers.services import tiles
from layers.services.identify import _sample
from layers.services.importing import import_layer
from layers.services.zonal import zonal_stats

pytestmark = pytest.mark.django_db
CELL = 50.0
# near Cali (lon −76.55, lat 3.45) in each CRS
ORIGIN = {epsg: Transformer.from_crs(4326, epsg, always_xy=True).transform(-76.55, 3.45) for epsg in (9377, 3115, 3116)}


def _raster(path, epsg, *, crs=True, dtype="float32", nodata=-9999.0):
    rng = np.random.default_rng(epsg)
    values = rng.uniform(900, 3000, (40, 60)).astype(dtype)
    values[0, 0] = nodata
    x, y = ORIGIN[epsg]
    t = from_origin(round(x), round(y), CELL, CELL)
    with rasterio.open(path, "w", driver="GTiff", width=60, height=40, count=1, dtype=dtype,
                       crs=f"EPSG:{epsg}" if crs else None, transform=t, nodata=nodata) as dst:
        dst.write(values, 1)
    return path, values, t


@pytest.mark.parametrize("epsg", [9377, 3115, 3116])
def test_round_trip_keeps_grid_crs_and_values(tmp_path, media, epsg):
    path, values, t = _raster(tmp_path / f"r{epsg}.tif", epsg)
    report = import_layer(path, theme="relieve", metadata={"unit": "m"})
    layer = Layer.objects.get(slug=f"r{epsg}")
    with rasterio.open(layer.raster_path) as src:
        assert src.crs.to_epsg() == epsg and src.transform == t and (src.height, src.width) == values.shape
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.nodata == -9999 and src.dtypes[0] == "float32"
        assert np.array_equal(src.read(1), values)  # bit for bit, nodata included
    meta = layer.raster_meta
    assert meta["crs"] == f"EPSG:{epsg}" and meta["transform"] == list(t)[:6]
    valid = values[values != -9999]
    assert meta["min"] == float(valid.min()) and meta["max"] == float(valid.max())
    # «bounds» stays lon/lat (tiles, identify, coverage messages): the native bounds transformed
    lon, lat = Transformer.from_crs(epsg, 4326, always_xy=True).transform(t.c, t.f)
    assert meta["bounds"][0] == pytest.approx(lon, abs=1e-3) and meta["bounds"][3] == pytest.approx(lat, abs=1e-3)
    assert "guardado en su CRS y grilla" in str(report)


def test_a_user_srid_is_written_into_the_stored_file(tmp_path, media):
    path, values, t = _raster(tmp_path / "sincrs.tif", 9377, crs=False)
    import_layer(path, srid=9377)
    with rasterio.open(Layer.objects.get(slug="sincrs").raster_path) as src:
        assert src.crs.to_epsg() == 9377 and src.transform == t and np.array_equal(src.read(1), values)


def test_identify_zonal_tiles_and_export_read_the_native_cells(tmp_path, media, client):
    path, values, t = _raster(tmp_path / "alt.tif", 3115)
    import_layer(path, theme="relieve")
    layer = Layer.objects.get(slug="alt")
    to_ll = Transformer.from_crs(3115, 4326, always_xy=True)
    # identify at the centre of row 7, column 11
    lon, lat = to_ll.transform(t.c + 11.5 * CELL, t.f - 7.5 * CELL)
    assert _sample(layer, lon, lat) == pytest.approx(float(values[7, 11]))
    # zonal: a polygon made of cells 10..19 × 20..29 in EPSG:3115, given in lon/lat (densified edges)
    box = shapely.box(t.c + 20 * CELL, t.f - 20 * CELL, t.c + 30 * CELL, t.f - 10 * CELL).segmentize(50.0)
    poly = shapely.ops.transform(lambda x, y: to_ll.transform(x, y), box)
    (s,) = zonal_stats(layer, poly)
    block = values[10:20, 20:30].astype("float64")
    assert s["cells"] == pytest.approx(100, abs=0.05)
    assert s["mean"] == pytest.approx(block.mean(), rel=1e-4)
    assert s["min"] == pytest.approx(block.min()) and s["max"] == pytest.approx(block.max())
    # a tile over the raster is drawn (reprojected on the fly to Web Mercator)
    z = 14
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    png = tiles.raster_tile(layer, z, x, y)
    import io
    alpha = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))[..., 3]
    assert (alpha > 0).sum() > 100
    # whole-layer download: the stored native file
    r = client.get("/api/v1/layers/alt/download.tif")
    assert r.status_code == 200
    out = tmp_path / "dl.tif"
    out.write_bytes(b"".join(r.streaming_content))
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 3115 and np.array_equal(src.read(1), values)
    # clipped download: the polygon (lon/lat) is brought to EPSG:3115 and cuts the native cells 10..19 × 20..29
    inset = shapely.box(t.c + 20 * CELL + 1, t.f - 20 * CELL + 1, t.c + 30 * CELL - 1, t.f - 10 * CELL - 1).segmentize(50.0)
    clip = shapely.ops.transform(lambda x, y: to_ll.transform(x, y), inset)
    r = client.post("/api/v1/layers/alt/download.tif", {"geometry": shapely.geometry.mapping(clip)},
                    content_type="application/json")
    assert r.status_code == 200, r.content[:300]
    out.write_bytes(r.content)
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 3115 and src.shape == (10, 10)
        assert np.array_equal(src.read(1), values[10:20, 20:30])


def test_migration_records_the_grid_and_flags_rasters_stored_reprojected(tmp_path, media):
    """Data migration 0007 on a raster stored the old way (reprojected to EPSG:4326, source EPSG:3115)."""
    import importlib

    from django.apps import apps

    path, values, t = _raster(tmp_path / "viejo.tif", 9377)
    import_layer(path)
    layer = Layer.objects.get(slug="viejo")
    old = tmp_path / "old4326.tif"
    with rasterio.open(layer.raster_path) as src:
        from rasterio.vrt import WarpedVRT
        with rasterio.Env(), WarpedVRT(src, crs="EPSG:4326") as vrt:
            rasterio.shutil.copy(vrt, old, driver="GTiff")
    layer.raster_path.unlink()
    old.rename(layer.raster_path)
    Layer.objects.filter(pk=layer.pk).update(raster_meta={"min": 1}, source_crs="EPSG:3115 (MAGNA-SIRGAS / Colombia West zone)")
    mig = importlib.import_module("layers.migrations.0007_raster_native_grid_meta")
    mig.record_native_grid(apps, None)
    layer.refresh_from_db()
    assert layer.raster_meta["crs"] == "EPSG:4326" and layer.raster_meta["min"] == 1
    assert layer.import_report["fingerprint"] == "" and "vuelva a importarlo" in layer.import_report["notes"][-1]
    # the loader's re-import (replace) is not skipped as «sin cambios» and stores the native grid again
    assert import_layer(path, replace=True).layers[0].status == "reemplazada"
    layer.refresh_from_db()
    with rasterio.open(layer.raster_path) as src:
        assert src.crs.to_epsg() == 9377 and src.transform == t
