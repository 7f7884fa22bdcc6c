"""OGC API – Features Part 2 (CRS by reference): the CRSs the service offers, by their OGC URI.

Storage is EPSG:4326 (lon/lat order in PostGIS). CRS84 is the default of OGC API – Features (lon, lat);
EPSG:4326 by reference means (lat, lon) axis order, so its coordinates are flipped; EPSG:9377
(MAGNA-SIRGAS Origen Nacional, metres) is where the project measures; EPSG:3857 for web clients.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from geosig.errors import InvalidParameter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class CRS:
    uri: str
    srid: int
    flip: bool  # EPSG:4326 by reference is (lat, lon)
    decimals: int  # coordinates in the answer: 6 decimals of a degree ≈ 0.1 m; 2 of a metre = 1 cm

    @property
    def geographic(self) -> bool:
        return self.srid == 4326


SUPPORTED = {c.uri: c for c in (
    CRS(CRS84, 4326, False, 6),
    CRS("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True, 6),
    CRS("http://www.opengis.net/def/crs/EPSG/0/9377", 9377, False, 2),
    CRS("http://www.opengis.net/def/crs/EPSG/0/3857", 3857, False, 2),
)}
# the short forms people type (EPSG:9377) name the same CRSs
ALIASES = {"CRS84": CRS84, "OGC:CRS84": CRS84, **{f"EPSG:{c.srid}": uri for uri, c in SUPPORTED.items() if c.srid != 4326},
           "EPSG:4326": "http://www.opengis.net/def/crs/EPSG/0/4326"}


def parse(value, name: str = "crs") -> CRS:
    """A CRS URI (or EPSG:n short form) among the supported ones; absent → CRS84."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return SUPPORTED[CRS84]
    text = str(value).strip().strip("[]<>")
    uri = ALIASES.get(text.upper(), text)
    crs = SUPPORTED.get(uri)
    if crs is None:
        raise InvalidParameter(
            _("«%(name)s» no es un sistema de referencia ofrecido; recibido %(value)s. Válidos: %(valid)s.")
            % {"name": name, "value": repr(text[:80]), "valid": ", ".join(SUPPORTED)}, parameter=name)
    return crs


def uris() -> list[str]:
    return list(SUPPORTED)
