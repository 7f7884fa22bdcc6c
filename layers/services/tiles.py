"""XYZ tiles of the layers: Mapbox Vector Tiles from PostGIS and PNG tiles of rasters.

Vector tiles: ``ST_AsMVT`` over the features whose bbox meets the tile, simplified per zoom to half
a screen pixel (a 256-px tile) so low zooms stay light; points are never simplified. Each feature
carries ``id``, ``class`` (the style's class value) and ``label``; identify gives the full attributes.

Raster tiles: the COG is warped to the tile's Web-Mercator grid (GDAL reads the overview that fits)
and coloured with the layer's ramp; nodata is transparent.
"""
from __future__ import annotations

import io
import math

import numpy as np
import rasterio
from django.db import connection
from PIL import Image
from rasterio.enums import Resampling
from rasterio.transform import from_bounds
from rasterio.vrt import WarpedVRT

from geosig.errors import InvalidParameter
from layers.models import Layer
from layers.services import styles

EXTENT = 4096
BUFFER = 64
TILE_PX = 256
WORLD = 2 * math.pi * 6378137.0
MAX_ZOOM = 22

MVT_SQL = """
WITH t AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env),
t4 AS (SELECT env, ST_Transform(env, 4326) AS env4 FROM t),
q AS (
  SELECT f.id, f.class_value AS class, COALESCE(f.attributes ->> %(label)s, '') AS label,
         ST_AsMVTGeom({geom}, t4.env, {extent}, {buffer}, true) AS geom
  FROM layers_feature f, t4
  WHERE f.layer_id = %(layer)s AND f.geom && t4.env4
)
SELECT ST_AsMVT(q, %(name)s, {extent}, 'geom', 'id') FROM q WHERE q.geom IS NOT NULL
"""
GEOM_SIMPLIFIED = "ST_Simplify(ST_Transform(f.geom, 3857), %(tol)s, true)"
GEOM_RAW = "ST_Transform(f.geom, 3857)"


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidParameter(f"Nivel de zoom {z} fuera de rango (0–{MAX_ZOOM}).")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise InvalidParameter(f"La tesela {z}/{x}/{y} no existe (x e y van de 0 a {n - 1} en el zoom {z}).")


def tolerance_m(z: int) -> float:
    """Half a screen pixel of a 256-px tile at zoom ``z``, in Web-Mercator metres."""
    return WORLD / (TILE_PX * (1 << z)) / 2


def mvt_sql(layer: Layer) -> str:
    geom = GEOM_RAW if layer.geometry_type == "point" else GEOM_SIMPLIFIED
    return MVT_SQL.format(geom=geom, extent=EXTENT, buffer=BUFFER)


def vector_tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    if layer.kind != Layer.Kind.VECTOR:
        raise InvalidParameter(f"La capa «{layer.slug}» es ráster: pida teselas .png.")
    check_tile(z, x, y)
    params = {"z": z, "x": x, "y": y, "layer": layer.pk, "name": layer.slug, "tol": tolerance_m(z),
              "label": layer.label_field or layer.class_field or ""}
    with connection.cursor() as cur:
        cur.execute(mvt_sql(layer), params)
        row = cur.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def tile_bounds_3857(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    size = WORLD / (1 << z)
    minx = -WORLD / 2 + x * size
    maxy = WORLD / 2 - y * size
    return minx, maxy - size, minx + size, maxy


def tile_bounds_4326(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 1 << z

    def lat(yy):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def raster_tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    if layer.kind != Layer.Kind.RASTER:
        raise InvalidParameter(f"La capa «{layer.slug}» es vectorial: pida teselas .pbf.")
    return render_raster_tile(layer.raster_path, z, x, y, layer.style, layer.raster_meta.get("bounds"))


def render_raster_tile(path, z: int, x: int, y: int, style: dict, bounds_4326=None,
                       resampling: Resampling = Resampling.bilinear) -> bytes:
    """A GeoTIFF on the server (any CRS) warped to the 256-px Web-Mercator tile and coloured with ``style``'s ramp
    (nodata transparent); ``bounds_4326`` skips opening the file for tiles away from it. Also used for analysis
    results (Omniscape maps; their class map with ``Resampling.nearest``)."""
    check_tile(z, x, y)
    bounds = tile_bounds_3857(z, x, y)
    lon0, lat0, lon1, lat1 = tile_bounds_4326(z, x, y)
    rb = bounds_4326
    if rb and (lon1 <= rb[0] or lon0 >= rb[2] or lat1 <= rb[1] or lat0 >= rb[3]):
        return empty_png()  # no need to open the file for tiles away from the raster
    transform = from_bounds(*bounds, TILE_PX, TILE_PX)
    with rasterio.open(path, driver="GTiff") as src:  # files we wrote: GeoTIFF driver only
        nodata = src.nodata
        # bilinear for continuous surfaces when zoomed in; the overview (average) when zoomed out
        with WarpedVRT(src, crs="EPSG:3857", transform=transform, width=TILE_PX, height=TILE_PX,
                       resampling=resampling, src_nodata=nodata, nodata=nodata,
                       add_alpha=nodata is None) as vrt:
            data = vrt.read(1, masked=True)
    rgba = styles.apply_ramp(data, style)
    return encode_png(rgba)


def encode_png(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


_EMPTY = None


def empty_png() -> bytes:
    global _EMPTY
    if _EMPTY is None:
        _EMPTY = encode_png(np.zeros((TILE_PX, TILE_PX, 4), dtype="uint8"))
    return _EMPTY
