"""The offline context map: the project's own data drawn under every map of the site.

One vector tile per XYZ address (``/api/v1/context/tiles/{z}/{x}/{y}.pbf``) carries five MVT layers
built in PostGIS by one query:

- ``departamento``: the department's boundary (a line), at every zoom;
- ``municipios``: municipal boundaries (lines) from zoom 7;
- ``rio``: the Río Cauca (layers app, slug ``rio-cauca``) from zoom 6;
- ``vias``: the national road network (slug ``red-vial-nacional``) from zoom 7;
- ``cabeceras``: the municipal seats (points with their name and latest urban population, which
  decides which label wins where labels would overlap) from zoom 8, drawn as text labels.

Boundaries travel as LINES (``ST_Boundary``), not polygons: a polygon clipped to a tile would draw
the tile's edges as a stroke. Lines are simplified to half a screen pixel for the zoom, so a z8 view
of the Valle is a few KB. Relief is a separate PNG tile set (``/api/v1/context/relief/…``), the DEM's
hillshade (layers.services.hillshade), which exists only south of 4°N because the DEM does.

This lives in ``territorial`` because it joins municipalities with layers of the ``layers`` app,
which must not know municipalities (the import contract ``cities → territorial → layers → geosig``).
Each tile is memoised per data version (geosig.versioned): the territory's version plus the update
time of each layer used.
"""
from __future__ import annotations

from django.db import connection
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _

from geosig import versioned
from layers.models import Layer
from layers.services.hillshade import hillshade_tile
from layers.services.tiles import check_tile, tolerance_m

RIVER_SLUG = "rio-cauca"
ROADS_SLUG = "red-vial-nacional"
DEM_SLUG = "dem-srtm3"
EXTENT = 4096
BUFFER = 64
MIN_ZOOM = {"municipios": 7, "rio": 6, "vias": 7, "cabeceras": 8}
MVT_LAYERS = ("departamento", "municipios", "rio", "vias", "cabeceras")

CONTEXT_SQL = """
WITH t AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env),
t4 AS (SELECT env, ST_Transform(env, 4326) AS env4 FROM t),
departamento AS (
  SELECT d.code AS codigo,
         ST_AsMVTGeom(ST_Simplify(ST_Boundary(ST_Transform(d.geom, 3857)), %(tol)s), t4.env, {e}, {b}, true) AS geom
  FROM territorial_department d, t4 WHERE d.geom && t4.env4),
municipios AS (
  SELECT m.divipola, m.name AS nombre,
         ST_AsMVTGeom(ST_Simplify(ST_Boundary(ST_Transform(m.geom, 3857)), %(tol)s), t4.env, {e}, {b}, true) AS geom
  FROM territorial_municipality m, t4 WHERE %(z)s >= %(z_mun)s AND m.geom && t4.env4),
rio AS (
  SELECT ST_AsMVTGeom(ST_Simplify(ST_Transform(f.geom, 3857), %(tol)s), t4.env, {e}, {b}, true) AS geom
  FROM layers_feature f, t4 WHERE %(z)s >= %(z_rio)s AND f.layer_id = %(river)s AND f.geom && t4.env4),
vias AS (
  SELECT COALESCE(f.attributes ->> 'route', '') AS ruta,
         ST_AsMVTGeom(ST_Simplify(ST_Transform(f.geom, 3857), %(tol)s), t4.env, {e}, {b}, true) AS geom
  FROM layers_feature f, t4 WHERE %(z)s >= %(z_vias)s AND f.layer_id = %(roads)s AND f.geom && t4.env4),
cabeceras AS (
  SELECT m.divipola, m.cabecera_name AS nombre, m.name AS municipio,
         COALESCE((SELECT v.value FROM territorial_indicatorvalue v JOIN territorial_indicator i ON i.id = v.indicator_id
                   WHERE i.code = 'poblacion_cabecera' AND v.municipality_id = m.id ORDER BY v.year DESC LIMIT 1), 0)
           AS poblacion,
         ST_AsMVTGeom(ST_Transform(m.cabecera, 3857), t4.env, {e}, 0, true) AS geom
  FROM territorial_municipality m, t4 WHERE %(z)s >= %(z_cab)s AND m.cabecera && t4.env4)
SELECT (SELECT COALESCE(ST_AsMVT(q, 'departamento', {e}, 'geom'), '') FROM departamento q WHERE q.geom IS NOT NULL)
    || (SELECT COALESCE(ST_AsMVT(q, 'municipios', {e}, 'geom'), '') FROM municipios q WHERE q.geom IS NOT NULL)
    || (SELECT COALESCE(ST_AsMVT(q, 'rio', {e}, 'geom'), '') FROM rio q WHERE q.geom IS NOT NULL)
    || (SELECT COALESCE(ST_AsMVT(q, 'vias', {e}, 'geom'), '') FROM vias q WHERE q.geom IS NOT NULL)
    || (SELECT COALESCE(ST_AsMVT(q, 'cabeceras', {e}, 'geom'), '') FROM cabeceras q WHERE q.geom IS NOT NULL)
""".format(e=EXTENT, b=BUFFER)


