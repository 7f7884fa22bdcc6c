"""The raster container of the corridor engine and its explicit alignment step.

A ``Grid`` is a 2-D numpy array plus the affine transform of its top-left corner, its CRS and its nodata
value. Every layer of a run (resistance components, DEM, land cover, uploaded rasters) is brought onto
ONE analysis grid — square cells of ``cell_size`` metres in EPSG:9377 by default — with
``rasterio.warp.reproject`` before any arithmetic; ``align`` reports what it did ("reproyectado de
EPSG:4326 a EPSG:9377, remuestreo bilineal") so the run report can say so. Nothing is aligned implicitly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds

from geosig.errors import CRSMismatch, InvalidParameter
from geosig.numbers import flexible

DEFAULT_CRS = "EPSG:9377"
# Continuous surfaces are resampled bilinearly; class rasters (land cover, barrier masks) by nearest
# neighbour so no class is invented between two others.
RESAMPLING = {"bilinear": Resampling.bilinear, "nearest": Resampling.nearest, "average": Resampling.average}


@dataclass
class Grid:
    array: np.ndarray
    transform: Affine
    crs: CRS
    nodata: float | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.array.ndim != 2:
            raise InvalidParameter(f"Se esperaba un ráster de una banda (2-D); llegó uno de forma {self.array.shape}.")
        if not isinstance(self.crs, CRS):
            self.crs = CRS.from_user_input(self.crs)

    @property
    def shape(self) -> tuple[int, int]:
        return self.array.shape

    @property
    def cell_size(self) -> float:
        """Side of a (square) cell in CRS units; non-square cells are refused by ``require_square``."""
        return abs(self.transform.a)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        rows, cols = self.shape
        x0, y0 = self.transform @ (0, 0)
        x1, y1 = self.transform @ (cols, rows)
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    def valid_mask(self) -> np.ndarray:
        """True where the cell holds data (not nodata, finite)."""
        a = self.array
        mask = np.isfinite(a) if np.issubdtype(a.dtype, np.floating) else np.ones(a.shape, bool)
        if self.nodata is not None and not (isinstance(self.nodata, float) and math.isnan(self.nodata)):
            mask &= a != self.nodata
        return mask

    def require_square(self) -> None:
        a, e = abs(self.transform.a), abs(self.transform.e)
        if self.transform.b or self.transform.d or not math.isclose(a, e, rel_tol=1e-9):
            raise InvalidParameter(
                f"Las celdas deben ser cuadradas y sin rotación (llegó {a:g} × {e:g}); alinee el ráster primero."
            )

    def same_grid(self, other: "Grid") -> bool:
        return (
            self.shape == other.shape
            and self.crs == other.crs
            and all(math.isclose(p, q, rel_tol=0, abs_tol=1e-6 * self.cell_size) for p, q in zip(self.transform, other.transform))
        )

    def cell_centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = self.transform
        x = t.c + (np.asarray(cols) + 0.5) * t.a
        y = t.f + (np.asarray(rows) + 0.5) * t.e
        return x, y


def template(bounds: tuple[float, float, float, float], cell_size: float, crs=DEFAULT_CRS) -> Grid:
    """An empty analysis grid covering ``bounds`` (in ``crs``) with square cells snapped to multiples of the cell."""
    if not cell_size or cell_size <= 0:
        raise InvalidParameter(f"El tamaño de celda debe ser positivo (llegó {cell_size}).")
    xmin, ymin, xmax, ymax = bounds
    # Snap the origin to a multiple of the cell size so two runs over nearby areas share cell edges.
    x0 = math.floor(xmin / cell_size) * cell_size
    y1 = math.ceil(ymax / cell_size) * cell_size
    cols = max(1, math.ceil((xmax - x0) / cell_size))
    rows = max(1, math.ceil((y1 - ymin) / cell_size))
    return Grid(np.zeros((rows, cols), np.float32), Affine(cell_size, 0, x0, 0, -cell_size, y1), CRS.from_user_input(crs))


def max_cells() -> int:
    """CORRIDORS_MAX_CELLS: the cap on a corridor analysis grid and on an uploaded Circuitscape grid."""
    from django.conf import settings

    return int(getattr(settings, "CORRIDORS_MAX_CELLS", 20_000_000))


def check_cell_count(rows: int, cols: int, cell_size: float, max_cells: int) -> None:
    """Refuse a grid over ``max_cells`` with the numbers the user needs: cells it would have, and the cell size that fits."""
    n = rows * cols
    if n > max_cells:
        needed = cell_size * math.sqrt(n / max_cells)
        raise InvalidParameter(
            f"El área de análisis tendría {n:,} celdas ({rows:,} × {cols:,} a {cell_size:g} m), más que el límite "
            f"configurado de {max_cells:,}. Use un tamaño de celda de al menos {math.ceil(needed)} m, reduzca el área "
            f"o pida subir CORRIDORS_MAX_CELLS (necesitaría {n:,}).".replace(",", "."),
            cells=n, limit=max_cells, min_cell_size=math.ceil(needed),
        )


def align(src: Grid, target: Grid, resampling: str = "bilinear", name: str = "capa") -> Grid:
    """Reproject/resample ``src`` onto ``target``'s grid with rasterio; returns a float64 Grid (NaN = nodata).

    The returned grid's ``notes`` say what was done, e.g. "DEM: reproyectado de EPSG:4326 a EPSG:9377 (bilineal)".
    """
    if resampling not in RESAMPLING:
        raise InvalidParameter(f"Remuestreo «{resampling}» no válido; use uno de: {', '.join(RESAMPLING)}.")
    if src.crs is None:
        raise CRSMismatch(f"{name}: el ráster no declara su sistema de referencia (CRS).")
    if src.same_grid(target):
        arr = src.array.astype(np.float64, copy=True)
        arr[~src.valid_mask()] = np.nan
        return Grid(arr, target.transform, target.crs, np.nan, [])
    out = np.full(target.shape, np.nan, np.float64)
    src_arr = src.array.astype(np.float64, copy=True)
    src_arr[~src.valid_mask()] = np.nan
    reproject(
        source=src_arr, destination=out,
        src_transform=src.transform, src_crs=src.crs, src_nodata=np.nan,
        dst_transform=target.transform, dst_crs=target.crs, dst_nodata=np.nan,
        resampling=RESAMPLING[resampling],
    )
    what = []
    if src.crs != target.crs:
        what.append(f"reproyectado de {src.crs.to_string()} a {target.crs.to_string()}")
    if not math.isclose(src.cell_size, target.cell_size) or src.crs != target.crs:
        what.append(f"remuestreado a celdas de {flexible(target.cell_size)} m ({resampling})")
    else:
        what.append(f"realineado a la grilla de análisis ({resampling})")
    return Grid(out, target.transform, target.crs, np.nan, [f"{name}: " + ", ".join(what)])


def bounds_in(grid: Grid, crs="EPSG:4326") -> tuple[float, float, float, float]:
    """The grid's bounds expressed in another CRS (for messages naming a covered extent)."""
    return transform_bounds(grid.crs, CRS.from_user_input(crs), *grid.bounds, densify_pts=21)


def data_bounds(grid: Grid) -> tuple[float, float, float, float] | None:
    """Bounds (grid CRS) of the cells that hold data, or None if there are none."""
    mask = grid.valid_mask()
    if not mask.any():
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    t = grid.transform
    x0, x1 = t.c + cols[0] * t.a, t.c + (cols[-1] + 1) * t.a
    y0, y1 = t.f + rows[0] * t.e, t.f + (rows[-1] + 1) * t.e
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
