"""Overlay summary: what each environmental layer holds inside one polygon.

Polygon layers → area and % of the polygon per class; line layers → length per class; point layers →
count per class; rasters → zonal statistics. Everything is measured in EPSG:9377.

The SQL cuts only the features that cross the polygon's edge: a feature entirely covered by the
polygon contributes the area it was measured with at import (``Feature.area_m2``, EPSG:9377), so
large polygons over detailed layers do not pay for thousands of needless intersections. The test is
written ``ST_Covers(area, feature)`` — constant first — so PostGIS prepares the area polygon once per
query (``ST_CoveredBy(feature, area)`` measured 3× slower); the cut uses the stored EPSG:9377 copy.

A detailed area (more than ``SUBDIVIDE_ABOVE`` vertices, e.g. a protected area of 10⁵ vertices) is cut into
``ST_Subdivide`` pieces first, for polygon layers, and so is each feature that crosses its edge: small pieces
whose boxes overlap are intersected, instead of whole polygons (GEOS pays for every vertex of both inputs on
each cut). Pieces do not overlap, so the sum of the piece intersections is the intersection's area (to
rounding; bench/bench_overlay_detailed.py).
"""
from __future__ import annotations

import json

from django.conf import settings
from django.db import connection

from geosig.errors import InvalidParameter
from layers.models import FeaturePiece, Layer
from layers.services.areas import Area, parse_area
from layers.services.selection import layers_by_slug
from layers.services.zonal import zonal_stats

# measure of a feature cut at the edge / of a feature wholly inside (measured at import)
_MEASURE = {
    "polygon": ("area_m2", "ST_Area(ST_Intersection({g9}, b.g9))", "f.area_m2"),
    "line": ("length_m", "ST_Length(ST_Intersection({g9}, b.g9))", "f.length_m"),
    "point": ("count", "1", "1"),
}
# layers imported before geom_measure existed fall back to projecting on the fly
G9 = "COALESCE(f.geom_measure, ST_Transform(f.geom, {srid}))"

SQL = """
WITH b AS (SELECT g4, ST_Transform(g4, {srid}) AS g9 FROM (SELECT ST_GeomFromEWKB(%(g)s) AS g4) a)
SELECT f.class_value,
       SUM(CASE WHEN ST_Covers(b.g4, f.geom) THEN {inside} ELSE {cut} END) AS measure,
       COUNT(*) AS n
FROM layers_feature f, b
WHERE f.layer_id = %(layer)s AND ST_Intersects(f.geom, b.g4)
GROUP BY f.class_value
ORDER BY measure DESC, f.class_value
"""

SUBDIVIDE_ABOVE = 5000  # vertices of the area polygon
PIECE_VERTICES = 256
# Polygon layers over a detailed area: covered features as above; the others summed over the area's pieces.
SQL_PIECES = """
WITH b AS (SELECT g4, ST_Transform(g4, {srid}) AS g9 FROM (SELECT ST_GeomFromEWKB(%(g)s) AS g4) a),
s AS MATERIALIZED (SELECT ST_Subdivide(b.g9, %(piece)s) AS p FROM b),
hit AS MATERIALIZED (
    SELECT f.id, f.class_value, ST_Covers(b.g4, f.geom) AS inside, {inside} AS whole, {g9} AS g9
    FROM layers_feature f, b WHERE f.layer_id = %(layer)s AND ST_Intersects(f.geom, b.g4)),
fp AS MATERIALIZED (SELECT h.id, ST_Subdivide(h.g9, %(piece)s) AS q FROM hit h WHERE NOT h.inside),
cut AS (SELECT fp.id, SUM(ST_Area(ST_Intersection(fp.q, s.p))) AS m FROM fp JOIN s ON fp.q && s.p GROUP BY fp.id)
SELECT h.class_value, SUM(CASE WHEN h.inside THEN h.whole ELSE COALESCE(c.m, 0) END) AS measure, COUNT(*) AS n
FROM hit h LEFT JOIN cut c ON c.id = h.id
GROUP BY h.class_value
ORDER BY measure DESC, h.class_value
"""

