"""Corridor runs on registry layers: read cores and inputs, build the grid and resistance, run the engine,
write GeoTIFF / GeoPackage / CSV / JSON results.

``run_corridors`` is the one public computation (used by the API runner and the ``corridors`` command).
Everything is computed on a square grid in EPSG:9377 (metres); inputs in other CRS/resolutions are
reprojected explicitly with rasterio and the report lists each reprojection.
"""
from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.enums
import rasterio.warp
import shapely
from django.conf import settings
from matplotlib import colormaps
from PIL import Image
from rasterio.crs import CRS
from rasterio.features import shapes as raster_shapes
from rasterio.transform import from_bounds as transform_from_bounds
from rasterio.warp import transform_bounds
from rasterio.windows import from_bounds
from shapely.geometry import LineString, shape

from geosig import formats, params
from geosig.errors import InvalidGeometry, InvalidParameter, NotFound, OutsideValle
from geosig.numbers import flexible, number
from layers.distributed import executor_from_settings
from layers.models import Feature, Layer

from . import network
from .circuit import pinch_points
from .cores import rasterize_cores
from .corridor import STATUS_LABELS, Cancelled, corridors
from .costdistance import validate_resistance
from .grid import DEFAULT_CRS, Grid, check_cell_count, template
from .resistance import DERIVED_LABEL, DERIVED_RECIPE, SOURCES, build_resistance

RASTER_SOURCES = {"landcover", "raster", "slope", "elevation"}
VECTOR_SOURCES = {"proximity", "barrier"}
DEM_SOURCES = {"slope", "elevation"}
RESISTANCE_MODES = ("derivada", "receta")


def max_cells() -> int:
    return int(getattr(settings, "CORRIDORS_MAX_CELLS", 20_000_000))


