"""Overlay summary: what each environmental layer holds inside one polygon.

Polygon layers → area and % of the polygon per class; line layers → length per class; point layers →
count per class; rasters → zonal statistics. Everything is measured in EPSG:9377.

Polygon layers (their polygons are stored at import as ST_Subdivide pieces of ≤ 256 vertices in EPSG:9377,
``FeaturePiece``): the area is cut into pieces too (``_area_pieces``, in Python, from the EPSG:9377 shape that
``parse_area`` projects with pyproj, as geopandas' ``to_crs`` does), and each pair of pieces whose boxes overlap
is measured once in SQL: a layer piece covered by the area piece counts whole, a crossing one is cut. GEOS pays
for every vertex of both inputs on each cut, so small pieces on both sides make a 200,000-vertex protected area
cheap; pieces of one side do not overlap, so the sums are the intersection areas (to rounding, 1e-14 relative
against geopandas.overlay in bench/bench_overlay_detailed.py). ``overlay_summary_many`` measures many areas in
one query per layer.

Areas named as members of a reporting partition (``PartitionArea("municipios", "76001")``, ``layers.partitions``)
over a polygon layer whose pieces were pre-cut along that partition at import (``PartitionPiece``): the stored
areas are summed per member and class in one query, exact, with nothing cut at request time (a layer × the 42
municipalities). A layer not yet cut along the partition takes the path above.

Line and point layers, and polygon layers without pieces: the features crossing the polygon's edge are cut, the
ones it covers contribute the measure taken at import (``Feature.area_m2``/``length_m``, EPSG:9377). The test is
written ``ST_Covers(area, feature)`` — constant first — so PostGIS prepares the area polygon once per query
(``ST_CoveredBy(feature, area)`` measured 3× slower); a detailed area (more than ``SUBDIVIDE_ABOVE`` vertices) is
cut with ST_Subdivide for a polygon layer without stored pieces.
"""
from __future__ import annotations

import gc
import json

import numpy as np
import psycopg
import shapely
from django.conf import settings
from django.db import connection, transaction

from geosig import params
from geosig.errors import InvalidParameter, NotFound
from layers.models import FeaturePiece, Layer, PartitionBuild, PartitionPiece
from layers.partitions import PartitionArea, get_partition, partition_of_kind
from layers.services.areas import Area, measured_shape, parse_area, parse_named_areas
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

# Polygon layers with pieces stored at import (FeaturePiece), for one or many areas in one query. The areas come
# as pieces too (``_area_pieces``: each ≤ AREA_PIECE_VERTICES vertices, EPSG:9377), one GEOMETRYCOLLECTION and the
# area index of each member. Every (area piece, layer piece) pair whose boxes overlap is measured once: a layer
# piece covered by the area piece counts whole (ST_Covers with the area piece first: PostGIS prepares it once for
# the index scan's run of layer pieces; the piece's box is tried first, 5 vertices instead of up to 256: −40 % on
# the 42 municipalities over the 200,000-vertex area), a crossing one is cut; pieces of a side do not overlap, so the sums are
# the intersection areas. No whole feature or whole area is ever cut, prepared or subdivided in SQL (ST_Subdivide
# of a 200,000-vertex area took 2–3 s). MATERIALIZED: the measure is computed once per pair, not again in the
# aggregate.
SQL_STORED_PIECES = """
WITH s AS MATERIALIZED (
    SELECT (%(k)s::int[])[(d.path)[1]] AS k, d.geom AS g FROM ST_Dump(ST_GeomFromEWKB(%(g)s)) d),
pair AS MATERIALIZED (
    SELECT s.k, p.feature_id,
           CASE WHEN ST_Covers(s.g, ST_Envelope(p.geom)) OR ST_Covers(s.g, p.geom) THEN ST_Area(p.geom)
                WHEN ST_Intersects(s.g, p.geom) THEN ST_Area(ST_Intersection(s.g, p.geom)) END AS m
    FROM s JOIN layers_featurepiece p ON p.geom && s.g
    WHERE p.layer_id = %(layer)s),
per AS (SELECT k, feature_id, SUM(m) AS m FROM pair WHERE m IS NOT NULL GROUP BY k, feature_id)
SELECT per.k, f.class_value, SUM(per.m) AS measure, COUNT(*) AS n
FROM per JOIN layers_feature f ON f.id = per.feature_id
GROUP BY per.k, f.class_value
ORDER BY per.k, measure DESC, f.class_value
"""
AREA_PIECE_VERTICES = 512  # measured on the 200,000-vertex bench area: 256 → more pairs, 1024 → dearer cuts


