"""Core areas → a label grid on the analysis grid.

Cores may be polygons (cells whose centre lies inside; a polygon smaller than a cell gets the cell under
its representative point) or points. A point core is either the single cell under it (``point_radius``
None or 0) or a disc of cells whose centres lie within ``point_radius`` metres — a *modelling device
whose radius the user chose*, stated in every output, never the real boundary of the protected area.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from rasterio.features import rasterize

from geosig.errors import InvalidParameter, OutsideValle
from geosig.numbers import flexible

from .grid import Grid


@dataclass
class CoreSet:
    labels: np.ndarray  # int32, 0 = no core, i = core i (1-based, order of the input rows)
    cores: list[dict]  # id, name, kind, cells, area (m², of the cells), attribute area if given
    point_radius: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> dict[int, str]:
        return {c["id"]: c["name"] for c in self.cores}


def rasterize_cores(gdf: gpd.GeoDataFrame, grid: Grid, name_field: str | None = None,
                    point_radius: float | None = None) -> CoreSet:
    """Label the analysis grid with the cores of ``gdf`` (reprojected explicitly to the grid's CRS)."""
    if gdf is None or len(gdf) == 0:
        raise InvalidParameter("La capa de núcleos no tiene elementos.")
    if gdf.crs is None:
        raise InvalidParameter("La capa de núcleos no declara su sistema de referencia (CRS).")
    if point_radius is not None and point_radius < 0:
        raise InvalidParameter(f"El radio de los núcleos puntuales debe ser ≥ 0 m (llegó {point_radius}).")
    grid.require_square()
    notes = []
    g = gdf.to_crs(grid.crs) if gdf.crs != grid.crs else gdf
    if gdf.crs != grid.crs:
        notes.append(f"Núcleos reproyectados de {gdf.crs.to_string()} a {grid.crs.to_string()}.")
    xmin, ymin, xmax, ymax = grid.bounds
    labels = np.zeros(grid.shape, np.int32)
    cores, outside, overlaps = [], [], []
    for i, (idx, row) in enumerate(g.iterrows(), start=1):
        geom = row.geometry
        name = str(row[name_field]) if name_field and name_field in row and row[name_field] is not None else f"Núcleo {i}"
        if geom is None or geom.is_empty:
            raise InvalidParameter(f"El núcleo «{name}» no tiene geometría.")
        gx0, gy0, gx1, gy1 = geom.bounds
        if gx1 < xmin or gx0 > xmax or gy1 < ymin or gy0 > ymax:
            outside.append(name)
            continue
        mask, kind_label = _core_mask(grid, geom, name, point_radius, notes)
        if not mask.any():
            outside.append(name)
            continue
        clash = np.unique(labels[mask & (labels > 0)])
        if clash.size:
            overlaps.append((name, [cores[c - 1]["name"] for c in clash]))
            continue
        # Ids stay contiguous with the position in ``cores`` so lookups stay simple.
        labels[mask] = len(cores) + 1
        n = int(mask.sum())
        cores.append({"id": len(cores) + 1, "name": name, "kind": kind_label, "cells": n,
                      "area_m2": n * grid.cell_size * grid.cell_size, "source_index": idx})
    _refuse_outside_or_overlapping(outside, overlaps, grid)
    if point_radius and any(c["kind"] == "punto con disco" for c in cores):
        notes.append(
            f"Los núcleos puntuales se representan como discos de {flexible(point_radius)} m de radio elegidos por el "
            "usuario: NO son los límites reales de las áreas protegidas."
        )
    return CoreSet(labels, cores, point_radius or None, notes)


def _cell_of(grid: Grid, p, mask: np.ndarray) -> bool:
    """Mark the cell under point ``p`` in ``mask``; False when the point lies outside the grid."""
    rows, cols = grid.shape
    c, r = ~grid.transform @ (p.x, p.y)
    if 0 <= r < rows and 0 <= c < cols:
        mask[int(r), int(c)] = True
        return True
    return False


def _core_mask(grid: Grid, geom, name: str, point_radius: float | None, notes: list[str]):
    """Cells of one core and how it is represented (point cell, point disc or polygon)."""
    kind = geom.geom_type
    if kind in ("Point", "MultiPoint"):
        if point_radius:
            return _disc(grid, geom, point_radius), "punto con disco"
        mask = np.zeros(grid.shape, bool)
        for p in getattr(geom, "geoms", [geom]):
            _cell_of(grid, p, mask)
        return mask, "punto (una celda)"
    if kind in ("Polygon", "MultiPolygon"):
        mask = rasterize([(geom, 1)], out_shape=grid.shape, transform=grid.transform, fill=0, dtype="uint8") > 0
        if not mask.any() and _cell_of(grid, geom.representative_point(), mask):
            notes.append(f"«{name}» es menor que una celda: se usa la celda bajo su punto representativo.")
        return mask, "polígono"
    raise InvalidParameter(f"El núcleo «{name}» es de tipo {kind}; use polígonos o puntos.")


def _refuse_outside_or_overlapping(outside: list[str], overlaps: list, grid: Grid) -> None:
    if outside:
        xmin, ymin, xmax, ymax = grid.bounds
        raise OutsideValle(
            f"{len(outside)} núcleo(s) quedan fuera del ráster de análisis "
            f"(x {xmin:.0f}–{xmax:.0f}, y {ymin:.0f}–{ymax:.0f} en {grid.crs.to_string()}): "
            + ", ".join(outside[:10]) + ("…" if len(outside) > 10 else "") + ". Quítelos o amplíe el área.",
            cores=outside,
        )
    if overlaps:
        raise InvalidParameter(
            "Núcleos que se superponen en la grilla (únalos en uno solo o use una celda menor): "
            + "; ".join(f"«{a}» con {', '.join('«%s»' % b for b in bs)}" for a, bs in overlaps[:10]) + ".",
        )


def _disc(grid: Grid, geom, radius: float) -> np.ndarray:
    """Cells whose centre lies within ``radius`` of the point(s): exact, no polygon approximation."""
    rows, cols = grid.shape
    t = grid.transform
    cell = grid.cell_size
    mask = np.zeros(grid.shape, bool)
    k = int(math.ceil(radius / cell)) + 1
    for p in getattr(geom, "geoms", [geom]):
        c, r = ~t @ (p.x, p.y)
        r0, r1 = max(0, int(r) - k), min(rows, int(r) + k + 1)
        c0, c1 = max(0, int(c) - k), min(cols, int(c) + k + 1)
        if r0 >= r1 or c0 >= c1:
            continue
        rr, cc = np.mgrid[r0:r1, c0:c1]
        x = t.c + (cc + 0.5) * t.a
        y = t.f + (rr + 0.5) * t.e
        mask[r0:r1, c0:c1] |= (x - p.x) ** 2 + (y - p.y) ** 2 <= radius * radius * (1 + 1e-12)
    return mask


def disc_area_m2(radius: float) -> float:
    return math.pi * radius * radius