# Polygon layers with pieces stored at import (FeaturePiece): pieces covered by the area count whole, pieces
# crossing its edge are cut against the area (or its own pieces when it is detailed); no whole feature is cut.
SQL_STORED_PIECES = """
WITH b AS (SELECT ST_Transform(ST_GeomFromEWKB(%(g)s), {srid}) AS g9),
s AS MATERIALIZED ({area_pieces}),
hit AS MATERIALIZED (
    SELECT p.feature_id, p.geom, ST_Covers(b.g9, p.geom) AS inside
    FROM layers_featurepiece p, b WHERE p.layer_id = %(layer)s AND ST_Intersects(b.g9, p.geom)),
per AS (
    SELECT feature_id, SUM(m) AS m FROM (
        SELECT feature_id, ST_Area(geom) AS m FROM hit WHERE inside
        UNION ALL
        SELECT h.feature_id, ST_Area(ST_Intersection(h.geom, s.p)) FROM hit h JOIN s ON h.geom && s.p
        WHERE NOT h.inside) x
    GROUP BY feature_id)
SELECT f.class_value, SUM(per.m) AS measure, COUNT(*) AS n
FROM per JOIN layers_feature f ON f.id = per.feature_id
GROUP BY f.class_value
ORDER BY measure DESC, f.class_value
"""
AREA_WHOLE = "SELECT b.g9 AS p FROM b"
AREA_PIECES = "SELECT ST_Subdivide(b.g9, %(piece)s) AS p FROM b"


def overlay_summary(area, *, layers: list[str] | None = None) -> dict:
    """``area``: GeoJSON polygon, GEOSGeometry or {"kind", "code"}; ``layers``: slugs (default: all)."""
    target: Area = area if isinstance(area, Area) else parse_area(area)
    qs = Layer.objects.only("id", "slug", "title", "kind", "geometry_type", "class_field", "is_partial", "caveat",
                            "style", "raster_meta", "raster_file")
    chosen = layers_by_slug(layers, qs)
    results = []
    for layer in chosen:
        if layer.kind == Layer.Kind.RASTER:
            results.append({**_meta(layer), "stats": zonal_stats(layer, target.geom)[0]})
        else:
            results.append({**_meta(layer), **_vector(layer, target)})
    return {
        "area": {"label": target.label, "kind": target.kind, "code": target.code,
                 "area_m2": target.area_m2, "area_km2": target.area_m2 / 1e6,
                 "measure_srid": settings.GEOSIG_MEASURE_SRID,
                 "geometry": json.loads(target.geom.geojson)},  # so a picked area can be drawn
        "layers": results,
    }


def _vector(layer: Layer, target: Area) -> dict:
    if layer.geometry_type not in _MEASURE:
        raise InvalidParameter(f"Tipo de geometría «{layer.geometry_type}» sin medida de superposición.")
    unit, cut, inside = _MEASURE[layer.geometry_type]
    srid = settings.GEOSIG_MEASURE_SRID
    g9 = G9.format(srid=srid)
    detailed = target.geom.num_coords > SUBDIVIDE_ABOVE
    if unit == "area_m2" and FeaturePiece.objects.filter(layer=layer).exists():
        sql = SQL_STORED_PIECES.format(srid=srid, area_pieces=AREA_PIECES if detailed else AREA_WHOLE)
    elif unit == "area_m2" and detailed:
        sql = SQL_PIECES.format(srid=srid, inside=inside, g9=g9)
    else:
        sql = SQL.format(srid=srid, inside=inside, cut=cut.format(g9=g9))
    with connection.cursor() as cur:
        cur.execute(sql, {"g": bytes(target.geom.ewkb), "layer": layer.pk, "piece": PIECE_VERTICES})
        rows = cur.fetchall()
    colours = _class_colours(layer.style)
    classes = []
    total = 0.0
    for value, measure, n in rows:
        measure = float(measure or 0.0)
        total += measure
        row = {"value": value, "label": value or ("(sin clase)" if layer.class_field else layer.title), "color": colours.get(value), unit: measure,
               "features": n}
        if unit == "area_m2":
            row["pct_of_area"] = 100.0 * measure / target.area_m2 if target.area_m2 else None
        classes.append(row)
    out = {"measure": unit, "classes": classes, "total": total}
    if unit == "area_m2":
        out["pct_of_area"] = 100.0 * total / target.area_m2 if target.area_m2 else None
    return out


def _meta(layer: Layer) -> dict:
    return {"slug": layer.slug, "title": layer.title, "kind": layer.kind, "geometry_type": layer.geometry_type,
            "class_field": layer.class_field, "is_partial": layer.is_partial, "caveat": layer.caveat,
            "unit": layer.raster_meta.get("unit", "") if layer.kind == Layer.Kind.RASTER else ""}


def _class_colours(style: dict) -> dict:
    if style.get("type") == "categorized":
        return {c["value"]: c["color"] for c in style.get("classes", [])}
    if style.get("type") == "graduated":  # the class of a feature is its bin label
        return {c["label"]: c["color"] for c in style.get("classes", [])}
    if style.get("type") == "single":
        return {"": style.get("color")}
    return {}