@dataclass
class CorridorReport:
    out_dir: Path
    grid: dict
    cores: list[dict]
    links: list[dict]
    network: dict
    recipe: list[str]
    resistance_label: str
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"grid": self.grid, "cores": self.cores, "links": self.links, "network": self.network,
                "recipe": self.recipe, "resistance_label": self.resistance_label, "notes": self.notes,
                "files": self.files, "seconds": round(self.seconds, 2)}

    def __str__(self) -> str:
        kept = sum(1 for lk in self.links if lk["status"] in ("ok", "touching"))
        lines = [
            f"Corredores: {len(self.cores)} núcleos, {len(self.links)} vínculos ({kept} válidos) en "
            f"{self.grid['rows']} × {self.grid['cols']} celdas de {flexible(self.grid['cell_size'])} m ({flexible(self.seconds, 1)} s).",
            f"Resistencia: {self.resistance_label}",
        ]
        for lk in self.links:
            lines.append(f"  {lk['name_a']} – {lk['name_b']}: {lk['status_label']}; CWD {flexible(lk['cwd'], 1)}, "
                         f"euclídea {number(lk['euclid_dist'])} m, ruta {number(lk['lcp_length'])} m"
                         + (f", R_eff {flexible(lk['effective_resistance'], 4)}" if lk.get("effective_resistance") else ""))
        lines += [f"Nota: {n}" for n in self.notes]
        lines.append(f"Archivos en {self.out_dir}: {', '.join(self.files)}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ inputs


def _layer(slug: str, kind: str | None = None, what: str = "capa") -> Layer:
    layer = Layer.objects.filter(slug=slug).first()
    if layer is None:
        raise NotFound(f"No existe la capa «{slug}» ({what}).")
    if kind and layer.kind != kind:
        raise InvalidParameter(f"La capa «{slug}» es {layer.get_kind_display().lower()}; para {what} se necesita "
                               f"una capa {'ráster' if kind == 'raster' else 'vectorial'}.")
    return layer


def _features(layer: Layer, ids=None, classes=None) -> gpd.GeoDataFrame:
    qs = Feature.objects.filter(layer=layer)
    if ids:
        qs = qs.filter(fid__in=[int(i) for i in ids])
    if classes:
        qs = qs.filter(class_value__in=[str(c) for c in classes])
    rows = list(qs.values_list("fid", "geom", "attributes", "class_value"))
    geoms = [shapely.from_wkb(bytes(g.wkb)) for _, g, _, _ in rows]
    attrs = [dict(a, _fid=f, _class=c) for f, _, a, c in rows]
    return gpd.GeoDataFrame(attrs, geometry=geoms, crs="EPSG:4326")


def _drawn(fc) -> gpd.GeoDataFrame:
    """Polygons drawn on the map (GeoJSON FeatureCollection, EPSG:4326) as cores; checked, never repaired silently."""
    if isinstance(fc, str):
        try:
            fc = json.loads(fc)
        except json.JSONDecodeError as exc:
            raise InvalidGeometry(f"Los núcleos dibujados no son GeoJSON válido: {exc}.") from exc
    feats = fc.get("features") if isinstance(fc, dict) else None
    if not feats:
        raise InvalidGeometry("Los núcleos dibujados deben ser una FeatureCollection GeoJSON con al menos un polígono.")
    geoms, names = [], []
    for i, f in enumerate(feats, start=1):
        try:
            g = shape(f["geometry"])
        except Exception as exc:  # noqa: BLE001 - any malformed geometry is the user's input error
            raise InvalidGeometry(f"El polígono dibujado {i} no es una geometría GeoJSON válida ({exc}).") from exc
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            raise InvalidGeometry(f"El núcleo dibujado {i} es {g.geom_type}; dibuje polígonos.")
        if not g.is_valid:
            raise InvalidGeometry(f"El polígono dibujado {i} no es válido ({shapely.is_valid_reason(g)}); dibújelo de nuevo.")
        x0, y0, x1, y1 = g.bounds
        vx0, vy0, vx1, vy1 = settings.GEOSIG_VALLE_BBOX
        if x0 < vx0 or x1 > vx1 or y0 < vy0 or y1 > vy1:
            raise OutsideValle(f"El polígono dibujado {i} está fuera del Valle del Cauca (lon {vx0}…{vx1}, lat {vy0}…{vy1}).")
        geoms.append(g)
        names.append(str((f.get("properties") or {}).get("name") or f"Polígono dibujado {i}"))
    return gpd.GeoDataFrame({"_name": names, "_fid": [None] * len(names)}, geometry=geoms, crs="EPSG:4326")


def _read_raster(layer: Layer, bounds_4326, pad_deg: float = 0.01) -> Grid:
    path = layer.raster_path
    if path is None or not path.is_file():
        raise NotFound(f"La capa ráster «{layer.slug}» no tiene archivo en el servidor.")
    with rasterio.open(path, driver="GTiff") as src:  # stored COG: GeoTIFF driver only
        b = src.bounds
        x0, y0, x1, y1 = bounds_4326 if src.crs == CRS.from_epsg(4326) else transform_bounds(
            CRS.from_epsg(4326), src.crs, *bounds_4326)
        win = from_bounds(max(x0 - pad_deg, b.left), max(y0 - pad_deg, b.bottom), min(x1 + pad_deg, b.right),
                          min(y1 + pad_deg, b.top), src.transform).round_offsets().round_lengths()
        arr = src.read(1, window=win, masked=True).astype(np.float64).filled(np.nan)
        return Grid(arr, src.window_transform(win), src.crs, np.nan)


def _check_coverage(layer: Layer, bounds_4326, what: str) -> None:
    """Stop when the analysis area leaves the raster's extent, naming the extent it does cover."""
    meta = layer.raster_meta or {}
    rb = meta.get("bounds")
    if not rb:
        with rasterio.open(layer.raster_path, driver="GTiff") as src:
            rb = list(transform_bounds(src.crs, CRS.from_epsg(4326), *src.bounds))
    x0, y0, x1, y1 = bounds_4326
    tol = 1e-6
    if x0 < rb[0] - tol or y0 < rb[1] - tol or x1 > rb[2] + tol or y1 > rb[3] + tol:
        raise OutsideValle(
            f"El área de análisis (lon {x0:.3f} a {x1:.3f}, lat {y0:.3f} a {y1:.3f}) se sale de la cobertura de "
            f"{what} «{layer.title}», que solo cubre lon {rb[0]:.3f} a {rb[2]:.3f}, lat {rb[1]:.3f} a {rb[3]:.3f}"
            + (f". {layer.caveat}" if layer.caveat else ".")
            + " Elija núcleos dentro de esa zona o reduzca el margen.",
            covered=[round(v, 4) for v in rb],
        )


def _recipe(resistance) -> tuple[list[dict], str]:
    if resistance in (None, "", "derivada"):
        return [dict(e) for e in DERIVED_RECIPE], DERIVED_LABEL
    if isinstance(resistance, dict) and "entries" in resistance:
        resistance = resistance["entries"]
    if not isinstance(resistance, list):
        raise InvalidParameter(f"Resistencia no válida: use uno de {', '.join(RESISTANCE_MODES)} "
                               "(«derivada» o una lista de fuentes).")
    return [dict(e) for e in resistance], "Resistencia definida por el usuario (receta abajo)."


# ------------------------------------------------------------------------------------------------ options

DEFAULT_CORE_LAYER = "runap-centroides"
# RUNAP categories pre-selected on the page (large public areas; the 187 private reserves stay optional).
DEFAULT_CATEGORIES = ("Parque Nacional Natural", "Parques Naturales Regionales",
                      "Reservas Forestales Protectoras Nacionales")


def _on_dem(dem: Layer | None, pts) -> list[bool]:
    """True where the DEM has data under the point (the DEM covers only the department south of 4°N)."""
    if dem is None or not dem.raster_path or not dem.raster_path.is_file() or not pts:
        return [False] * len(pts)
    with rasterio.open(dem.raster_path, driver="GTiff") as src:
        b = src.bounds
        out = []
        for p, v in zip(pts, src.sample([(p.x, p.y) for p in pts], masked=True)):
            inside = b.left < p.x < b.right and b.bottom < p.y < b.top
            out.append(bool(inside and not np.ma.is_masked(v[0])))
    return out


def core_options(slug: str | None = None, dem_layer: str = "dem-srtm3") -> dict:
    """What the corridors page offers: core layers, the candidate cores of layer ``slug`` (with DEM coverage and
    the default pre-selection), resistance sources and the default recipe."""
    slug = params.text(slug, "layer", max_length=80) or DEFAULT_CORE_LAYER
    layers = Layer.objects.filter(kind=Layer.Kind.VECTOR,
                                  geometry_type__in=[Layer.GeometryType.POINT, Layer.GeometryType.POLYGON])
    dem = Layer.objects.filter(slug=dem_layer).first()
    cover = (dem.raster_meta or {}).get("bounds") if dem else None
    cores = []
    layer = layers.filter(slug=slug).first()
    if layer:
        feats = list(Feature.objects.filter(layer=layer).order_by("fid"))
        pts = [f.geom.point_on_surface if f.geom.geom_type != "Point" else f.geom for f in feats]
        on_dem = _on_dem(dem, pts)
        for f, p, inside in zip(feats, pts, on_dem):
            name = f.attributes.get(layer.label_field) if layer.label_field else None
            # Default: a large public area on the DEM, not hugging its northern edge (no room for a margin).
            cores.append({"fid": f.fid, "name": name or f"{layer.title} #{f.fid}", "class": f.class_value,
                          "lon": round(p.x, 5), "lat": round(p.y, 5), "in_dem": inside,
                          "default": inside and f.class_value in DEFAULT_CATEGORIES and p.y < cover[3] - 0.07})
    return {
        "core_layers": [{"slug": l.slug, "title": l.title, "geometry_type": l.geometry_type} for l in layers],
        "layer": slug, "cores": cores,
        "raster_layers": [{"slug": l.slug, "title": l.title} for l in Layer.objects.filter(kind=Layer.Kind.RASTER)],
        "vector_layers": [{"slug": l.slug, "title": l.title} for l in Layer.objects.filter(kind=Layer.Kind.VECTOR)],
        "sources": list(SOURCES), "derived_recipe": DERIVED_RECIPE, "derived_label": DERIVED_LABEL,
        "dem_bounds": cover, "max_cells": max_cells(),
    }


# ------------------------------------------------------------------------------------------------ run


@contextlib.contextmanager
def _raster_executor(given):
    """The caller's executor; else a Dask one when settings say so (GEOSIG_DASK), its shared files removed after
    the run; else None (the engine's threads)."""
    if given is not None:
        yield given
        return
    ex = executor_from_settings()
    if ex is None:
        yield None
        return
    with ex:
        yield ex


def run_corridors(
    cores: dict,
    resistance,
    cell_size: float,
    width: float,
    *,
    out_dir: Path,
    point_radius: float | None = None,
    max_link_cwd: float | None = None,
    dispersal: float | None = None,
    area_field: str | None = None,
    margin_m: float = 5000.0,
    base: float = 1.0,
    dem_layer: str = "dem-srtm3",
    pinch: bool = True,
    threads: int = 2,
    progress: Callable[[int, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    executor=None,
) -> CorridorReport:
    """Least-cost corridors, pinch points and network metrics between ``cores``; results written to ``out_dir``.

    ``cores``: {"layer": slug, "ids": [fid…] (optional), "classes": [class value…] (optional)};
    ``resistance``: "derivada" (the default recipe from the DEM, roads and populated centres) or a list of
    entries {"source", "weight", "layer", …} (see ``layers.corridors.resistance``); ``cell_size`` in metres;
    ``width``: corridor width in cost units; ``point_radius``: disc radius (m) for point cores (None = one cell).
    """
    t0 = time.perf_counter()
    progress = progress or (lambda p, m: None)
    cancelled = cancelled or (lambda: False)
    _check_run(cores, cell_size, width, margin_m)
    entries, res_label = _recipe(resistance)
    notes: list[str] = []

    progress(1, "Leyendo núcleos")
    gdf = _read_cores(cores, point_radius, notes)
    target, b4326 = _analysis_grid(gdf, cell_size, margin_m, point_radius)

    progress(3, "Construyendo la superficie de resistencia")
    _read_inputs(entries, b4326, dem_layer)
    surface = build_resistance(entries, target, base=base)
    notes += surface.notes
    res = validate_resistance(surface.array)
    if cancelled():
        raise Cancelled()

    progress(4, "Ubicando núcleos en la grilla")
    coreset = rasterize_cores(gdf, target, "_name", point_radius)
    notes += coreset.notes
    names = coreset.names

    def sub_progress(p, m):
        progress(5 + int(p * 0.7), m)

    with _raster_executor(executor) as ex:
        result = corridors(res, coreset.labels, float(cell_size), float(width), max_link_cwd=max_link_cwd,
                           threads=threads, progress=sub_progress, cancelled=cancelled, validated=True,
                           names=names, executor=ex)
    notes += result.notes
    links = result.link_rows(names)
    current = _pinch_points(res, result, coreset, links, progress, cancelled) if pinch else None

    progress(91, "Métricas de red")
    net = _network(res, result, coreset, gdf, float(cell_size), dispersal, area_field, notes)

    progress(93, "Escribiendo resultados")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = _write(out_dir, target, res, result, coreset, gdf, links, net, current, names, float(width))
    grid_info = {"rows": target.shape[0], "cols": target.shape[1], "cell_size": float(cell_size),
                 "crs": DEFAULT_CRS, "bounds": [round(v, 1) for v in target.bounds],
                 "bounds_4326": [round(v, 5) for v in b4326], "width": float(width),
                 "max_link_cwd": max_link_cwd, "point_radius": point_radius}
    core_rows = [{k: v for k, v in c.items() if k != "source_index"} for c in coreset.cores]
    notes = list(dict.fromkeys(notes))  # each input aligned twice (slope, elevation) says so once
    rep = CorridorReport(out_dir, grid_info, core_rows, links, net, surface.recipe, res_label, notes, files,
                         time.perf_counter() - t0)
    (out_dir / "informe.json").write_text(json.dumps(_jsonable(rep.as_dict()), ensure_ascii=False, indent=1))
    rep.files.append("informe.json")
    progress(100, "Listo")
    return rep


def _check_run(cores, cell_size, width, margin_m) -> None:
    """Refuse a run without positive cell size and width, a non-negative margin and a core selection."""
    for name, val, minimum in (("cell_size", cell_size, 1.0), ("width", width, 0.0), ("margin_m", margin_m, -1e-9)):
        if val is None or not float(val) > minimum:
            raise InvalidParameter(f"Parámetro {name} no válido ({val}); debe ser > {max(minimum, 0):g}.")
    if not isinstance(cores, dict) or not (cores.get("layer") or cores.get("geojson")):
        raise InvalidParameter("Indique los núcleos: {\"layer\": <identificador>, \"ids\": […]} y/o "
                               "{\"geojson\": <FeatureCollection de polígonos dibujados>}.")


def _read_cores(cores: dict, point_radius, notes: list[str]) -> gpd.GeoDataFrame:
    """The selected features of the cores layer plus the drawn polygons, in EPSG:4326, each named in ``_name``."""
    parts = []
    if cores.get("layer"):
        core_layer = _layer(cores["layer"], "vector", "los núcleos")
        if core_layer.geometry_type not in (Layer.GeometryType.POINT, Layer.GeometryType.POLYGON):
            raise InvalidParameter(f"La capa «{core_layer.slug}» es de líneas; los núcleos deben ser polígonos o puntos.")
        sel = _features(core_layer, cores.get("ids"), cores.get("classes"))
        if len(sel) == 0:
            raise InvalidParameter(f"La selección no contiene núcleos de la capa «{core_layer.slug}».")
        label = core_layer.label_field
        sel["_name"] = [str(a.get(label) or f"{core_layer.title} #{a['_fid']}") if label else
                        f"{core_layer.title} #{a['_fid']}" for a in sel.drop(columns="geometry").to_dict("records")]
        if core_layer.geometry_type == Layer.GeometryType.POINT and not point_radius:
            notes.append("Núcleos puntuales: la celda bajo cada punto (no hay polígonos de las áreas).")
        parts.append(sel)
    if cores.get("geojson"):
        parts.append(_drawn(cores["geojson"]))
    gdf = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    if len(gdf) < 2:
        raise InvalidParameter("Se necesitan al menos dos núcleos para trazar corredores; la selección tiene uno.")
    return gdf


def _analysis_grid(gdf, cell_size, margin_m, point_radius) -> tuple[Grid, tuple]:
    """The cores' extent in EPSG:9377 plus the margin, square cells snapped to the cell size (size-checked),
    and its bounds in EPSG:4326."""
    x0, y0, x1, y1 = gdf.to_crs(DEFAULT_CRS).total_bounds
    pad = float(margin_m) + float(point_radius or 0)
    target = template((x0 - pad, y0 - pad, x1 + pad, y1 + pad), float(cell_size), DEFAULT_CRS)
    check_cell_count(target.shape[0], target.shape[1], float(cell_size), max_cells())
    b4326 = tuple(gpd.GeoSeries([shapely.box(*target.bounds)], crs=DEFAULT_CRS).to_crs(4326).total_bounds)
    return target, b4326


def _read_inputs(entries: list[dict], b4326, dem_layer: str) -> None:
    """Each resistance entry's data (raster window or vector geometries) read from its registry layer
    into ``entry["data"]``; rasters must cover the grid."""
    for e in entries:
        src = e.get("source")
        if src not in SOURCES:
            raise InvalidParameter(f"Fuente de resistencia «{src}» no válida; use una de: {', '.join(SOURCES)}.")
        if src in DEM_SOURCES:
            layer = _layer(e.get("layer") or dem_layer, "raster", "el DEM")
            _check_coverage(layer, b4326, "el DEM")
            e["data"] = _read_raster(layer, b4326)
        elif src in RASTER_SOURCES:
            if not e.get("layer"):
                raise InvalidParameter(f"La fuente «{src}» necesita una capa ráster del registro («layer»).")
            layer = _layer(e["layer"], "raster", f"la fuente «{src}»")
            _check_coverage(layer, b4326, "la capa")
            e["data"] = _read_raster(layer, b4326)
        else:
            if not e.get("layer"):
                raise InvalidParameter(f"La fuente «{src}» necesita una capa vectorial del registro («layer»).")
            layer = _layer(e["layer"], "vector", f"la fuente «{src}»")
            e["data"] = _features(layer).geometry
            e.setdefault("label", layer.title)


def _pinch_points(res, result, coreset, links: list[dict], progress, cancelled) -> np.ndarray:
    """Maximum circuit current over the "ok" links (each in its own corridor window); each link's row gets
    its effective resistance and circuit size."""
    current = np.zeros(res.shape, np.float32)
    kept = [(i, lk) for i, lk in enumerate(result.links) if lk.status == "ok"]
    for k, (i, lk) in enumerate(kept, start=1):
        if cancelled():
            raise Cancelled()
        progress(75 + int(15 * k / max(1, len(kept))), f"Puntos de estrangulamiento {k}/{len(kept)}")
        win, mask = _link_window(result, lk)
        a_mask = coreset.labels[win] == lk.a
        b_mask = coreset.labels[win] == lk.b
        cr = pinch_points(res[win], a_mask, b_mask, window=mask, connectivity=8)
        links[i]["effective_resistance"] = cr.resistance
        links[i]["circuit_cells"] = cr.nodes
        np.maximum(current[win], cr.current.astype(np.float32), out=current[win])
    return current


def _network(res, result, coreset, gdf, cell_size: float, dispersal, area_field, notes: list[str]) -> dict:
    """Network metrics (IIC, PC, centralities) of the cores linked by kept links, core areas in hectares
    (or the ``area_field`` attribute); without ``dispersal``, the median CWD of the kept links."""
    cell_area = cell_size ** 2
    areas = {}
    for c in coreset.cores:
        attr = None
        if area_field:
            val = gdf.iloc[c["id"] - 1].get(area_field) if c["id"] - 1 < len(gdf) else None
            attr = float(val) if val not in (None, "") else None
        areas[c["id"]] = attr if attr is not None else c["area_m2"] / 1e4  # hectares
    kept_links = [(lk.a, lk.b, lk.lcd) for lk in result.links if lk.kept]
    if dispersal is None:
        dispersal = float(np.median([c for _, _, c in kept_links])) if kept_links else 1.0
        notes.append(f"Distancia de dispersión (IIC, PC) = mediana de la CWD de los vínculos válidos: {flexible(dispersal, 1)}.")
    landscape = float(np.isfinite(res).sum()) * cell_area / 1e4
    net = network.metrics(areas, kept_links, float(dispersal), landscape)
    net["area_attribute"] = (f"atributo «{area_field}»" if area_field else "área de las celdas del núcleo (ha)")
    for row in net["cores"]:
        row["name"] = coreset.names.get(row["core"], str(row["core"]))
    return net


def _link_window(result, lk):
    """Rows/cols window and mask of the cells inside link ``lk``'s own truncated corridor (NLCC_AB ≤ width)."""
    a, b = result.cwd[lk.a], result.cwd[lk.b]
    fin = np.isfinite(a) & np.isfinite(b)
    nlcc = np.where(fin, a + b - lk.lcd, np.inf)
    mask = nlcc <= result.width
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    win = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return win, mask[win]


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


# ------------------------------------------------------------------------------------------------ outputs


def _tif(path: Path, arr: np.ndarray, grid: Grid, dtype: str, nodata) -> None:
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1, dtype=dtype,
                       crs=grid.crs, transform=grid.transform, nodata=nodata, compress="deflate", tiled=True) as dst:
        dst.write(arr.astype(dtype), 1)


def _current_png(out: Path, current: np.ndarray, grid: Grid) -> None:
    """Current density as a transparent PNG warped to EPSG:3857, so Leaflet's imageOverlay places it exactly."""
    rows, cols = current.shape
    # The grid's extent in EPSG:3857 with about as many pixels. Not calculate_default_transform: it opens a
    # VRT, and the VRT driver is off in every process (geosig/gdal_hardening.py).
    x0, y0, x1, y1 = transform_bounds(grid.crs, "EPSG:3857", *grid.bounds)
    size = float(np.sqrt((x1 - x0) * (y1 - y0) / (cols * rows)))
    w, h = max(1, round((x1 - x0) / size)), max(1, round((y1 - y0) / size))
    dst_t = transform_from_bounds(x0, y0, x1, y1, w, h)
    dst = np.zeros((h, w), np.float32)
    rasterio.warp.reproject(current.astype(np.float32), dst, src_transform=grid.transform, src_crs=grid.crs,
              dst_transform=dst_t, dst_crs="EPSG:3857", resampling=rasterio.enums.Resampling.nearest)
    pos = dst > 0
    rgba = np.zeros((h, w, 4), np.uint8)
    if pos.any():
        # Log scale between the 5th and the maximum: pinch points (high current) stand out in bright colours.
        lo, hi = np.log10(np.percentile(dst[pos], 5)), np.log10(dst[pos].max())
        t = np.clip((np.log10(np.where(pos, dst, 1e-30)) - lo) / max(hi - lo, 1e-9), 0, 1)
        rgba = (colormaps["inferno"](t) * 255).astype(np.uint8)
        rgba[..., 3] = np.where(pos, 200, 0)
    Image.fromarray(rgba, "RGBA").save(out / "corriente.png")
    x0, y1 = dst_t.c, dst_t.f
    x1, y0 = x0 + w * dst_t.a, y1 + h * dst_t.e
    lon, lat = rasterio.warp.transform("EPSG:3857", "EPSG:4326", [x0, x1], [y0, y1])
    (out / "corriente.json").write_text(json.dumps({"bounds": [[lat[0], lon[0]], [lat[1], lon[1]]]}))


def _write(out, grid, res, result, coreset, gdf, links, net, current, names, width) -> list[str]:
    """Every result file of a run in ``out``; returns their names."""
    files = _write_rasters(out, grid, res, result, current, names)
    layers = {"nucleos": _cores_gdf(grid, coreset), "rutas_menor_costo": _paths_gdf(grid, result, names),
              "corredores": _corridors_gdf(grid, result, names, width)}
    formats.write_gpkg_file({name: gdf for name, gdf in layers.items() if name == "nucleos" or len(gdf)},
                            out / "corredores.gpkg")
    files.append("corredores.gpkg")
    _write_map(out, grid, layers)
    cols = ["link_id", "core_a", "name_a", "core_b", "name_b", "status", "status_label", "euclid_dist", "cwd",
            "lcp_length", "cwd_to_euclid", "cwd_to_path", "via_core", "effective_resistance"]
    # core names come from a layer's attributes: the CSV writer neutralises formula-looking text
    rows = [{k: ("" if v is None or (isinstance(v, float) and not math.isfinite(v)) else v) for k, v in row.items()}
            for row in links]
    (out / "vinculos.csv").write_bytes(formats.write_csv(formats.Table(cols, rows)))
    cols = ["core", "name", "area", "degree", "current_flow_centrality", "dIIC", "dPC"]
    (out / "nucleos.csv").write_bytes(formats.write_csv(formats.Table(cols, net["cores"])))
    files += ["vinculos.csv", "nucleos.csv"]
    return files


def _write_rasters(out, grid, res, result, current, names) -> list[str]:
    """GeoTIFFs of resistance, minimum CWD, allocation, corridor, per-core CWD and current (+ its PNG)."""
    files = []
    f32 = lambda a: np.where(np.isfinite(a), a, -1).astype(np.float32)  # noqa: E731
    _tif(out / "resistencia.tif", f32(res), grid, "float32", -1)
    _tif(out / "cwd_minima.tif", f32(result.cwd_min), grid, "float32", -1)
    _tif(out / "asignacion.tif", result.alloc, grid, "int32", 0)
    _tif(out / "corredor_nlcc.tif", f32(result.corridor), grid, "float32", -1)
    files += ["resistencia.tif", "cwd_minima.tif", "asignacion.tif", "corredor_nlcc.tif"]
    # CWD from each core, one band per core (bounded at its cut-off: -1 beyond), while it stays a sane size.
    labs = sorted(result.cwd)
    if labs and len(labs) * res.size <= 60_000_000:
        with rasterio.open(out / "cwd_por_nucleo.tif", "w", driver="GTiff", width=res.shape[1], height=res.shape[0],
                           count=len(labs), dtype="float32", crs=grid.crs, transform=grid.transform, nodata=-1,
                           compress="deflate", tiled=True) as dst:
            for band, lab in enumerate(labs, start=1):
                dst.write(f32(result.cwd[lab]), band)
                dst.set_band_description(band, f"CWD desde {names.get(lab, lab)} (núcleo {lab})")
        files.append("cwd_por_nucleo.tif")
    if current is not None:
        _tif(out / "corriente.tif", current, grid, "float32", None)
        files.append("corriente.tif")
        _current_png(out, current, grid)
    return files


def _cores_gdf(grid, coreset) -> gpd.GeoDataFrame:
    """Cores as used: the cells on the grid (polygonised), labelled with how they were built."""
    t = grid.transform
    core_geoms, core_rows = [], []
    for c in coreset.cores:
        polys = [shape(g) for g, v in raster_shapes(coreset.labels, mask=coreset.labels == c["id"], transform=t) if v]
        core_geoms.append(shapely.union_all(polys))
        core_rows.append({"core": c["id"], "name": c["name"], "kind": c["kind"], "cells": c["cells"],
                          "area_ha": c["area_m2"] / 1e4,
                          "representation": (f"disco de {coreset.point_radius:g} m elegido por el usuario (no es el "
                                             "límite real)" if c["kind"] == "punto con disco" else c["kind"])})
    return gpd.GeoDataFrame(core_rows, geometry=core_geoms, crs=grid.crs)


def _paths_gdf(grid, result, names) -> gpd.GeoDataFrame:
    """Least-cost paths of the links as lines through the cell centres."""
    t = grid.transform
    path_geoms, path_rows = [], []
    for i, lk in enumerate(result.links):
        if lk.path is None or len(lk.path) < 2:
            continue
        xs = t.c + (lk.path[:, 1] + 0.5) * t.a
        ys = t.f + (lk.path[:, 0] + 0.5) * t.e
        path_geoms.append(LineString(np.column_stack([xs, ys])))
        path_rows.append({"link_id": i + 1, "core_a": lk.a, "core_b": lk.b, "status": lk.status,
                          "name_a": names.get(lk.a), "name_b": names.get(lk.b), "cwd": lk.lcd,
                          "length_m": lk.path_len})
    return gpd.GeoDataFrame(path_rows, geometry=path_geoms, crs=grid.crs)


def _corridors_gdf(grid, result, names, width) -> gpd.GeoDataFrame:
    """Corridor polygons truncated at ``width``, one per link (the link that gives each cell its value)."""
    trunc = (result.corridor <= width) & (result.corridor_link > 0)
    corr_geoms, corr_rows = [], []
    if trunc.any():
        by_link: dict[int, list] = {}
        for g, v in raster_shapes(result.corridor_link, mask=trunc, transform=grid.transform):
            by_link.setdefault(int(v), []).append(shape(g))
        for lid, polys in sorted(by_link.items()):
            lk = result.links[lid - 1]
            corr_geoms.append(shapely.union_all(polys))
            corr_rows.append({"link_id": lid, "core_a": lk.a, "core_b": lk.b, "name_a": names.get(lk.a),
                              "name_b": names.get(lk.b), "width_cost": width})
    return gpd.GeoDataFrame(corr_rows, geometry=corr_geoms, crs=grid.crs)


def _write_map(out, grid, layers: dict) -> None:
    """mapa.json: cores, paths and corridors as GeoJSON in EPSG:4326 for the map (simplified by half a cell;
    the GeoPackage keeps all)."""
    cores_gdf, paths_gdf, corr_gdf = layers["nucleos"], layers["rutas_menor_costo"], layers["corredores"]
    tol = grid.cell_size / 2
    mapdata = {
        "cores": cores_gdf.assign(geometry=cores_gdf.simplify(tol)).to_crs(4326),
        "paths": paths_gdf.to_crs(4326) if len(paths_gdf) else paths_gdf,
        "corridors": corr_gdf.assign(geometry=corr_gdf.simplify(tol)).to_crs(4326) if len(corr_gdf) else corr_gdf,
    }
    (out / "mapa.json").write_text(json.dumps(
        {k: json.loads(v.to_json(na="null")) if len(v) else {"type": "FeatureCollection", "features": []}
         for k, v in mapdata.items()}, ensure_ascii=False))


__all__ = ["run_corridors", "core_options", "CorridorReport", "RESISTANCE_MODES", "STATUS_LABELS"]
