"""Corridor runs on registry layers: read cores and inputs, build the grid and resistance, run the engine,
write GeoTIFF / GeoPackage / CSV / JSON results.

``run_corridors`` is the one public computation (used by the API runner and the ``corridors`` command).
Recipes are computed on a square grid in EPSG:9377 (metres); inputs in other CRS/resolutions are
reprojected explicitly with rasterio and the report lists each reprojection. A resistance raster (an
uploaded file or a registry layer) is analysed on its own grid and CRS unless another cell size is asked for.
Outputs are named as Linkage Mapper names them (``<project>_linkTable.csv``, ``<project>_corridors.tif``, …).
"""
from __future__ import annotations

import json
import math
import re
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
from affine import Affine
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
from geosig.errors import CRSMismatch, InvalidGeometry, InvalidParameter, NotFound, OutsideValle
from geosig.numbers import flexible, number
from layers.distributed import raster_executor
from layers.models import Feature, Layer

from . import inputs, network
from .circuit import pinch_points
from .cores import rasterize_cores
from .corridor import STATUS_LABELS, Cancelled, corridors
from .costdistance import validate_resistance
from .grid import DEFAULT_CRS, Grid, align, check_cell_count, max_cells, template
from .resistance import DERIVED_LABEL, DERIVED_RECIPE, SOURCES, Surface, build_resistance

