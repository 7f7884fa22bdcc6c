"""«Conectividad omnidireccional» on the registry's layers: an area (a named area of the territory through
``layers.hooks`` or a drawn polygon), a resistance (the corridors' inputs: the derived recipe, a recipe, a
registry raster, an uploaded resistance GeoTIFF or land cover + class table), Omniscape on it, and the result
files (cumulative current, flow potential, normalised current and its classes, as GeoTIFF) with their legends.

``run_connectivity`` is the one public computation (the «connectivity» job calls it). Recipes are computed on a
square grid in EPSG:9377; a resistance raster is analysed on its own grid (as the corridors do). Cells outside the
area are nodata: current does not cross the area's edge (stated in the notes).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import rasterio
import shapely
from django.conf import settings
from rasterio.crs import CRS
from rasterio.features import geometry_mask
from rasterio.warp import transform_bounds, transform_geom

from geosig import formats, readers
from geosig.errors import InvalidParameter, OutsideValle
from geosig.numbers import flexible, number
from layers.corridors import inputs as corridor_inputs
from layers.corridors import services as corridor_services
from layers.corridors.grid import DEFAULT_CRS, Grid, template
from layers.corridors.resistance import build_resistance
from layers.distributed import raster_executor
from layers.models import Layer
from layers.services import areas
from layers.services.styles import RAMPS, _sample

from .omniscape import NORMALIZED_CLASSES, OmniscapeParams, classify_normalized, run_omniscape

MAPS = {  # map key → (file, title, ramp colours)
    "corriente": ("cum_currmap.tif", "Corriente acumulada",
                  ["#000004", "#3b0f70", "#8c2981", "#de4968", "#fe9f6d", "#fcfdbf"]),
    "potencial": ("flow_potential.tif", "Potencial de flujo", RAMPS["viridis"]),
    "normalizada": ("normalized_cum_currmap.tif", "Corriente normalizada", None),
    "clases": ("clases_corriente_normalizada.tif", "Clases de corriente normalizada", None),
}
# impeded, diffuse (pale yellow: visible on the grey relief), channelised, intensified
CLASS_COLOURS = ("#2c7bb6", "#ffffbf", "#fdae61", "#d7191c")
CLASS_LABELS = {"impedido": "Impedido", "difuso": "Difuso", "canalizado": "Canalizado",
                "intensificado": "Intensificado"}
OUTPUT_NODATA = -9999.0
QUANTILES = (0, 10, 25, 50, 75, 90, 98)  # legend stops of the skewed current maps: colour by rank, not value


def max_cells() -> int:
    return int(getattr(settings, "CONNECTIVITY_MAX_CELLS", 4_000_000))


def threads() -> int:
    return int(getattr(settings, "CONNECTIVITY_THREADS", 2))


def check_cells(rows: int, cols: int, cell_size: float) -> None:
    """Refuse a grid over CONNECTIVITY_MAX_CELLS, naming its cell count and the smallest cell that would fit."""
    n, limit = rows * cols, max_cells()
    if n > limit:
        needed = math.ceil(cell_size * math.sqrt(n / limit))
        raise InvalidParameter(
            f"El área tendría {number(n)} celdas ({number(rows)} × {number(cols)} de {flexible(cell_size)} m), más "
            f"que el límite de {number(limit)} para la conectividad omnidireccional. Use celdas de al menos "
            f"{number(needed)} m o un área menor.", parameter="cell_size", cells=n, limit=limit, min_cell_size=needed)


# ------------------------------------------------------------------------------------------------ area


def resolve_area(spec: dict) -> tuple[shapely.Geometry, str]:
    """{"kind": k, "codes": [...]} (named areas registered in ``layers.hooks``) or {"geojson": geometry} →
    (polygon in EPSG:4326 as shapely, label). Unknown kinds are refused listing the registered ones."""
    if "geojson" in spec:
        area = areas.parse_area(spec["geojson"])
        return shapely.from_wkb(bytes(area.geom.wkb)), "Polígono dibujado"
    parts, labels = [], []
    for code in spec["codes"]:
        area = areas.parse_area({"kind": spec["kind"], "code": code})
        parts.append(shapely.from_wkb(bytes(area.geom.wkb)))
        labels.append(area.label)
    label = labels[0] if len(labels) == 1 else f"{len(labels)} áreas: " + "; ".join(labels[:5]) + (
        "…" if len(labels) > 5 else "")
    return shapely.union_all(parts), label


def area_grid(polygon_4326, cell_size: float) -> Grid:
    """The square EPSG:9377 grid around the area, snapped to the cell size and size-checked."""
    geom = transform_geom("EPSG:4326", DEFAULT_CRS, shapely.geometry.mapping(polygon_4326))
    target = template(shapely.geometry.shape(geom).bounds, float(cell_size), DEFAULT_CRS)
    check_cells(*target.shape, float(cell_size))
    return target


# ------------------------------------------------------------------------------------------------ resistance


def _raster_layers(entries) -> list[Layer]:
    slugs = {e.get("layer") or "dem-srtm3" for e in entries if e.get("source") in corridor_services.DEM_SOURCES}
    slugs |= {e["layer"] for e in entries if e.get("source") in corridor_services.RASTER_SOURCES - corridor_services.DEM_SOURCES
              and e.get("layer")}
    return list(Layer.objects.filter(slug__in=slugs, kind=Layer.Kind.RASTER))


def _read_bounds(b4326, layers: list[Layer]) -> tuple:
    """The area's bounds cut to what every raster of the recipe covers: a partial DEM (south of 4°N) leaves
    the rest of the area as nodata instead of refusing the run; no overlap at all is refused naming the extent."""
    x0, y0, x1, y1 = b4326
    for layer in layers:
        rb = (layer.raster_meta or {}).get("bounds")
        if not rb:
            continue
        x0, y0, x1, y1 = max(x0, rb[0]), max(y0, rb[1]), min(x1, rb[2]), min(y1, rb[3])
        if x0 >= x1 or y0 >= y1:
            raise OutsideValle(
                f"El área no toca la cobertura de «{layer.title}», que solo cubre lon {rb[0]:.3f} a {rb[2]:.3f}, "
                f"lat {rb[1]:.3f} a {rb[3]:.3f}" + (f". {layer.caveat}" if layer.caveat else "."),
                covered=[round(v, 4) for v in rb])
    return x0, y0, x1, y1


def resistance_surface(resistance, polygon_4326, cell_size) -> tuple[Grid, str, list[str], list[Layer]]:
    """(resistance grid, label, notes, registry layers read) on the area's grid (a recipe) or the raster's own
    grid (a file or registry raster), with the corridors' sources and file inputs."""
    if isinstance(resistance, dict):  # a raster (file or registry layer), maybe land cover + class table
        target, surface, label = corridor_services._file_resistance(resistance, cell_size)
        used = list(Layer.objects.filter(slug=resistance.get("layer"))) if resistance.get("layer") else []
        return Grid(surface.array, target.transform, target.crs, np.nan), label, list(surface.notes), used
    entries, label = corridor_services._recipe(resistance)
    target = area_grid(polygon_4326, cell_size)
    b4326 = tuple(transform_bounds(CRS.from_user_input(DEFAULT_CRS), CRS.from_epsg(4326), *target.bounds,
                                   densify_pts=21))
    rasters = _raster_layers(entries)
    corridor_services._read_inputs(entries, _read_bounds(b4326, rasters), "dem-srtm3")
    surface = build_resistance(entries, target)
    used = list(Layer.objects.filter(slug__in={e.get("layer") or "dem-srtm3" for e in entries}))
    return Grid(surface.array, target.transform, target.crs, np.nan), label, list(surface.notes), used