# Polygon layers pre-cut along a partition: the stored areas summed per member and class (features counted once).
SQL_PARTITION = """
SELECT pp.member, f.class_value, SUM(pp.area) AS measure, COUNT(DISTINCT pp.feature_id) AS n
FROM {table} pp JOIN layers_feature f ON f.id = pp.feature_id
WHERE pp.partition = %(partition)s AND pp.layer_id = %(layer)s AND pp.member = ANY(%(members)s)
GROUP BY pp.member, f.class_value
ORDER BY pp.member, measure DESC, f.class_value
"""


def overlay_summary(area, *, layers: list[str] | None = None) -> dict:
    """``area``: GeoJSON polygon, GEOSGeometry, {"kind", "code"} or PartitionArea; ``layers``: slugs (default:
    all)."""
    return overlay_summary_many([area], layers=layers)[0]


def overlay_summary_many(areas: list, *, layers: list[str] | None = None) -> list[dict]:
    """``overlay_summary`` of each area, in the order given, measured together: one query per polygon layer for
    all the areas (a layer × the 42 municipalities is one query, not 42)."""
    if not areas:
        raise InvalidParameter("Falta el área: envíe al menos un polígono o un área con «kind» y «code».")
    members = [_as_member(a) for a in areas]
    areas = [m or a for a, m in zip(areas, members)]
    named = _partition_areas([m for m in members if m is not None])
    targets: list[Area] = [a if isinstance(a, Area) else named[a] if isinstance(a, PartitionArea)
                           else parse_area(a) for a in areas]
    qs = Layer.objects.only("id", "slug", "title", "kind", "geometry_type", "class_field", "is_partial", "caveat",
                            "style", "raster_meta", "raster_file")
    chosen = layers_by_slug(layers, qs)
    per_layer = []  # per layer, one result per target
    for layer in chosen:
        if layer.kind == Layer.Kind.RASTER:
            per_layer.append([{**_meta(layer), "stats": zonal_stats(layer, t.geom)[0]} for t in targets])
        else:
            meta = _meta(layer)
            per_layer.append([{**meta, **r} for r in _vector(layer, targets, members)])
    return [{
        "area": {"label": t.label, "kind": t.kind, "code": t.code,
                 "area_m2": t.area_m2, "area_km2": t.area_m2 / 1e6,
                 "measure_srid": settings.GEOSIG_MEASURE_SRID,
                 "geometry": _geojson(t.geom)},  # so a picked area can be drawn
        "layers": [results[i] for results in per_layer],
    } for i, t in enumerate(targets)]


def _as_member(a) -> PartitionArea | None:
    """A named area that is a partition member ({"kind": "municipio", "code": "76001"}) is measured as one."""
    if isinstance(a, PartitionArea):
        return a
    if isinstance(a, dict) and "kind" in a and "code" in a:
        # the same checks as parse_area's named areas (text, no control characters such as NUL, ≤ 60): the
        # code goes into a query (CI's bad-input battery sent "\x00" and PostgreSQL refused it with a 500)
        kind = params.text(a["kind"], "kind", max_length=40, required=True)
        name = partition_of_kind(kind)
        if name:
            raw = a["code"] if not isinstance(a["code"], int) else str(a["code"])
            return PartitionArea(name, params.text(raw, "code", max_length=60, required=True))
    return None


