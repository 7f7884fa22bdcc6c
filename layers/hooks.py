"""Area resolvers: how an overlay request names a polygon by code instead of sending its geometry.

``layers`` knows nothing of municipalities. Apps that own named areas (``territorial``) register a
resolver here from their ``AppConfig.ready()``; the overlay API then accepts ``{"area": {"kind":
"municipio", "code": "76001"}}``. Registering a dict entry, not an if/elif, keeps the dependency one way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.contrib.gis.geos import GEOSGeometry

from geosig.errors import InvalidParameter, NotFound


@dataclass(frozen=True)
class AreaResolver:
    kind: str
    label: object  # lazy translation
    resolve: Callable[[str], GEOSGeometry | None]  # code → geometry (EPSG:4326) or None
    choices: Callable[[], list[tuple[str, str]]]  # [(code, name)] for pickers
    resolve_many: Callable[[list[str]], dict] | None = None  # codes → {code: geometry}, one query for many


AREA_RESOLVERS: dict[str, AreaResolver] = {}


def register_area_resolver(kind: str, label, resolve, choices, resolve_many=None) -> None:
    AREA_RESOLVERS[kind] = AreaResolver(kind, label, resolve, choices, resolve_many)


def resolve_area(kind: str, code: str) -> GEOSGeometry:
    if kind not in AREA_RESOLVERS:
        valid = ", ".join(sorted(AREA_RESOLVERS)) or "(ninguno registrado)"
        raise InvalidParameter(f"Tipo de área desconocido «{kind}». Valores válidos: {valid}.")
    geom = AREA_RESOLVERS[kind].resolve(str(code))
    if geom is None:
        raise NotFound(f"No existe un área «{kind}» con código «{code}».")
    if geom.srid is None:
        geom.srid = 4326
    return geom


def resolve_areas(kind: str, codes: list[str]) -> list[GEOSGeometry]:
    """``resolve_area`` of many codes of one kind, in one query when the resolver offers ``resolve_many``."""
    resolver = AREA_RESOLVERS.get(kind)
    if resolver is None or resolver.resolve_many is None:
        return [resolve_area(kind, c) for c in codes]
    found = resolver.resolve_many([str(c) for c in codes])
    missing = [c for c in codes if found.get(str(c)) is None]
    if missing:
        raise NotFound(f"No existe un área «{kind}» con código «{missing[0]}».")
    out = []
    for c in codes:
        geom = found[str(c)]
        if geom.srid is None:
            geom.srid = 4326
        out.append(geom)
    return out


# Service links: apps above (ogc) add the URLs of a layer in their services (OGC API Features, Tiles, the
# catalogue record) to the layer's API answer, for the explorer's 'Añadir a QGIS' box.
SERVICE_LINKS: list[Callable] = []  # (layer, request) → {name: url}


def register_service_links(fn: Callable) -> None:
    if fn not in SERVICE_LINKS:
        SERVICE_LINKS.append(fn)


def service_links(layer, request) -> dict:
    out = {}
    for fn in SERVICE_LINKS:
        out.update(fn(layer, request))
    return out