def clip_to_area(grid: Grid, polygon_4326) -> tuple[Grid, float]:
    """Cells outside the area → nodata; the grid cropped to the area's cells. Returns the grid and the share of
    area cells with no resistance (a partial input)."""
    geom = transform_geom("EPSG:4326", grid.crs.to_string(), shapely.geometry.mapping(polygon_4326))
    outside = geometry_mask([geom], out_shape=grid.shape, transform=grid.transform, all_touched=False)
    inside = ~outside
    if not inside.any():
        raise OutsideValle("El área no cubre ninguna celda de la resistencia elegida.")
    arr = np.where(inside, grid.array, np.nan)
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    t = grid.transform @ rasterio.Affine.translation(c0, r0)
    missing = float(np.mean(~np.isfinite(grid.array[inside])))
    return Grid(arr[r0:r1, c0:c1], t, grid.crs, np.nan), missing


def check_raster_cells(resistance: dict, polygon_4326, cell_size) -> None:
    """Before a run exists: the size of the grid a resistance raster (uploaded or a registry layer) would give —
    its own grid, or the one ``cell_size`` asks for, cut to the area's cells — from the raster's header, no pixel
    read. Over CONNECTIVITY_MAX_CELLS (or an area that covers no cell) is a 4xx with no run and no job; the job
    checks the real grid again (``run_connectivity``)."""
    if resistance.get("layer"):
        layer = corridor_services._layer(resistance["layer"], "raster", "la resistencia")
        path, name = layer.raster_path, layer.title
        if path is None or not path.is_file():
            return  # the job says the file is missing
    else:
        path, name = corridor_inputs.resolve(resistance["raster"],
                                             "landcover" if resistance.get("table") is not None else "resistance")
    with readers.open_raster(path, name=path.name) as ds:
        if ds.crs is None:
            return  # refused with its own message when the job reads it
        shape, transform, crs = _raster_target(ds.width, ds.height, ds.transform, CRS.from_user_input(ds.crs),
                                               ds.bounds, cell_size)
    if shape is None:
        return  # a CRS not in metres without cell_size: the job refuses it naming the raster
    rows, cols = shape
    if polygon_4326 is not None:
        rows, cols = _area_window(polygon_4326, rows, cols, transform, crs)
    check_cells(rows, cols, abs(transform.a))


