"""Vector download formats as a registry: add a format by adding one writer, not an if/elif branch."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import geopandas as gpd

from geosig.errors import InvalidParameter


@dataclass(frozen=True)
class VectorFormat:
    extension: str
    content_type: str
    write: Callable[[gpd.GeoDataFrame, str], bytes]


def _via_file(driver: str, suffix: str):
    def write(gdf: gpd.GeoDataFrame, layer: str) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{layer}{suffix}"
            kwargs = {"layer": layer} if driver == "GPKG" else {}
            gdf.to_file(path, driver=driver, engine="pyogrio", **kwargs)
            return path.read_bytes()

    return write


FORMATS: dict[str, VectorFormat] = {
    "gpkg": VectorFormat("gpkg", "application/geopackage+sqlite3", _via_file("GPKG", ".gpkg")),
    "geojson": VectorFormat("geojson", "application/geo+json", _via_file("GeoJSON", ".geojson")),
}


def get_format(name: str) -> VectorFormat:
    fmt = FORMATS.get((name or "").lower())
    if fmt is None:
        raise InvalidParameter(f"Formato desconocido {name!r}. Válidos: {', '.join(sorted(FORMATS))}.")
    return fmt


def write_vector(gdf: gpd.GeoDataFrame, fmt: str, layer: str) -> tuple[bytes, VectorFormat]:
    if gdf.crs is None:
        raise InvalidParameter("La capa no tiene CRS; no se exporta sin él.")
    f = get_format(fmt)
    return f.write(gdf, layer), f
