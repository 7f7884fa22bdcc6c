"""Identify: what every requested layer holds at a clicked point.

Polygons answer if they contain the point; lines and points if they pass within a few screen pixels
at the map's zoom (measured on the ellipsoid); rasters give the cell value (nodata → none).
"""
from __future__ import annotations

import json
import math

import numpy as np
import rasterio
import rasterio.warp
from django.db import connection

from geosig import params
from layers.models import Layer
from layers.services.selection import layers_by_slug

PIXELS = 6
MAX_FEATURES = 10

SQL_CONTAINS = """
SELECT f.id, f.fid, f.class_value, f.attributes, 0.0
FROM layers_feature f
WHERE f.layer_id = %(layer)s AND ST_Intersects(f.geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
ORDER BY f.fid LIMIT %(limit)s
"""
SQL_NEAR = """
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g)
SELECT f.id, f.fid, f.class_value, f.attributes, ST_Distance(f.geom::geography, p.g::geography) AS d
FROM layers_feature f, p
WHERE f.layer_id = %(layer)s AND f.geom && ST_Expand(p.g, %(deg)s)
  AND ST_DWithin(f.geom::geography, p.g::geography, %(tol)s)
ORDER BY d LIMIT %(limit)s
"""


def identify(lon, lat, *, layers=None, zoom=None) -> dict:
    """``lon``/``lat`` in degrees, ``zoom`` 0–22 (default 12), ``layers`` slugs (list or "a,b"; default all):
    raw request values are accepted and checked by ``geosig.params``."""
    lon, lat = params.lonlat(lon, lat)
    zoom = params.number(zoom, "zoom", default=12, minimum=0, maximum=22)
    chosen = layers_by_slug(params.text_list(layers, "layers", max_length=80) or None)
    tol = PIXELS * 156543.03392 * math.cos(math.radians(lat)) / (2 ** zoom)
    out = []
    for layer in chosen:
        entry = {"slug": layer.slug, "title": layer.title, "kind": layer.kind}
        if layer.kind == Layer.Kind.RASTER:
            entry["value"] = _sample(layer, lon, lat)
            entry["unit"] = layer.raster_meta.get("unit", "")
        else:
            entry["features"] = _features(layer, lon, lat, tol)
        out.append(entry)
    return {"lon": lon, "lat": lat, "tolerance_m": tol, "layers": out}


def _features(layer: Layer, lon: float, lat: float, tol: float) -> list[dict]:
    sql = SQL_CONTAINS if layer.geometry_type == "polygon" else SQL_NEAR
    params = {"layer": layer.pk, "lon": lon, "lat": lat, "tol": tol, "limit": MAX_FEATURES,
              "deg": tol / 100_000.0}  # ≥ tol in degrees near the equator (1° ≈ 110 km)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return [{"id": r[0], "fid": r[1], "class": r[2], "distance_m": float(r[4]),
             "attributes": r[3] if isinstance(r[3], dict) else json.loads(r[3])} for r in rows]


def _sample(layer: Layer, lon: float, lat: float):
    b = layer.raster_meta.get("bounds") or [0, 0, 0, 0]
    if not (b[0] <= lon <= b[2] and b[1] <= lat <= b[3]):
        return None
    with rasterio.open(layer.raster_path, driver="GTiff") as src:  # stored COG: GeoTIFF driver only
        x, y = (lon, lat)
        if src.crs is not None and src.crs.to_epsg() != 4326:  # stored in its source CRS
            xs, ys = rasterio.warp.transform("EPSG:4326", src.crs, [lon], [lat])
            x, y = xs[0], ys[0]
        value = next(src.sample([(x, y)], masked=True))[0]
    if value is None or value is np.ma.masked:
        return None
    return float(value)

