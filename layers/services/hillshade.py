"""Hillshade (shaded relief) of a DEM layer, for the offline context map.

The shading is the standard one (Burrough & McDonnell 1998, the formula of ESRI and ``gdaldem
hillshade``): Horn's 3×3 gradient, sun at azimuth 315° and altitude 45°,
``255 · (cos(zenith)·cos(slope) + sin(zenith)·sin(slope)·cos(azimuth_math − aspect))``, clipped at 0.
It is computed ONCE per DEM version (the file name carries the layer's id and update time) and kept
as a tiled, compressed GeoTIFF with overviews under MEDIA_ROOT/context/; tiles are then warped from
it like any raster layer, so a tile request never recomputes the shading.
"""
from __future__ import annotations

import io
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
import rasterio
from django.conf import settings
from PIL import Image
from pyproj import Geod
from rasterio.enums import Resampling
from rasterio.transform import from_bounds
from rasterio.vrt import WarpedVRT

from layers.models import Layer
from layers.services.tiles import TILE_PX, check_tile, empty_png, tile_bounds_3857, tile_bounds_4326

AZIMUTH = 315.0
ALTITUDE = 45.0
GREY_STEP = 4  # 64 grey levels: shown at 45 % opacity, finer steps only cost bytes on slow connections
NODATA = 0  # stored as uint8 1…255; 0 is "no relief here" (outside the DEM or next to a void)
_lock = threading.Lock()


def hillshade(z: np.ndarray, dx, dy, azimuth: float = AZIMUTH, altitude: float = ALTITUDE) -> np.ndarray:
    """Shading 0…255 (float) of elevations ``z`` (rows from north to south) with cell sizes in metres:
    ``dx`` (east–west, a scalar or one value per row) and ``dy`` (north–south). Border cells and the
    neighbours of NaN cells come out NaN: no shading is invented where the 3×3 window is incomplete."""
    z = np.asarray(z, dtype="float64")
    dx = np.broadcast_to(np.asarray(dx, dtype="float64").reshape(-1, 1) if np.ndim(dx) else dx, z.shape)
    p = np.pad(z, 1, constant_values=np.nan)
    a, b, c = p[:-2, :-2], p[:-2, 1:-1], p[:-2, 2:]
    d, f = p[1:-1, :-2], p[1:-1, 2:]
    g, h, i = p[2:, :-2], p[2:, 1:-1], p[2:, 2:]
    dz_dx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * dx)
    dz_dy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8 * dy)  # positive when the ground rises southwards
    slope = np.arctan(np.hypot(dz_dx, dz_dy))
    aspect = np.arctan2(dz_dy, -dz_dx)
    zenith = np.radians(90.0 - altitude)
    azimuth_math = np.radians((360.0 - azimuth + 90.0) % 360.0)
    shade = 255.0 * (np.cos(zenith) * np.cos(slope) + np.sin(zenith) * np.sin(slope) * np.cos(azimuth_math - aspect))
    shade[np.isnan(z)] = np.nan  # Horn's window skips the centre cell: a void must not be shaded
    return np.clip(shade, 0.0, 255.0)


def cell_size_m(transform, rows: int) -> tuple[np.ndarray, float]:
    """(east–west size per row, north–south size) in metres of a geographic grid, on the WGS84 ellipsoid."""
    geod = Geod(ellps="WGS84")
    lats = transform.f + (np.arange(rows) + 0.5) * transform.e
    lon0 = transform.c
    _, _, dx = geod.inv(np.full_like(lats, lon0), lats, np.full_like(lats, lon0 + transform.a), lats)
    mid = lats[len(lats) // 2]
    _, _, dy = geod.inv(lon0, mid, lon0, mid + transform.e)
    return np.asarray(dx), float(abs(dy))


def hillshade_path(layer: Layer) -> Path:
    stamp = int(layer.updated_at.timestamp())
    return Path(settings.MEDIA_ROOT) / "context" / f"sombreado-{layer.pk}-{stamp}.tif"


def ensure_hillshade(layer: Layer) -> Path:
    """The stored hillshade of ``layer`` (a DEM, geographic or projected), computed the first time it is asked for."""
    path = hillshade_path(layer)
    if path.is_file():
        return path
    with _lock:  # one computation per process; across processes the atomic rename keeps files whole
        if not path.is_file():
            _compute(layer, path)
    return path


def _compute(layer: Layer, path: Path) -> None:
    with rasterio.open(layer.raster_path, driver="GTiff") as src:  # stored COG: GeoTIFF driver only
        if not src.crs:
            raise ValueError("El sombreado espera un DEM con sistema de referencia.")
        dem = src.read(1, masked=True).astype("float64").filled(np.nan)
        profile, transform, crs = src.profile.copy(), src.transform, src.crs
    if crs.is_geographic:
        dx, dy = cell_size_m(transform, dem.shape[0])
    else:  # a DEM stored in its projected source CRS (metres)
        dx, dy = abs(transform.a) * crs.linear_units_factor[1], abs(transform.e) * crs.linear_units_factor[1]
    shade = hillshade(dem, dx, dy)
    out = np.where(np.isfinite(shade), np.clip(np.rint(shade), 1, 255), NODATA).astype("uint8")
    profile.update(driver="GTiff", dtype="uint8", nodata=NODATA, count=1, compress="deflate", tiled=True,
                   blockxsize=256, blockysize=256)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".tif", dir=path.parent)
    os.close(fd)
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(out, 1)
            dst.build_overviews([2, 4, 8, 16], Resampling.average)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    for old in path.parent.glob(f"sombreado-{layer.pk}-*.tif"):  # earlier versions of this DEM
        if old != path:
            old.unlink(missing_ok=True)


def hillshade_tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    """A 256-px PNG tile of the layer's hillshade: grey where there is relief, transparent elsewhere."""
    check_tile(z, x, y)
    lon0, lat0, lon1, lat1 = tile_bounds_4326(z, x, y)
    rb = layer.raster_meta.get("bounds")
    if rb and (lon1 <= rb[0] or lon0 >= rb[2] or lat1 <= rb[1] or lat0 >= rb[3]):
        return empty_png()
    transform = from_bounds(*tile_bounds_3857(z, x, y), TILE_PX, TILE_PX)
    with rasterio.open(ensure_hillshade(layer), driver="GTiff") as src:
        with WarpedVRT(src, crs="EPSG:3857", transform=transform, width=TILE_PX, height=TILE_PX,
                       resampling=Resampling.bilinear, src_nodata=NODATA, nodata=NODATA) as vrt:
            data = vrt.read(1, masked=True)
    grey = data.filled(NODATA).astype("uint8")
    alpha = np.where(np.ma.getmaskarray(data) | (grey == NODATA), 0, 255).astype("uint8")
    return encode_grey_png((grey // GREY_STEP) * GREY_STEP, alpha)


def encode_grey_png(grey: np.ndarray, alpha: np.ndarray) -> bytes:
    """Grey + alpha PNG: half the bytes of RGBA for the same image."""
    buf = io.BytesIO()
    Image.fromarray(np.dstack([grey, alpha]), mode="LA").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()