def _partition_areas(wanted: list[PartitionArea]) -> dict[PartitionArea, Area]:
    """The Area of each partition member: through the partition's area resolver (label and checks as any named
    area, all of a kind in one query), or else from the partition's own members (EPSG:9377)."""
    out: dict[PartitionArea, Area] = {}
    for name in dict.fromkeys(a.partition for a in wanted):
        part = get_partition(name)
        mine = list(dict.fromkeys(a for a in wanted if a.partition == name))
        if part.area_kind:
            out.update(zip(mine, parse_named_areas(part.area_kind, [a.member for a in mine])))
            continue
        geoms = part.members()
        for a in mine:
            if geoms.get(a.member) is None:
                raise NotFound(f"La partición «{name}» no tiene el miembro «{a.member}».")
            out[a] = parse_area(geoms[a.member].transform(4326, clone=True))
    return out


def _vector(layer: Layer, targets: list[Area], members: list | None = None) -> list[dict]:
    if layer.geometry_type not in _MEASURE:
        raise InvalidParameter(f"Tipo de geometría «{layer.geometry_type}» sin medida de superposición.")
    unit, cut, inside = _MEASURE[layer.geometry_type]
    members = members or [None] * len(targets)
    if unit == "area_m2" and FeaturePiece.objects.filter(layer=layer).exists():
        built = set(PartitionBuild.objects.filter(layer=layer).values_list("partition", flat=True))
        rows: list = [None] * len(targets)
        by_partition: dict[str, list[int]] = {}
        for i, m in enumerate(members):
            if m is not None and m.partition in built:
                by_partition.setdefault(m.partition, []).append(i)
        for name, idx in by_partition.items():
            for i, r in zip(idx, _partition_rows(layer, name, [members[i].member for i in idx])):
                rows[i] = r
        rest = [i for i, r in enumerate(rows) if r is None]
        if rest:
            for i, r in zip(rest, _stored_pieces_rows(layer, [targets[i] for i in rest])):
                rows[i] = r
    else:
        rows = [_rows(layer, t, unit, cut, inside) for t in targets]
    return [_classes(layer, t, unit, r) for t, r in zip(targets, rows)]