RASTER_SOURCES = {"landcover", "raster", "slope", "elevation"}
VECTOR_SOURCES = {"proximity", "barrier"}
DEM_SOURCES = {"slope", "elevation"}
RESISTANCE_MODES = ("derivada", "receta", "archivo")


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
    with rasterio.open(path, driver="GTiff") as src:  # stored COG (in its source CRS): GeoTIFF driver only
        b = src.bounds
        geographic = src.crs == CRS.from_epsg(4326)
        x0, y0, x1, y1 = bounds_4326 if geographic else transform_bounds(
            CRS.from_epsg(4326), src.crs, *bounds_4326, densify_pts=21)
        # a margin for the resampling kernel: ~1 km either way, in the raster's own units, and two cells
        pad = max(pad_deg if src.crs.is_geographic else pad_deg * 111_000.0, 2 * abs(src.transform.a))
        win = from_bounds(max(x0 - pad, b.left), max(y0 - pad, b.bottom), min(x1 + pad, b.right),
                          min(y1 + pad, b.top), src.transform).round_offsets().round_lengths()
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
        xs, ys = [p.x for p in pts], [p.y for p in pts]
        if src.crs != CRS.from_epsg(4326):  # the DEM is stored in its source CRS
            xs, ys = rasterio.warp.transform("EPSG:4326", src.crs, xs, ys)
        out = []
        for x, y, v in zip(xs, ys, src.sample(list(zip(xs, ys)), masked=True)):
            inside = b.left < x < b.right and b.bottom < y < b.top
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
    project: str = "corredores",
    threads: int = 2,
    progress: Callable[[int, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    executor=None,
    circuit: dict | None = None,
) -> CorridorReport:
    """Least-cost corridors, pinch points and network metrics between ``cores``; results written to ``out_dir``.

    ``cores``: {"layer": slug, "ids": [fid…] (optional), "classes": [class value…] (optional)};
    ``resistance``: "derivada" (the default recipe from the DEM, roads and populated centres) or a list of
    entries {"source", "weight", "layer", …} (see ``layers.corridors.resistance``); ``cell_size`` in metres;
    ``width``: corridor width in cost units; ``point_radius``: disc radius (m) for point cores (None = one cell).
    Files (``layers.corridors.inputs``): ``cores`` {"file": ref, "name_field": …}; ``resistance``
    {"raster": ref} (a resistance GeoTIFF), {"raster": ref, "table": ref} (land cover + class table), or
    {"layer": slug} / {"layer": slug, "table": ref} (a registry raster). A
    resistance raster is analysed on its own grid and CRS (``cell_size`` None or equal to its cell), resampled
    only when another ``cell_size`` is asked for or its CRS is not in metres; ``base`` applies to recipes.
    """
    t0 = time.perf_counter()
    progress = progress or (lambda p, m: None)
    cancelled = cancelled or (lambda: False)
    from_file = isinstance(resistance, dict) and ("raster" in resistance or "layer" in resistance)
    _check_run(cores, cell_size, width, margin_m, from_file)
    notes: list[str] = []

    progress(1, "Leyendo núcleos")
    gdf = _read_cores(cores, point_radius, notes)

    progress(3, "Construyendo la superficie de resistencia")
    target, b4326, surface, res_label = _surface(resistance, from_file, gdf, cell_size, margin_m, point_radius,
                                                 dem_layer, base)
    cell_size = target.cell_size
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

    with raster_executor(executor) as ex:
        result = corridors(res, coreset.labels, float(cell_size), float(width), max_link_cwd=max_link_cwd,
                           threads=threads, progress=sub_progress, cancelled=cancelled, validated=True,
                           names=names, executor=ex)
    notes += result.notes
    links = result.link_rows(names)
    current = _pinch_points(res, result, coreset, links, progress, cancelled, circuit) if pinch else None

    progress(91, "Métricas de red")
    net = _network(res, result, coreset, gdf, float(cell_size), dispersal, area_field, notes)

    progress(93, "Escribiendo resultados")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = _write(out_dir, target, res, result, coreset, gdf, links, net, current, names, float(width),
                   _project(project))
    grid_info = {"rows": target.shape[0], "cols": target.shape[1], "cell_size": float(cell_size),
                 "crs": target.crs.to_string(), "bounds": [round(v, 1) for v in target.bounds],
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


def circuit_landscape(cores: dict, resistance, cell_size, *, point_radius: float | None = None,
                      margin_m: float = 5000.0, base: float = 1.0, dem_layer: str = "dem-srtm3"):
    """The cores and the resistance of a corridor run on its analysis grid, for Circuitscape's raster scenarios
    between cores: (grid, resistance (inf = barrier), core labels (0 none, i = core i), names, notes, label).
    Same readers, grid and rules as ``run_corridors`` (a raster's own grid, or a recipe around the cores)."""
    from_file = isinstance(resistance, dict) and ("raster" in resistance or "layer" in resistance)
    _check_run(cores, cell_size, 1.0, margin_m, from_file)  # (1.0: no corridor width in a circuit run)
    notes: list[str] = []
    gdf = _read_cores(cores, point_radius, notes)
    target, _b4326, surface, label = _surface(resistance, from_file, gdf, cell_size, margin_m, point_radius,
                                              dem_layer, base)
    notes += surface.notes
    res = validate_resistance(surface.array)
    coreset = rasterize_cores(gdf, target, "_name", point_radius)
    notes += coreset.notes
    return target, res, coreset.labels, coreset.names, list(dict.fromkeys(notes)), label


def _surface(resistance, from_file, gdf, cell_size, margin_m, point_radius, dem_layer, base):
    """(analysis grid, its EPSG:4326 bounds, resistance surface, label): a raster's own grid, or a recipe on a
    square EPSG:9377 grid around the cores."""
    if from_file:
        target, surface, label = _file_resistance(resistance, cell_size)
        b4326 = tuple(transform_bounds(target.crs, CRS.from_epsg(4326), *target.bounds, densify_pts=21))
        return target, b4326, surface, label
    entries, label = _recipe(resistance)
    target, b4326 = _analysis_grid(gdf, cell_size, margin_m, point_radius)
    _read_inputs(entries, b4326, dem_layer)
    return target, b4326, build_resistance(entries, target, base=base), label


def _check_run(cores, cell_size, width, margin_m, from_file: bool = False) -> None:
    """Refuse a run without positive cell size (optional with a resistance raster: its own cell) and width,
    a non-negative margin and a core selection."""
    for name, val, minimum in (("cell_size", cell_size, 1.0), ("width", width, 0.0), ("margin_m", margin_m, -1e-9)):
        if val is None and name == "cell_size" and from_file:
            continue
        if val is None or not float(val) > minimum:
            raise InvalidParameter(f"Parámetro {name} no válido ({val}); debe ser > {max(minimum, 0):g}.")
    if not isinstance(cores, dict) or not (cores.get("layer") or cores.get("geojson") or cores.get("file")):
        raise InvalidParameter("Indique los núcleos: {\"layer\": <identificador>, \"ids\": […]}, "
                               "{\"file\": <archivo subido>} y/o {\"geojson\": <FeatureCollection de polígonos dibujados>}.")


def _project(name) -> str:
    """The prefix of the output files (Linkage Mapper's project name): letters, digits, «_» and «-»."""
    name = str(name or "corredores")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", name):
        raise InvalidParameter(f"Nombre de proyecto «{name[:50]}» no válido: use 1 a 40 letras sin tilde, dígitos, "
                               "«_» o «-» (es el prefijo de los archivos de salida).", parameter="project")
    return name


def _file_resistance(spec: dict, cell_size) -> tuple[Grid, Surface, str]:
    """A resistance GeoTIFF (or land cover + class table) → (analysis grid, surface, label). The grid is the
    raster's own unless another cell size is asked for or its CRS is not in metres."""
    if spec.get("layer"):  # a registry raster, stored on its own grid since issue 15
        layer = _layer(spec["layer"], "raster", "la resistencia")
        path, name = layer.raster_path, layer.title
        if path is None or not path.is_file():
            raise NotFound(f"La capa ráster «{layer.slug}» no tiene archivo en el servidor.")
        opened_as = path.name
    else:
        path, name = inputs.resolve(spec["raster"], "landcover" if spec.get("table") is not None else "resistance")
        opened_as = path.name  # the stored file's extension, whatever name the request gave
    table = None
    if spec.get("table") is not None:
        tpath, tname = inputs.resolve(spec["table"], "table")
        table = (inputs.read_table(tpath, tname), tname)
    src = inputs.read_raster(path, opened_as, classes=table is not None, label=name)
    notes = list(src.notes)
    target = _native_target(src, cell_size, name, notes)
    # before resampling into it: a much finer cell asked of a raster is a target grid the resampling would fill
    # (memory of every cell) only to be refused afterwards
    check_cell_count(target.shape[0], target.shape[1], target.cell_size, max_cells())
    if target is not src:
        grid = align(src, target, "nearest" if table else _coarse_or_fine(src, target), name)
        notes += grid.notes
    else:
        grid = src
    if table:
        grid = inputs.classes_to_resistance(grid, table[0], name, table[1])
        label = f"Cobertura «{name}» con la tabla clase → resistencia «{table[1]}»."
        recipe = [f"resistencia = tabla «{table[1]}» aplicada a las clases de «{name}»"]
    else:
        label = f"Ráster de resistencia «{name}» (valores tal cual)."
        recipe = [f"resistencia = valores de «{name}»"]
    return target, Surface(grid.array, recipe, notes), label


def check_file_inputs(params: dict) -> None:
    """Checks of file inputs that need no pixel: cores of a file outside a resistance raster (a 4xx before a run
    row exists; the run checks everything again on the grid)."""
    cores, res = params.get("cores") or {}, params.get("resistance")
    if cores.get("file") and isinstance(res, dict) and res.get("raster"):  # (a registry layer: checked in the run)
        inputs.check_cores_on_raster(cores["file"], res["raster"], "landcover" if res.get("table") else "resistance")


def _native_target(src: Grid, cell_size, name: str, notes: list[str]) -> Grid:
    crs = src.crs
    metric = crs.is_projected and (crs.linear_units or "").lower() in ("metre", "meter", "m")
    if not metric:
        if not cell_size:
            raise CRSMismatch(f"El ráster «{name}» está en {crs.to_string()}, que no mide en metros: indique el tamaño "
                              "de celda (cell_size, en m) para remuestrearlo a EPSG:9377.", parameter="cell_size")
        b = transform_bounds(crs, CRS.from_user_input(DEFAULT_CRS), *src.bounds, densify_pts=21)
        notes.append(f"«{name}» está en {crs.to_string()} (no en metros): se analiza en {DEFAULT_CRS} con celdas de "
                     f"{flexible(cell_size)} m.")
        return template(b, float(cell_size), DEFAULT_CRS)
    if cell_size is None or math.isclose(float(cell_size), src.cell_size, rel_tol=1e-9):
        notes.append(f"Análisis en la grilla propia de «{name}»: {src.shape[0]} × {src.shape[1]} celdas de "
                     f"{flexible(src.cell_size)} m en {crs.to_string()}, sin remuestreo.")
        return src
    cs = float(cell_size)
    x0, y0, x1, y1 = src.bounds
    rows, cols = max(1, math.ceil((y1 - y0) / cs - 1e-9)), max(1, math.ceil((x1 - x0) / cs - 1e-9))
    notes.append(f"Remuestreo pedido: «{name}» tiene celdas de {flexible(src.cell_size)} m; se analiza con celdas de "
                 f"{flexible(cs)} m en su mismo CRS y origen.")
    return Grid(np.zeros((rows, cols), np.float32), Affine(cs, 0, x0, 0, -cs, y1), crs)


def _coarse_or_fine(src: Grid, target: Grid) -> str:
    """Average when coarsening (every source cell counts), bilinear when refining or changing CRS."""
    return "average" if src.crs == target.crs and target.cell_size > src.cell_size else "bilinear"


def _read_cores(cores: dict, point_radius, notes: list[str]) -> gpd.GeoDataFrame:
    """The selected features of the cores layer plus the drawn polygons, in EPSG:4326, each named in ``_name``."""
    parts = []
    if cores.get("file"):
        path, name = inputs.resolve(cores["file"], "cores")
        fc = inputs.read_cores(path, name, cores.get("name_field"))
        if (fc.geometry.geom_type.isin(["Point", "MultiPoint"])).any() and not point_radius:
            notes.append(f"Núcleos puntuales de «{name}»: la celda bajo cada punto.")
        if not (cores.get("layer") or cores.get("geojson")):
            if len(fc) < 2:
                raise InvalidParameter(f"Se necesitan al menos dos núcleos para trazar corredores; «{name}» tiene uno.")
            return fc  # in its own CRS: rasterised on the grid without a detour through EPSG:4326
        parts.append(fc.to_crs(4326))
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


PINCH_COMBINE = {"max": np.maximum, "cumulative": np.add}  # Circuitscape's max_curmap / cum_curmap over links


def _pinch_points(res, result, coreset, links: list[dict], progress, cancelled, circuit=None) -> np.ndarray:
    """Circuit current over the "ok" links (each in its own corridor window), combined by maximum (default) or
    summed (``circuit["combine"] = "cumulative"``); ``circuit`` also sets connectivity (4/8) and averaging of
    resistances or conductances. Each link's row gets its effective resistance and circuit size."""
    opts = {"connectivity": 8, "averaging": "resistance", "combine": "max", **(circuit or {})}
    combine = PINCH_COMBINE[opts["combine"]]
    current = np.zeros(res.shape, np.float32)
    kept = [(i, lk) for i, lk in enumerate(result.links) if lk.status == "ok"]
    for k, (i, lk) in enumerate(kept, start=1):
        if cancelled():
            raise Cancelled()
        progress(75 + int(15 * k / max(1, len(kept))), f"Puntos de estrangulamiento {k}/{len(kept)}")
        win, mask = _link_window(result, lk)
        a_mask = coreset.labels[win] == lk.a
        b_mask = coreset.labels[win] == lk.b
        cr = pinch_points(res[win], a_mask, b_mask, window=mask, connectivity=opts["connectivity"],
                          averaging=opts["averaging"])
        links[i]["effective_resistance"] = cr.resistance
        links[i]["circuit_cells"] = cr.nodes
        combine(current[win], cr.current.astype(np.float32), out=current[win])
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


# Linkage Mapper's link-type codes (lm_config LT_*): 1 = corridor connecting cores, -12 = too long cost-weighted
# distance, -15 = intermediate core area detected. «no_path» has no Linkage Mapper code (it has no barriers
# that cut a pair off): GeoSIG writes 0 for it.
LINK_TYPES = {"ok": 1, "touching": 1, "too_long": -12, "through_core": -15, "no_path": 0}
LINK_INFO = {1: "Core_core_corridor", -12: "Too_long_CWD", -15: "Intermediate_core", 0: "No_path"}
# the link table as Linkage Mapper names it (linkTable / _LCPs attributes), GeoSIG's extra columns after
LINK_COLUMNS = {"Link_ID": "link_id", "Core1": "core_a", "Core2": "core_b", "Core1_Name": "name_a",
                "Core2_Name": "name_b", "Link_Type": None, "Link_Info": None, "Euc_Dist": "euclid_dist",
                "CW_Dist": "cwd", "LCP_Length": "lcp_length", "cwd_to_Euc": "cwd_to_euclid",
                "cwd_to_Path": "cwd_to_path", "Via_Core": "via_core", "Eff_Resist": "effective_resistance",
                "Status": "status_label"}


def lm_link_row(row: dict) -> dict:
    """A link of the report as a Linkage Mapper link-table row."""
    code = LINK_TYPES[row["status"]]
    out = {}
    for lm, key in LINK_COLUMNS.items():
        v = code if lm == "Link_Type" else LINK_INFO[code] if lm == "Link_Info" else row.get(key)
        out[lm] = "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else v
    return out


def truncated_name(project: str, width: float) -> str:
    """Linkage Mapper's «<project>_corridors_truncated_at_200k»: thousands as k, millions as m."""
    w = f"{width:.0f}" if float(width).is_integer() else f"{width:g}".replace(".", "_")
    if w.endswith("000000"):
        w = w[:-6] + "m"
    elif w.endswith("000"):
        w = w[:-3] + "k"
    return f"{project}_corridors_truncated_at_{w}.tif"


def _write(out, grid, res, result, coreset, gdf, links, net, current, names, width, project) -> list[str]:
    """Every result file of a run in ``out``, named as Linkage Mapper names them; returns their names."""
    for row in links:
        row["link_type"] = LINK_TYPES[row["status"]]
    files = _write_rasters(out, grid, res, result, current, names, width, project)
    layers = {f"{project}_Cores": _cores_gdf(grid, coreset), f"{project}_LCPs": _paths_gdf(grid, result, names, links),
              f"{project}_Corridors": _corridors_gdf(grid, result, names, width)}
    formats.write_gpkg_file({name: g for name, g in layers.items() if name.endswith("_Cores") or len(g)},
                            out / f"{project}_link_maps.gpkg")
    files.append(f"{project}_link_maps.gpkg")
    _write_map(out, grid, list(layers.values()))
    # core names come from a layer's attributes: the CSV writer neutralises formula-looking text
    rows = [lm_link_row(row) for row in links]
    (out / f"{project}_linkTable.csv").write_bytes(formats.write_csv(formats.Table(list(LINK_COLUMNS), rows)))
    cols = ["core", "name", "area", "degree", "current_flow_centrality", "dIIC", "dPC"]
    (out / f"{project}_cores.csv").write_bytes(formats.write_csv(formats.Table(cols, net["cores"])))
    files += [f"{project}_linkTable.csv", f"{project}_cores.csv"]
    return files


def _write_rasters(out, grid, res, result, current, names, width, project) -> list[str]:
    """GeoTIFFs of resistance, minimum CWD, allocation, corridors (+ truncated), per-core CWD, current (+ PNG)."""
    f32 = lambda a: np.where(np.isfinite(a), a, -1).astype(np.float32)  # noqa: E731
    written = {f"{project}_resistance.tif": (f32(res), "float32", -1),
               f"{project}_cwd_min.tif": (f32(result.cwd_min), "float32", -1),
               f"{project}_allocation.tif": (result.alloc, "int32", 0),
               f"{project}_corridors.tif": (f32(result.corridor), "float32", -1),
               truncated_name(project, width): (f32(np.where(result.corridor <= width, result.corridor, np.inf)),
                                                "float32", -1)}
    for name, (arr, dtype, nodata) in written.items():
        _tif(out / name, arr, grid, dtype, nodata)
    files = list(written)
    # CWD from each core (Linkage Mapper's cwd_<core>), float64 so it can be checked against a reference,
    # bounded at the core's cut-off (-1 beyond), while the set stays a sane size.
    labs = sorted(result.cwd)
    if labs and len(labs) * res.size <= 60_000_000:
        for lab in labs:
            name = f"cwd_{lab}.tif"
            _tif(out / name, np.where(np.isfinite(result.cwd[lab]), result.cwd[lab], -1.0), grid, "float64", -1)
            files.append(name)
    if current is not None:
        _tif(out / f"{project}_current.tif", current, grid, "float32", None)
        files.append(f"{project}_current.tif")
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


def _paths_gdf(grid, result, names, links) -> gpd.GeoDataFrame:
    """Least-cost paths of the links as lines through the cell centres, with Linkage Mapper's attributes."""
    t = grid.transform
    path_geoms, path_rows = [], []
    for i, lk in enumerate(result.links):
        if lk.path is None or len(lk.path) < 2:
            continue
        xs = t.c + (lk.path[:, 1] + 0.5) * t.a
        ys = t.f + (lk.path[:, 0] + 0.5) * t.e
        path_geoms.append(LineString(np.column_stack([xs, ys])))
        path_rows.append(lm_link_row(links[i]))
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
            corr_rows.append({"Link_ID": lid, "Core1": lk.a, "Core2": lk.b, "Core1_Name": names.get(lk.a),
                              "Core2_Name": names.get(lk.b), "Trunc_Width": width})
    return gpd.GeoDataFrame(corr_rows, geometry=corr_geoms, crs=grid.crs)


def _write_map(out, grid, layers: list) -> None:
    """mapa.json: cores, paths and corridors as GeoJSON in EPSG:4326 for the map (simplified by half a cell;
    the GeoPackage keeps all)."""
    cores_gdf, paths_gdf, corr_gdf = layers
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
