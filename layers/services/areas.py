"""The polygon of an overlay, clip or download: a GeoJSON geometry or a named area (resolved by a hook).

Checked at the boundary: polygonal, valid (the GEOS reason is reported), with a CRS (GeoJSON is
EPSG:4326 by definition) and touching the Valle. Returned in EPSG:4326 together with its area
measured in EPSG:9377.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

from django.conf import settings
from django.contrib.gis.gdal.error import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry

from geosig import params
from geosig.errors import InvalidGeometry, InvalidParameter, OutsideValle
from layers import hooks


@dataclass
class Area:
    geom: GEOSGeometry  # MultiPolygon, EPSG:4326
    area_m2: float
    label: str
    kind: str = "geometria"
    code: str = ""
    # the same polygon in EPSG:9377 (shapely), kept from the area measurement: the overlay cuts it into pieces
    # without projecting a detailed polygon twice
    measured: shapely.Geometry | None = field(default=None, repr=False, compare=False)


def parse_area(payload) -> Area:
    """``payload``: a GEOSGeometry, a GeoJSON geometry/Feature (dict or str), or {"kind", "code"}."""
    if isinstance(payload, dict) and "kind" in payload and "code" in payload:
        kind = params.text(payload["kind"], "kind", max_length=40, required=True)
        code = params.text(payload["code"] if not isinstance(payload["code"], int) else str(payload["code"]),
                           "code", max_length=60, required=True)
        geom = hooks.resolve_area(kind, code)
        g, measured = _checked(geom)
        return Area(g, float(measured.area), _choice_label(kind, code), kind, code, measured)
    if isinstance(payload, GEOSGeometry):
        geom = payload
    else:
        geom = _from_geojson(payload)
    g, measured = _checked(geom)
    return Area(g, float(measured.area), "Polígono dibujado", measured=measured)


def parse_named_areas(kind: str, codes: list[str]) -> list[Area]:
    """``parse_area({"kind": kind, "code": c})`` for each code, the geometries read in one query and the labels
    from one list of choices (the 42 municipalities one by one were 84 queries, 85 % of a partition overlay)."""
    geoms = hooks.resolve_areas(kind, codes)
    names = _choice_names(kind)
    out = []
    for code, geom in zip(codes, geoms):
        g, measured = _checked(geom)
        out.append(Area(g, float(measured.area), _choice_label(kind, code, names), kind, code, measured))
    return out


def _from_geojson(payload) -> GEOSGeometry:
    if payload in (None, "", {}):
        raise InvalidParameter("Falta la geometría: envíe un polígono GeoJSON o un área con «kind» y «code».")
    try:
        data = params.json_mapping(payload, "geometry") if isinstance(payload, str) else payload
        if data.get("type") == "Feature":
            data = data.get("geometry") or {}
        if data.get("type") == "FeatureCollection":
            feats = data.get("features") or []
            if len(feats) != 1:
                raise InvalidParameter("Envíe un solo polígono (la colección tiene "
                                       f"{len(feats)} elementos).")
            data = feats[0].get("geometry") or {}
        geom = GEOSGeometry(json.dumps(data))
    except InvalidParameter:
        raise
    except (ValueError, TypeError, AttributeError, RecursionError, GEOSException, GDALException) as exc:
        raise InvalidGeometry(f"La geometría no es GeoJSON válido: {exc}.") from exc
    geom.srid = 4326  # RFC 7946: GeoJSON coordinates are WGS84 lon/lat
    return geom


def _checked(geom: GEOSGeometry) -> tuple[GEOSGeometry, shapely.Geometry]:
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidGeometry(f"Se esperaba un polígono; llegó {geom.geom_type}. Tipos válidos: Polygon, MultiPolygon.")
    if geom.srid is None:
        raise InvalidParameter("La geometría no tiene CRS (SRID).")
    if geom.srid != 4326:
        geom = geom.transform(4326, clone=True)
    if geom.empty:
        raise InvalidGeometry("El polígono está vacío.")
    # the checks run on a shapely copy: GEOSGeometry.extent and the MultiPolygon copy below walk the
    # coordinates in Python (half the time of an overlay of the 42 municipalities over a 1-feature layer)
    shape = shapely.from_wkb(bytes(geom.wkb))
    x0, y0, x1, y1 = shape.bounds  # PostGIS cannot transform beyond the globe (1e308 was a 500)
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InvalidGeometry("Coordenadas fuera de rango (lon −180…180, lat −90…90, EPSG:4326): ¿están en "
                              "metros de otro sistema?")
    if not shape.is_valid:
        raise InvalidGeometry(f"El polígono no es válido: {shapely.is_valid_reason(shape)}. Corrija el dibujo "
                              "(p. ej. bordes cruzados).")
    if not shape.intersects(shapely.box(*settings.GEOSIG_VALLE_BBOX)):
        raise OutsideValle("El polígono queda completamente fuera del Valle del Cauca.")
    if shape.geom_type == "Polygon":
        geom = GEOSGeometry(memoryview(shapely.to_wkb(shapely.MultiPolygon([shape]))), srid=4326)
    return geom, _projected(shape)


@lru_cache(maxsize=4)
def _transformer(srid: int):
    # building a transformation costs ~10 ms (GEOS .transform() rebuilds it per call): build it once
    return Transformer.from_crs(4326, srid, always_xy=True)


def measured_shape(geom: GEOSGeometry) -> shapely.Geometry:
    """An EPSG:4326 geometry projected to the measuring CRS (EPSG:9377) by pyproj, as shapely."""
    return _projected(shapely.from_wkb(bytes(geom.wkb)))


def _projected(shape: shapely.Geometry) -> shapely.Geometry:
    tr = _transformer(settings.GEOSIG_MEASURE_SRID)
    return shapely.transform(shape, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def measure_area_m2(geom: GEOSGeometry) -> float:
    """Area of an EPSG:4326 polygon in the measuring CRS (EPSG:9377)."""
    return float(measured_shape(geom).area)


def _choice_names(kind: str) -> dict:
    resolver = hooks.AREA_RESOLVERS.get(kind)
    try:
        return dict(resolver.choices()) if resolver else {}
    except Exception:  # a picker list is a nicety; the code alone still identifies the area
        return {}


def _choice_label(kind: str, code: str, names: dict | None = None) -> str:
    """«Municipio: Cali»; ``names`` (``_choice_names``) read once by a caller labelling many codes."""
    resolver = hooks.AREA_RESOLVERS.get(kind)
    names = _choice_names(kind) if names is None else names
    return f"{resolver.label if resolver else kind}: {names.get(code, code)}"