def _raster_target(width, height, transform, crs, bounds, cell_size):
    """(shape, transform, CRS) of the analysis grid of a raster, from its header: the same rules as
    ``corridors.services._native_target`` (own grid; another cell in its CRS; EPSG:9377 when not in metres), without
    allocating the grid (an oversize request must not cost its memory)."""
    metric = crs.is_projected and (crs.linear_units or "").lower() in ("metre", "meter", "m")
    if not metric:
        if not cell_size:
            return None, None, None
        cs = float(cell_size)
        x0, y0, x1, y1 = transform_bounds(crs, CRS.from_user_input(DEFAULT_CRS), *bounds, densify_pts=21)
        left, top = math.floor(x0 / cs) * cs, math.ceil(y1 / cs) * cs  # as grid.template snaps
        shape = (max(1, math.ceil((top - y0) / cs)), max(1, math.ceil((x1 - left) / cs)))
        return shape, rasterio.Affine(cs, 0, left, 0, -cs, top), CRS.from_user_input(DEFAULT_CRS)
    if cell_size is None or math.isclose(float(cell_size), abs(transform.a), rel_tol=1e-9):
        return (height, width), transform, crs
    cs = float(cell_size)
    x0, y0, x1, y1 = bounds
    shape = (max(1, math.ceil((y1 - y0) / cs - 1e-9)), max(1, math.ceil((x1 - x0) / cs - 1e-9)))
    return shape, rasterio.Affine(cs, 0, x0, 0, -cs, y1), crs


# Above this many cells in the area's bounding window the exact count (a mask of the window) is not worth its
# memory: the window's cell count is then the answer (it differs from the exact one only by slivers of the area
# thinner than a cell reaching out of it).
EXACT_WINDOW_FACTOR = 4


def _area_window(polygon_4326, rows: int, cols: int, transform, crs) -> tuple[int, int]:
    """(rows, cols) of the grid ``clip_to_area`` keeps: the bounding box of the cells whose centre is in the area.
    Counted on the window of cell centres inside the area's bounding box, exactly (the same mask) when small."""
    geom = transform_geom("EPSG:4326", crs.to_string(), shapely.geometry.mapping(polygon_4326))
    gx0, gy0, gx1, gy1 = shapely.geometry.shape(geom).bounds
    inv = ~transform
    cs_, rs_ = zip(*(inv @ (x, y) for x in (gx0, gx1) for y in (gy0, gy1)))
    c0, c1 = max(0, math.ceil(min(cs_) - 0.5)), min(cols - 1, math.floor(max(cs_) - 0.5))
    r0, r1 = max(0, math.ceil(min(rs_) - 0.5)), min(rows - 1, math.floor(max(rs_) - 0.5))
    if c0 > c1 or r0 > r1:
        raise OutsideValle("El área no cubre ninguna celda de la resistencia elegida.")
    h, w = r1 - r0 + 1, c1 - c0 + 1
    if h * w <= max_cells() or h * w > EXACT_WINDOW_FACTOR * max_cells():
        return h, w
    inside = ~geometry_mask([geom], out_shape=(h, w), transform=transform @ rasterio.Affine.translation(c0, r0),
                            all_touched=False)
    if not inside.any():
        raise OutsideValle("El área no cubre ninguna celda de la resistencia elegida.")
    rows_in, cols_in = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    return int(rows_in[-1] - rows_in[0] + 1), int(cols_in[-1] - cols_in[0] + 1)


