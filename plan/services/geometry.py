"""A project's geometry (point, line or polygon, single or multi) and the municipalities it lies in.

Geometries are stored in EPSG:4326; shares are measured in EPSG:9377 (metres). A municipality is assigned
when it contains a point of the project, or holds at least ``MIN_SHARE`` of its length (lines) or area
(polygons): the municipal limits are generalised (DANE MGN, ~47 vertices each), so a polygon drawn along a
limit touches its neighbour in slivers that are not a real presence there. The office can edit the result.
"""
from __future__ import annotations

import json

from django.contrib.gis.gdal.error import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.utils.translation import gettext as _

from geosig.errors import CRSMismatch, InvalidGeometry, OutsideValle

MIN_SHARE = 0.01
ALLOWED = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")
MAX_VERTICES = 100_000


def parse(value, *, srid: int | None = None) -> GEOSGeometry:
    """A GeoJSON geometry (dict or text) in lon/lat, or in ``srid`` when declared, as EPSG:4326."""
    if isinstance(value, dict):
        value = json.dumps(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidGeometry(_("La geometría debe ser un objeto GeoJSON (Point, LineString, Polygon o sus Multi)."))
    try:
        geom = GEOSGeometry(value)
    except (GEOSException, GDALException, ValueError, TypeError) as exc:
        raise InvalidGeometry(_("No se pudo leer la geometría: %(e)s") % {"e": str(exc)[:200]}) from None
    return check(geom, srid=srid)


def check(geom: GEOSGeometry, *, srid: int | None = None) -> GEOSGeometry:
    if geom.geom_type not in ALLOWED:
        raise InvalidGeometry(_("Tipo de geometría «%(t)s» no admitido; válidos: %(v)s.")
                              % {"t": geom.geom_type, "v": ", ".join(ALLOWED)})
    if geom.empty:
        raise InvalidGeometry(_("La geometría está vacía."))
    if geom.num_coords > MAX_VERTICES:
        raise InvalidGeometry(_("La geometría tiene demasiados vértices (máximo %(n)s).") % {"n": MAX_VERTICES})
    if srid and srid != 4326:
        geom.srid = srid
        try:
            geom = geom.transform(4326, clone=True)  # the CRS declared at the boundary, reprojected explicitly
        except (GDALException, GEOSException, ValueError) as exc:
            raise CRSMismatch(_("No se pudo reproyectar desde EPSG:%(s)s: %(e)s") % {"s": srid, "e": str(exc)[:120]}) from None
    geom.srid = 4326
    if not geom.valid:
        raise InvalidGeometry(_("Geometría no válida: %(r)s") % {"r": geom.valid_reason})
    x0, y0, x1, y1 = geom.extent
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InvalidGeometry(_("Coordenadas fuera de rango: se esperan longitud y latitud (EPSG:4326)."))
    return geom


def _measure(geom: GEOSGeometry) -> float:
    return geom.area if geom.dims == 2 else geom.length


def municipalities_for(geom: GEOSGeometry) -> list:
    """The municipalities the project lies in (see the module's rule), in DIVIPOLA order."""
    from territorial.models import Municipality

    candidates = list(Municipality.objects.filter(geom__intersects=geom).order_by("divipola"))
    if not candidates:
        raise OutsideValle(_("La geometría del proyecto no cae en ningún municipio del Valle del Cauca."))
    if geom.dims == 0:
        return candidates
    metric = geom.transform(9377, clone=True)
    total = _measure(metric)
    out = []
    for m in candidates:
        part = m.geom.transform(9377, clone=True).intersection(metric)
        if total > 0 and _measure(part) / total >= MIN_SHARE:
            out.append(m)
    return out or candidates[:1]


def from_upload(content: bytes, filename: str) -> GEOSGeometry:
    """The project geometry from an uploaded GeoPackage, zipped Shapefile or GeoJSON, read through the safe
    readers (geosig.readers via the POT exchange reader: content vs extension, CRS required, reprojected to
    EPSG:4326); all its features are merged into one (multi)geometry."""
    from shapely import wkb

    from territorial.pot.services.exchange import read_upload

    gdf = read_upload(content, filename)
    merged = gdf.geometry.union_all()
    return check(GEOSGeometry(memoryview(wkb.dumps(merged)), srid=4326))
