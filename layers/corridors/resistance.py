"""Resistance surfaces from a registry of sources.

A resistance spec is a list of entries ``{"source": <name>, "weight": w, ...params, "data": <Grid or
GeoSeries>}`` (the service fills ``data`` from registry layers). The surface is

    R = base + Σ weight_i × component_i           (base = 1 by default)

and every cell where a used input has no data, or an absolute barrier lies, is nodata = impassable.
Sources (add one by adding a function to ``SOURCES``):

* ``landcover``  class raster + ``table`` {class: resistance}; component = the class's resistance (nearest-
                 neighbour resampling; a class missing from the table is an error naming it).
* ``raster``     an uploaded resistance raster (bilinear); component = its value (must be > 0).
* ``slope``      DEM → slope in degrees on the analysis grid (metres).
* ``elevation``  DEM → ``max(0, reference − z) / 1000`` (km below ``reference``, default 1500 m): the
                 cleared, farmed and urban valley floor costs more for forest fauna than the slopes.
* ``proximity``  vector features (roads, populated centres…) → ``exp(−d / scale)`` with d the distance
                 in metres to the nearest feature (1 on it, 0.37 at ``scale``).
* ``barrier``    vector features (buffered by ``buffer`` m) → component 1 inside; with ``absolute``: nodata.

Inputs in another CRS or resolution are reprojected onto the analysis grid with rasterio first, and the
notes say so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from rasterio.features import rasterize
from scipy.ndimage import distance_transform_edt

from geosig.errors import InvalidParameter
from geosig.numbers import flexible

from .grid import Grid, align


@dataclass
class Surface:
    array: np.ndarray  # float64, NaN = barrier/nodata
    recipe: list[str]
    notes: list[str] = field(default_factory=list)


def _need_grid(entry, name):
    data = entry.get("data")
    if not isinstance(data, Grid):
        raise InvalidParameter(f"La fuente «{name}» necesita un ráster (capa del registro).")
    return data


def _need_vector(entry, name):
    data = entry.get("data")
    if not isinstance(data, (gpd.GeoSeries, gpd.GeoDataFrame)):
        raise InvalidParameter(f"La fuente «{name}» necesita una capa vectorial del registro.")
    if data.crs is None:
        raise InvalidParameter(f"La capa de «{name}» no declara su CRS.")
    return data.geometry if isinstance(data, gpd.GeoDataFrame) else data


def landcover(entry, target, notes):
    lc = align(_need_grid(entry, "landcover"), target, "nearest", entry.get("label", "cobertura"))
    notes += lc.notes
    table = {float(k): float(v) for k, v in (entry.get("table") or {}).items()}
    if not table:
        raise InvalidParameter("La tabla clase → resistencia de la cobertura está vacía.")
    bad = [k for k, v in table.items() if not v > 0]
    if bad:
        raise InvalidParameter(f"Resistencias ≤ 0 en la tabla de cobertura para las clases: {', '.join(map(str, bad))}.")
    a = lc.array
    present = np.unique(a[np.isfinite(a)])
    missing = [v for v in present if float(v) not in table]
    if missing:
        raise InvalidParameter(
            "Clases de cobertura sin resistencia en la tabla: " + ", ".join(f"{v:g}" for v in missing[:20]) + "."
        )
    out = np.full(a.shape, np.nan)
    for k, v in table.items():
        out[a == k] = v
    return out, "cobertura (tabla clase → resistencia)"


def raster(entry, target, notes):
    g = align(_need_grid(entry, "raster"), target, entry.get("resampling", "bilinear"), entry.get("label", "resistencia"))
    notes += g.notes
    if np.any(g.array[np.isfinite(g.array)] <= 0):
        raise InvalidParameter("El ráster de resistencia subido tiene valores ≤ 0; la resistencia debe ser > 0.")
    return g.array, "ráster de resistencia subido"


def slope(entry, target, notes):
    dem = align(_need_grid(entry, "slope"), target, "bilinear", "DEM")
    notes += dem.notes
    gy, gx = np.gradient(dem.array, target.cell_size)
    return np.degrees(np.arctan(np.hypot(gx, gy))), "pendiente (grados, del DEM)"


def elevation(entry, target, notes):
    dem = align(_need_grid(entry, "elevation"), target, "bilinear", "DEM")
    notes += dem.notes
    ref = float(entry.get("reference", 1500.0))
    return np.maximum(0.0, ref - dem.array) / 1000.0, f"km por debajo de {flexible(ref)} m de altitud (del DEM)"


def _mask(geoms: gpd.GeoSeries, target: Grid, buffer: float = 0.0) -> np.ndarray:
    g = geoms.to_crs(target.crs) if geoms.crs != target.crs else geoms
    if buffer:
        g = g.buffer(buffer)
    shapes = [(geom, 1) for geom in g if geom is not None and not geom.is_empty]
    if not shapes:
        return np.zeros(target.shape, bool)
    return rasterize(shapes, out_shape=target.shape, transform=target.transform, fill=0, dtype="uint8",
                     all_touched=True) > 0


def proximity(entry, target, notes):
    geoms = _need_vector(entry, "proximity")
    scale = float(entry.get("scale", 1000.0))
    if not scale > 0:
        raise InvalidParameter(f"La escala de proximidad debe ser > 0 m (llegó {scale}).")
    on = _mask(geoms, target)
    if not on.any():
        notes.append(f"{entry.get('label', 'proximidad')}: ningún elemento dentro del área; componente 0.")
        return np.zeros(target.shape), f"proximidad a {entry.get('label', 'elementos')} (sin elementos en el área)"
    d = distance_transform_edt(~on) * target.cell_size
    return np.exp(-d / scale), f"proximidad a {entry.get('label', 'elementos')}: exp(−d/{flexible(scale)} m)"


def barrier(entry, target, notes):
    geoms = _need_vector(entry, "barrier")
    m = _mask(geoms, target, float(entry.get("buffer", 0.0)))
    out = m.astype(np.float64)
    if entry.get("absolute"):
        out[m] = np.nan
        return out, f"barrera absoluta: {entry.get('label', 'elementos')}"
    return out, f"barrera ponderada: {entry.get('label', 'elementos')}"


SOURCES = {"landcover": landcover, "raster": raster, "slope": slope, "elevation": elevation,
           "proximity": proximity, "barrier": barrier}


def build_resistance(entries: list[dict], target: Grid, base: float = 1.0) -> Surface:
    """Combine the entries on ``target`` (see module docstring); NaN marks impassable cells."""
    if not entries:
        raise InvalidParameter("La receta de resistencia está vacía: elija al menos una fuente.")
    if base < 0:
        raise InvalidParameter(f"La resistencia base debe ser ≥ 0 (llegó {base}).")
    notes: list[str] = []
    total = np.full(target.shape, float(base))
    recipe = [f"base {flexible(base)}"]
    for entry in entries:
        name = entry.get("source")
        if name not in SOURCES:
            raise InvalidParameter(f"Fuente de resistencia «{name}» no válida; use una de: {', '.join(SOURCES)}.")
        w = float(entry.get("weight", 1.0))
        if w < 0:
            raise InvalidParameter(f"El peso de «{name}» debe ser ≥ 0 (llegó {w}).")
        comp, label = SOURCES[name](entry, target, notes)
        total += w * comp  # NaN propagates: no data in any used input = impassable
        recipe.append(f"{flexible(w)} × {label}")
    valid = np.isfinite(total)
    if not valid.any():
        raise InvalidParameter("La resistencia resultante no tiene ninguna celda con dato en el área de análisis.")
    if np.any(total[valid] <= 0):
        raise InvalidParameter("La resistencia resultante tiene celdas ≤ 0: suba la base o los pesos.")
    return Surface(total, recipe, notes)


# The default recipe for the real data of the Valle (no land cover exists): "resistencia derivada".
DERIVED_RECIPE = [
    {"source": "slope", "weight": 0.2},
    {"source": "elevation", "weight": 2.0, "reference": 1500.0},
    {"source": "proximity", "weight": 5.0, "scale": 500.0, "layer": "red-vial-nacional", "label": "vías nacionales"},
    {"source": "proximity", "weight": 10.0, "scale": 1000.0, "layer": "centros-poblados", "label": "centros poblados"},
]
DERIVED_LABEL = ("Resistencia derivada: 1 + 0,2 × pendiente (°) + 2 × km por debajo de 1.500 m + "
                 "5 × exp(−d_vías/500 m) + 10 × exp(−d_centros poblados/1.000 m). Construida con el DEM SRTM "
                 "parcial, la red vial nacional y los centros poblados porque no hay cobertura del suelo; "
                 "no es una resistencia calibrada para una especie.")
