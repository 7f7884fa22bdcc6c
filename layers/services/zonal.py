"""Zonal statistics of a raster layer over polygons, exact at the polygon edges.

``exactextract`` computes, for every cell the polygon touches, the fraction of the cell it covers;
min/max use every touched cell, the mean and the histogram weight each cell by that fraction, so a
cell half inside counts half. The raster is read on its own stored grid (its source CRS); the polygons
are reprojected to it. Cells are weighted by coverage only, not by their ground area: in EPSG:4326 a cell's
area changes by < 0.1 % across the Valle (3°–5° N), far below the DEM's accuracy; projected grids are equal-area
enough at this scale.
"""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from django.conf import settings
from exactextract import exact_extract
from exactextract.raster import RasterioRasterSource
from rasterio.warp import transform_bounds
from rasterio.windows import from_bounds

from geosig.errors import InvalidParameter
from layers.models import Layer

DEFAULT_BINS = 10
# A polygon edge drawn exactly on a cell edge can leave a floating-point sliver (coverage ~1e-12) of the
# neighbouring cell; below a millionth of a cell (≈ 0.01 m² of a 92-m cell) a cell is not "touched".
MIN_COVERAGE = 1e-6


def zonal_stats(layer: Layer, geometries, *, bins: int = DEFAULT_BINS) -> list[dict]:
    """One dict per geometry (EPSG:4326 GEOS/shapely polygons): min, mean, max, cells, histogram."""
    if layer.kind != Layer.Kind.RASTER:
        raise InvalidParameter(f"La capa «{layer.slug}» no es ráster: no tiene estadísticas zonales.")
    if not 1 <= int(bins) <= 100:
        raise InvalidParameter("El número de clases del histograma debe estar entre 1 y 100.")
    geoms = [_to_shapely(g) for g in (geometries if isinstance(geometries, (list, tuple)) else [geometries])]
    gdf = gpd.GeoDataFrame({"i": range(len(geoms))}, geometry=geoms, crs=4326)
    with rasterio.open(layer.raster_path, driver="GTiff") as ds:  # stored COG; band 1: the band styles and tiles show
        _check_cells(layer, ds, geoms)
        # the raster's own cells (stored in its source CRS): the polygons come to it, never the reverse
        if ds.crs is not None and ds.crs.to_epsg() != 4326:
            gdf = gdf.to_crs(ds.crs)
        df = exact_extract(RasterioRasterSource(ds, band_idx=1), gdf, ["values", "coverage"], output="pandas")
    vmin, vmax = layer.raster_meta.get("min"), layer.raster_meta.get("max")
    edges = np.linspace(vmin, vmax, int(bins) + 1)
    out = []
    for values, cover in zip(df["values"], df["coverage"]):
        values = np.asarray(values, dtype="float64")
        cover = np.asarray(cover, dtype="float64")
        keep = cover > MIN_COVERAGE
        values, cover = values[keep], cover[keep]
        if values.size == 0:
            out.append({"min": None, "mean": None, "max": None, "cells": 0.0,
                        "histogram": {"edges": edges.tolist(), "counts": [0.0] * int(bins)}})
            continue
        counts, _ = np.histogram(np.clip(values, vmin, vmax), bins=edges, weights=cover)
        out.append({
            "min": float(values.min()), "mean": float(np.average(values, weights=cover)),
            "max": float(values.max()), "cells": float(cover.sum()),
            "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        })
    return out


def max_cells() -> int:
    return int(getattr(settings, "GEOSIG_ZONAL_MAX_CELLS", 20_000_000))


def _check_cells(layer: Layer, ds, geoms) -> None:
    """Refuse before reading: "values"/"coverage" hold every cell a polygon touches in memory (at most its
    bounding-box window, the estimate used), so a large polygon over a fine uploaded raster would cost
    gigabytes per request of the anonymous overlay API."""
    b = ds.bounds
    total = 0
    for g in geoms:
        if g is None or g.is_empty:
            continue
        x0, y0, x1, y1 = g.bounds if ds.crs is None or ds.crs.to_epsg() == 4326 else transform_bounds(
            "EPSG:4326", ds.crs, *g.bounds)
        x0, y0, x1, y1 = max(x0, b.left), max(y0, b.bottom), min(x1, b.right), min(y1, b.top)
        if x0 >= x1 or y0 >= y1:
            continue  # off the raster: nothing is read
        win = from_bounds(x0, y0, x1, y1, ds.transform)
        # 1e-6: a box drawn on cell edges must not count a phantom row or column from rounding
        total += math.ceil(abs(win.height) - 1e-6) * math.ceil(abs(win.width) - 1e-6)
    limit = max_cells()
    if total > limit:
        raise InvalidParameter(
            f"El área abarca unas {total:,} celdas de la capa «{layer.title}»; el máximo para estadísticas "
            f"zonales es {limit:,}. Elija un área más pequeña.".replace(",", "."))


def _to_shapely(g):
    if hasattr(g, "wkb") and not isinstance(g, shapely.Geometry):
        return shapely.from_wkb(bytes(g.wkb))
    return g