def _partition_rows(layer: Layer, partition: str, keys: list[str]) -> list[list]:
    sql = SQL_PARTITION.format(table=PartitionPiece._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(sql, {"partition": partition, "layer": layer.pk, "members": sorted(set(keys))})
        found = cur.fetchall()
    by_member: dict[str, list] = {}
    for member, value, measure, n in found:
        by_member.setdefault(member, []).append((value, measure, n))
    return [by_member.get(k, []) for k in keys]


def _stored_pieces_rows(layer: Layer, targets: list[Area]) -> list[list]:
    pieces, keys = [], []
    for i, t in enumerate(targets):
        shape = t.measured if t.measured is not None else measured_shape(t.geom)
        own = _area_pieces(shape)
        pieces.extend(own)
        keys.extend([i] * len(own))
    srid = settings.GEOSIG_MEASURE_SRID
    gc = shapely.set_srid(shapely.GeometryCollection(pieces), srid)
    found = _server_bound(SQL_STORED_PIECES, {"g": shapely.to_wkb(gc, include_srid=True), "k": keys, "layer": layer.pk})
    rows: list[list] = [[] for _ in targets]
    for k, value, measure, n in found:
        rows[k].append((value, measure, n))
    return rows


def _server_bound(sql: str, params: dict) -> list:
    """Run ``sql`` with its parameters bound by the server. Django's psycopg cursors bind on the client: a
    200,000-vertex area became a 6 MB hex literal in the SQL text, 0.15 s to send and parse before any work.
    JIT off: PostGIS functions declare costs that make every such query look worth compiling (~40 ms)."""
    connection.ensure_connection()
    # wrap_database_errors: a failure surfaces as Django's DatabaseError, as through connection.cursor()
    with transaction.atomic(), connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cur:
        cur.execute("SET LOCAL jit = off")
        cur.execute(sql, params, binary=True)
        return cur.fetchall()


def _area_pieces(shape, max_vertices: int = AREA_PIECE_VERTICES) -> list:
    """The polygons of ``shape`` (EPSG:9377) cut into pieces of ≤ ``max_vertices`` vertices: the box of a
    piece with more is halved across its longer side (GEOS clip_by_rect, linear in the vertices), as ST_Subdivide
    does, ~10× faster on a 200,000-vertex area. The pieces tile the area (their areas add up to its area).

    clip_by_rect does not promise valid output; a piece that is not valid is cut again by a full intersection."""
    out = []  # (piece, its box)
    stack = [(shape, shape.bounds, 0)]
    while stack:
        g, box, depth = stack.pop()
        if shapely.get_num_coordinates(g) <= max_vertices or depth >= 64:
            out.extend((p, box) for p in shapely.get_parts(g) if p.geom_type == "Polygon" and not p.is_empty)
            continue
        x0, y0, x1, y1 = g.bounds
        if x1 - x0 >= y1 - y0:
            xm = (x0 + x1) / 2
            halves = [(x0, y0, xm, y1), (xm, y0, x1, y1)]
        else:
            ym = (y0 + y1) / 2
            halves = [(x0, y0, x1, ym), (x0, ym, x1, y1)]
        for h in halves:
            part = shapely.clip_by_rect(g, *h)
            if not part.is_empty:
                stack.append((part, h, depth + 1))
    if len(out) == 1 or not out:
        return [p for p, _ in out]
    pieces = np.array([p for p, _ in out], dtype=object)
    for i in np.flatnonzero(~shapely.is_valid(pieces)):
        pieces[i] = shapely.intersection(shape, shapely.box(*out[i][1]))
    return [p for g in pieces for p in shapely.get_parts(g) if p.geom_type == "Polygon" and not p.is_empty]


def _rows(layer: Layer, target: Area, unit: str, cut: str, inside: str) -> list:
    srid = settings.GEOSIG_MEASURE_SRID
    g9 = G9.format(srid=srid)
    if unit == "area_m2" and target.geom.num_coords > SUBDIVIDE_ABOVE:
        sql = SQL_PIECES.format(srid=srid, inside=inside, g9=g9)
    else:
        sql = SQL.format(srid=srid, inside=inside, cut=cut.format(g9=g9))
    with connection.cursor() as cur:
        cur.execute(sql, {"g": bytes(target.geom.ewkb), "layer": layer.pk, "piece": PIECE_VERTICES})
        return cur.fetchall()


def _classes(layer: Layer, target: Area, unit: str, rows: list) -> dict:
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


def _geojson(geom) -> dict:
    """GeoJSON of an EPSG:4326 polygon, built from coordinate arrays (GDAL's writer + json.loads took 1 s for a
    200,000-vertex area)."""
    shape = shapely.from_wkb(bytes(geom.wkb))
    if shape.geom_type not in ("Polygon", "MultiPolygon"):
        return json.loads(geom.geojson)
    # 10⁵ small lists would wake the cyclic garbage collector over the whole heap again and again (3× the time);
    # lists of floats hold no cycles
    paused = gc.isenabled()
    gc.disable()
    try:
        if shape.geom_type == "Polygon":
            return {"type": "Polygon", "coordinates": _rings(shape)}
        return {"type": "MultiPolygon", "coordinates": [_rings(p) for p in shape.geoms]}
    finally:
        if paused:
            gc.enable()


def _rings(poly) -> list:
    return [shapely.get_coordinates(r, include_z=poly.has_z).tolist() for r in (poly.exterior, *poly.interiors)]


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