# ------------------------------------------------------------------------------------------------ run


def run_connectivity(params: dict, out_dir: Path, *, executor=None, progress=None, cancelled=None) -> dict:
    """Omniscape on the area and resistance of ``params`` (normalised by ``runs.normalise``); writes the maps to
    ``out_dir`` and returns the report (maps with legends, class shares, notes, files)."""
    t0 = time.perf_counter()
    progress = progress or (lambda p, m: None)
    progress(2, "Construyendo la superficie de resistencia")
    polygon, area_label = resolve_area(params["area"]) if params.get("area") else (None, "")
    grid, res_label, notes, used = resistance_surface(params.get("resistance", "derivada"), polygon,
                                                      params.get("cell_size"))
    missing = 0.0
    if polygon is not None:
        grid, missing = clip_to_area(grid, polygon)
    check_cells(*grid.shape, grid.cell_size)
    omni = OmniscapeParams(radius=params["radius"], block_size=params["block_size"], source_from_resistance=True,
                           r_cutoff=params.get("r_cutoff", math.inf), calc_flow_potential=True,
                           calc_normalized_current=True, workers=threads())
    progress(5, "Resolviendo ventanas de Omniscape")

    def sub(p, m):
        progress(5 + int(p * 0.88), m)

    with raster_executor(executor) as ex:
        result = run_omniscape(grid.array, None, omni, executor=ex, progress=sub, cancelled=cancelled)
    progress(94, "Escribiendo resultados")
    classes = classify_normalized(result.normalized)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    maps = _write_maps(out_dir, grid, result, classes)
    notes = _notes(params, res_label, notes, used, missing, result, grid) + list(result.notes)
    report = {
        "area": area_label, "resistance_label": res_label, "maps": maps,
        "grid": {"rows": grid.shape[0], "cols": grid.shape[1], "cell_size": grid.cell_size,
                 "crs": grid.crs.to_string(), "bounds": [round(v, 1) for v in grid.bounds],
                 "bounds_4326": [round(v, 5) for v in transform_bounds(grid.crs, CRS.from_epsg(4326), *grid.bounds,
                                                                        densify_pts=21)]},
        "omniscape": {"radius": omni.radius, "block_size": omni.block_size, "radius_m": omni.radius * grid.cell_size,
                      "source": "source_from_resistance", "r_cutoff": None if math.isinf(omni.r_cutoff) else omni.r_cutoff,
                      "targets": result.targets, "connectivity": omni.connectivity},
        "classes": _class_shares(classes), "partial": missing > 0 or any(l.is_partial for l in used),
        "demo": any(l.is_demo for l in used), "missing_share": round(missing, 4),
        "notes": list(dict.fromkeys(notes)), "seconds": round(time.perf_counter() - t0, 2),
        "files": [m["file"] for m in maps.values()] + ["resistencia.tif", "informe.json"],
    }
    _tif(out_dir / "resistencia.tif", grid.array, grid, "float64")  # exactly what the engine read
    (out_dir / "informe.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    progress(100, "Listo")
    return report


def _notes(params, res_label, notes, used, missing, result, grid) -> list[str]:
    out = [res_label]  # the derived recipe's label already says what it is and that it is not calibrated
    out.append("Fuente de corriente = 1 / resistencia en cada celda (source_from_resistance de Omniscape"
               + (f", solo donde R ≤ {flexible(params['r_cutoff'])})." if params.get("r_cutoff") is not None else
                  ", sin corte r_cutoff)."))
    out.append(f"Radio de {number(params['radius'])} celdas = {flexible(params['radius'] * grid.cell_size)} m; "
               f"bloques de {params['block_size']} × {params['block_size']} celdas.")
    out.append("Las celdas fuera del área son sin dato: la corriente no cruza el borde del área, así que la "
               "conectividad cerca del borde queda subestimada (efecto de borde).")
    if missing > 0:
        out.append(f"PARCIAL: el {flexible(100 * missing, 1)} % de las celdas del área no tiene resistencia (p. ej. "
                   "el DEM solo cubre el Valle al sur de 4°N); allí no hay resultado.")
    for layer in used:
        if layer.is_demo:
            out.append(f"DEMO: «{layer.title}» son datos de demostración.")
        if layer.caveat:
            out.append(f"«{layer.title}»: {layer.caveat}")
    out.append("Clases de corriente normalizada (corriente ÷ potencial de flujo): " + "; ".join(
        f"{CLASS_LABELS[n]} {flexible(lo)}–{'∞' if math.isinf(hi) else flexible(hi)}" for n, lo, hi in NORMALIZED_CLASSES)
        + ". Omniscape.jl publica solo la referencia 1 (< 1 impedido, ≈ 1 difuso, > 1 canalizado); los cortes son "
        "los de este proyecto.")
    return out + list(notes)


def _class_shares(classes: np.ndarray) -> list[dict]:
    valid = classes >= 0
    n = max(1, int(valid.sum()))
    return [{"key": name, "label": CLASS_LABELS[name], "min": lo, "max": None if math.isinf(hi) else hi,
             "color": CLASS_COLOURS[i], "cells": int((classes == i).sum()),
             "share": round(float((classes == i).sum()) / n, 4)} for i, (name, lo, hi) in enumerate(NORMALIZED_CLASSES)]


def _tif(path: Path, arr: np.ndarray, grid: Grid, dtype: str, nodata=OUTPUT_NODATA) -> None:
    data = np.where(np.isfinite(arr), arr, nodata).astype(dtype)
    profile = {"driver": "GTiff", "count": 1, "dtype": dtype, "height": arr.shape[0], "width": arr.shape[1],
               "transform": grid.transform, "crs": grid.crs, "nodata": nodata, "compress": "deflate", "tiled": True}
    path.write_bytes(formats.write_geotiff(formats.Raster(data[None], profile)))


def _write_maps(out: Path, grid: Grid, result, classes) -> dict:
    """The four GeoTIFFs (float64 maps, int8 classes) and each map's style (ramp stops) and legend."""
    arrays = {"corriente": result.cum_currmap, "potencial": result.flow_potential, "normalizada": result.normalized}
    maps = {}
    for key, arr in arrays.items():
        name, title, colours = MAPS[key]
        _tif(out / name, arr, grid, "float64")
        stops = _normalized_stops(arr) if key == "normalizada" else _quantile_stops(arr, colours)
        maps[key] = {"file": name, "title": title, "style": {"type": "ramp", "stops": stops},
                     "legend": [{"color": c, "value": v} for v, c in stops], "kind": "continuous"}
    name, title, _ = MAPS["clases"]
    _tif(out / name, classes.astype(np.float32), grid, "int8", nodata=-1)
    maps["clases"] = {"file": name, "title": title, "kind": "classes",
                      "style": {"type": "ramp", "stops": [[float(i), c] for i, c in enumerate(CLASS_COLOURS)]},
                      "legend": [{"color": c, "label": CLASS_LABELS[n], "min": lo, "max": None if math.isinf(hi) else hi}
                                 for c, (n, lo, hi) in zip(CLASS_COLOURS, NORMALIZED_CLASSES)]}
    return maps


def _quantile_stops(arr, colours) -> list:
    """Colour stops at quantiles of the cells with data (current is strongly skewed: a linear ramp is one colour)."""
    vals = arr[np.isfinite(arr)]
    if vals.size == 0:
        return [[0.0, colours[0]], [1.0, colours[-1]]]
    qs = np.unique(np.percentile(vals, QUANTILES))
    cols = _sample(colours, len(qs)) if len(qs) > 1 else colours[:1]
    stops = [[float(v), c] for v, c in zip(qs, cols)]
    return stops if len(stops) > 1 else stops + [[stops[0][0] + 1.0, colours[-1]]]


def _normalized_stops(arr) -> list:
    """Diverging around 1 (the reference of normalised current), with the class breaks as stops."""
    top = float(np.nanmax(arr)) if np.isfinite(arr).any() else 2.0
    stops = [[0.0, CLASS_COLOURS[0]], [0.7, "#abd9e9"], [1.0, CLASS_COLOURS[1]], [1.3, CLASS_COLOURS[2]],
             [1.7, CLASS_COLOURS[3]]]
    if top > 1.7:
        stops.append([round(top, 3), "#67000d"])
    return stops