def _layers() -> dict[str, Layer]:
    return {lyr.slug: lyr for lyr in Layer.objects.filter(slug__in=[RIVER_SLUG, ROADS_SLUG, DEM_SLUG]).only(
        "id", "slug", "kind", "updated_at", "raster_file", "raster_meta")}


def _stamp(layer: Layer | None):
    return (layer.pk, layer.updated_at.isoformat()) if layer else None


def context_tile(z: int, x: int, y: int) -> tuple[bytes, bytes, str]:
    """(body, gzipped body, etag) of the context vector tile z/x/y, built once per data version."""
    check_tile(z, x, y)
    layers = _layers()
    river, roads = layers.get(RIVER_SLUG), layers.get(ROADS_SLUG)
    key = (z, x, y, versioned.version("territorial"), _stamp(river), _stamp(roads))

    def build() -> bytes:
        params = {"z": z, "x": x, "y": y, "tol": tolerance_m(z), "river": river.pk if river else -1,
                  "roads": roads.pk if roads else -1, "z_mun": MIN_ZOOM["municipios"], "z_rio": MIN_ZOOM["rio"],
                  "z_vias": MIN_ZOOM["vias"], "z_cab": MIN_ZOOM["cabeceras"]}
        with connection.cursor() as cur:
            cur.execute(CONTEXT_SQL, params)
            row = cur.fetchone()
        return bytes(row[0]) if row and row[0] is not None else b""

    return versioned.memo("context-tiles", key, build)


def relief_layer() -> Layer | None:
    dem = _layers().get(DEM_SLUG)
    return dem if dem is not None and dem.kind == Layer.Kind.RASTER and dem.raster_file else None


def relief_tile(z: int, x: int, y: int) -> tuple[bytes, bytes, str] | None:
    """(body, gzipped body, etag) of the hillshade PNG tile, or None when no DEM is loaded."""
    check_tile(z, x, y)
    dem = relief_layer()
    if dem is None:
        return None
    return versioned.memo("context-relief", (z, x, y, _stamp(dem)), lambda: hillshade_tile(dem, z, x, y))


def map_context(request) -> dict:
    """What every map page needs to draw the context (geosig.context hook): URLs, names, attribution."""
    tiles = reverse("context-tiles", args=[0, 0, 0]).replace("/0/0/0.", "/{z}/{x}/{y}.")
    relief = reverse("context-relief", args=[0, 0, 0]).replace("/0/0/0.", "/{z}/{x}/{y}.")
    return {
        "config": {"context": {
            "tiles": tiles, "relief": relief, "name": _("Contexto (datos propios)"),
            "attribution": _("Límites MGN (DANE), río WDB II, vías TravelMapping. Relieve: SRTM, sólo al sur de 4°N"),
        }},
        "scripts": [static("layers/mvt.js"), static("territorial/context_map.js")],
        "styles": [static("territorial/context_map.css")],
    }
