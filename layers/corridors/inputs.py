"""User files as corridor inputs: core areas (GeoPackage, zipped Shapefile, GeoJSON) and resistance
(a resistance GeoTIFF, or a land-cover GeoTIFF plus a class → resistance CSV table).

Files are kept in a content-addressed store, ``MEDIA_ROOT/corridors/inputs/<sha256[:32]><ext>``: a run
refers to a file by that name only (never by a path a request could choose), the same file gives the same
name (so an identical run is found in the cache), and a background job reads it after the request ended.
Every file is opened through ``geosig.readers`` (extension → driver, magic bytes, no VRT, no /vsi) and
zips through ``layers.services.archives.safe_extract``. Each refusal is a Spanish ``GeoSIGError``
naming what is wrong and where (values ≤ 0: how many, the first cell and the bounding box).
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from django.conf import settings
from rasterio.crs import CRS

from geosig import readers
from geosig.errors import CRSMismatch, DataFileError, InvalidParameter, NotFound, OutsideValle
from geosig.numbers import flexible, number
from layers.services.archives import safe_extract

from .grid import Grid, max_cells

# kind of input → extensions accepted for it (a Shapefile comes zipped with its .shx/.dbf/.prj)
KINDS = {
    "cores": (".gpkg", ".geojson", ".json", ".zip"),
    "resistance": (".tif", ".tiff"),
    "landcover": (".tif", ".tiff"),
    "table": (".csv",),
    # Circuitscape's own inputs (habitat, focal points/regions, polygons, mask, sources, grounds; lists of
    # points, pairs or source strengths): its grids, and its text lists
    "grid": (".asc", ".tif", ".tiff"),
    "list": (".txt",),
}
KIND_ES = {"cores": "núcleos", "resistance": "ráster de resistencia", "landcover": "ráster de cobertura",
           "table": "tabla clase → resistencia", "grid": "cuadrícula de Circuitscape (ASCII de ESRI o GeoTIFF)",
           "list": "lista de texto de Circuitscape"}
REF = re.compile(r"^[0-9a-f]{32}\.(gpkg|geojson|json|zip|tif|tiff|csv|asc|txt)$")
LIST_HEADS = ("min", "max", "mode")  # the words of Circuitscape's included-pairs files; every other token a number
VECTOR_IN_ZIP = (".shp", ".gpkg", ".geojson", ".json")
NAME_FIELDS = ("nombre", "name", "NOMBRE", "NAME", "Nombre", "Name", "core_name")
MAX_TABLE_ROWS = 1000
MAX_LISTED = 10


def store_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "corridors" / "inputs"


# ------------------------------------------------------------------------------------------- store


def check_name(name: str, kind: str) -> str:
    """The lower-case extension of ``name`` if it is accepted for ``kind``; else a Spanish 400 listing the valid ones."""
    if kind not in KINDS:
        raise InvalidParameter(f"Tipo de archivo «{kind}» no válido; use uno de: {', '.join(KINDS)}.")
    ext = Path(str(name)).suffix.lower()
    if ext not in KINDS[kind]:
        raise InvalidParameter(
            f"«{readers.label_of(name)}» no sirve como {KIND_ES[kind]}: extensiones válidas "
            f"{', '.join(KINDS[kind])}" + (" (un Shapefile va comprimido en .zip con .shp, .shx, .dbf y .prj)"
                                           if kind == "cores" else "") + ".", parameter=kind)
    return ext


def store(path, name: str, kind: str) -> dict:
    """Copy a user file into the input store after checking it opens as ``kind``; returns {"file", "name"}."""
    ext = check_name(name, kind)
    path = Path(path)
    limit = settings.GEOSIG_MAX_UPLOAD_BYTES
    if not path.is_file():
        raise DataFileError(f"No existe el archivo «{readers.label_of(name)}».")
    if path.stat().st_size > limit:
        raise InvalidParameter(f"«{readers.label_of(name)}» pesa {path.stat().st_size / 1e6:,.1f} MB; el máximo es "
                               f"{limit / 1e6:,.1f} MB.")
    VALIDATORS[kind](path, readers.label_of(name))  # a bad file is refused now, not minutes later in the run
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    ref = f"{h.hexdigest()[:32]}{ext}"
    dest = store_root() / ref
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{ref}.{uuid.uuid4().hex}")
        shutil.copyfile(path, tmp)
        tmp.replace(dest)  # atomic: a reader never sees half a file
    else:
        # the same content uploaded again: its retention clock restarts (layers.services.input_retention ages
        # files by modification time), so a file just handed to a user is not removed as old before the run
        dest.touch()
    return {"file": ref, "name": readers.label_of(name)}


def resolve(ref: dict | str, kind: str) -> tuple[Path, str]:
    """(path in the store, original name) of a stored input; a ref is never a path the caller chose."""
    if isinstance(ref, dict):
        file, name = ref.get("file"), ref.get("name") or ref.get("file")
    else:
        file, name = ref, ref
    if not isinstance(file, str) or not REF.match(file):
        raise InvalidParameter(f"Referencia de archivo no válida: «{str(file)[:80]}». Suba el archivo primero "
                               "(POST /api/v1/corridors/inputs/).", parameter=kind)
    check_name(file, kind)
    path = store_root() / file
    if not path.is_file():
        raise NotFound(f"El archivo «{readers.label_of(name)}» ya no está en el servidor; súbalo de nuevo.")
    return path, readers.label_of(name)


# ------------------------------------------------------------------------------------------- cores


def read_cores(path, name: str, name_field: str | None = None) -> gpd.GeoDataFrame:
    """Core areas of a file (polygons or points, any declared CRS) with their names in ``_name``."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="geosig-cores-") as tmp:
            files = safe_extract(path, Path(tmp))
            data = [f for f in files if f.suffix.lower() in VECTOR_IN_ZIP and not f.name.startswith(".")]
            if len(data) != 1:
                raise DataFileError(
                    f"El zip «{name}» debe contener exactamente un archivo de núcleos ({', '.join(VECTOR_IN_ZIP)}); "
                    f"contiene {len(data)}.", file=name)
            return read_cores(data[0], data[0].name, name_field)
    opened_as = path.name  # the file's own extension decides the driver; ``name`` is for messages
    layers = [n for n, g in readers.list_layers(path, name=opened_as) if g is not None]
    if len(layers) != 1:
        raise DataFileError(f"«{name}» debe tener exactamente una capa con geometría para los núcleos; tiene "
                            f"{len(layers)}" + (f" ({', '.join(layers[:MAX_LISTED])})" if layers else "") + ".", file=name)
    gdf = readers.read_vector(path, name=opened_as, layer=layers[0])
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)].reset_index(drop=True)
    if len(gdf) == 0:
        raise DataFileError(f"«{name}» no tiene núcleos (ningún elemento con geometría).", file=name)
    kinds = set(gdf.geometry.geom_type)
    bad = kinds - {"Point", "MultiPoint", "Polygon", "MultiPolygon"}
    if bad:
        raise InvalidParameter(f"Los núcleos de «{name}» deben ser polígonos o puntos; el archivo tiene "
                               f"{', '.join(sorted(bad))}.", parameter="cores")
    if name_field and name_field not in gdf.columns:
        raise InvalidParameter(f"«{name}» no tiene el atributo «{name_field}»; atributos: "
                               f"{', '.join(c for c in gdf.columns if c != gdf.geometry.name)}.", parameter="name_field")
    field = name_field or next((f for f in NAME_FIELDS if f in gdf.columns), None)
    gdf["_name"] = [str(v) if field and v is not None and str(v) != "nan" else f"Núcleo {i}"
                    for i, v in enumerate(gdf[field] if field else [None] * len(gdf), start=1)]
    gdf["_fid"] = range(1, len(gdf) + 1)
    return gdf


# ------------------------------------------------------------------------------------------- rasters


def read_raster(path, name: str, *, classes: bool = False, label: str | None = None) -> Grid:
    """Band 1 of a GeoTIFF as a Grid in its own CRS and grid (NaN = nodata), checked: a CRS, square cells,
    a size within the limit, some data and — for a resistance, not a class raster — every value > 0.
    ``name`` gives the extension (the upload's name); ``label``, when given, names the raster in messages."""
    # opened by its own file name's extension (a stored input's name is its hash + the checked extension)
    name = label or name
    with readers.open_raster(path, name=Path(path).name) as ds:
        if ds.crs is None:
            raise CRSMismatch(f"El ráster «{name}» no declara su sistema de referencia (CRS); guárdelo con su CRS "
                              "(p. ej. EPSG:9377 o EPSG:3115).")
        cap = settings.GEOSIG_LAYERS_MAX_RASTER_PIXELS
        if ds.width * ds.height > cap:
            raise InvalidParameter(f"El ráster «{name}» tiene {number(ds.width * ds.height)} celdas ({ds.width} × "
                                   f"{ds.height}); el máximo es {number(cap)}.")
        arr = ds.read(1, masked=True)
        data = np.ma.filled(arr.astype(np.float64), np.nan)
        grid = Grid(data, ds.transform, CRS.from_user_input(ds.crs), np.nan)
        if ds.count > 1:
            grid.notes.append(f"«{name}» tiene {ds.count} bandas: se usa la banda 1.")
    grid.require_square()
    valid = np.isfinite(data)
    if not valid.any():
        raise DataFileError(f"El ráster «{name}» no tiene ninguna celda con dato (todo es nodata).", file=name)
    if not classes:
        _refuse_non_positive(grid, valid, name)
    return grid


def _refuse_non_positive(grid: Grid, valid: np.ndarray, name: str) -> None:
    bad = valid & (np.nan_to_num(grid.array, nan=1.0) <= 0)
    n = int(bad.sum())
    if not n:
        return
    rows, cols = np.nonzero(bad)
    r, c = int(rows[0]), int(cols[0])
    x, y = grid.cell_centres(np.array([r]), np.array([c]))
    t = grid.transform
    xs = (t.c + cols.min() * t.a, t.c + (cols.max() + 1) * t.a)
    ys = (t.f + (rows.max() + 1) * t.e, t.f + rows.min() * t.e)
    raise InvalidParameter(
        f"El ráster de resistencia «{name}» tiene {number(n)} celda(s) con valor ≤ 0 (la resistencia debe ser > 0; "
        f"use nodata para las barreras). La primera: fila {r + 1}, columna {c + 1} (x {x[0]:.1f}, y {y[0]:.1f}), "
        f"valor {flexible(float(grid.array[r, c]), 6)}; todas dentro de x {min(xs):.1f}–{max(xs):.1f}, "
        f"y {min(ys):.1f}–{max(ys):.1f} ({grid.crs.to_string()}).",
        cells=n, first=[r + 1, c + 1])


def read_table(path, name: str) -> dict[float, float]:
    """A class → resistance CSV (two columns; header optional; «;» or «,» separated, decimal comma with «;»)."""
    raw = Path(path).read_bytes()[: 1 << 20]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DataFileError(f"La tabla «{name}» está vacía.", file=name)
    delim = ";" if lines[0].count(";") >= lines[0].count(",") and ";" in lines[0] else ","
    table: dict[float, float] = {}
    for n, row in enumerate(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim), start=1):
        cells = [c.strip() for c in row]
        if len(cells) < 2:
            raise DataFileError(f"Tabla «{name}», fila {n}: se esperan dos columnas (clase, resistencia); hay "
                                f"{len(cells)}.", file=name, row=n)
        k, v = _number(cells[0], delim), _number(cells[1], delim)
        if n == 1 and k is None and v is None:
            continue  # header
        if k is None or v is None:
            bad = cells[0] if k is None else cells[1]
            raise DataFileError(f"Tabla «{name}», fila {n}: «{bad[:40]}» no es un número.", file=name, row=n)
        if not v > 0:
            raise DataFileError(f"Tabla «{name}», fila {n}: la resistencia de la clase {flexible(k, 6)} es "
                                f"{flexible(v, 6)}; debe ser > 0 (deje la clase fuera del ráster como nodata "
                                "para una barrera).", file=name, row=n)
        if k in table:
            raise DataFileError(f"Tabla «{name}», fila {n}: la clase {flexible(k, 6)} está repetida.", file=name, row=n)
        table[k] = v
        if len(table) > MAX_TABLE_ROWS:
            raise DataFileError(f"La tabla «{name}» tiene más de {MAX_TABLE_ROWS} clases.", file=name)
    if not table:
        raise DataFileError(f"La tabla «{name}» no tiene filas de datos (clase, resistencia).", file=name)
    return table


def _number(text: str, delim: str) -> float | None:
    t = text.replace("\u00a0", "").replace(" ", "")
    if delim == ";":
        t = t.replace(".", "").replace(",", ".") if "," in t else t
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def classes_to_resistance(grid: Grid, table: dict[float, float], name: str, table_name: str) -> Grid:
    """Land-cover classes → resistance; a class of the raster missing from the table is refused (with its
    cell count and first cell)."""
    a = grid.array
    valid = np.isfinite(a)
    present = np.unique(a[valid])
    missing = [float(v) for v in present if float(v) not in table]
    if missing:
        first = []
        for v in missing[:MAX_LISTED]:
            rows, cols = np.nonzero(a == v)
            first.append(f"{flexible(v, 6)} ({number(len(rows))} celdas; primera en fila {rows[0] + 1}, "
                         f"columna {cols[0] + 1})")
        raise InvalidParameter(
            f"Clases de «{name}» sin resistencia en la tabla «{table_name}»: " + "; ".join(first)
            + ("…" if len(missing) > MAX_LISTED else "") + ". Agréguelas a la tabla.", classes=missing[:MAX_LISTED])
    out = np.full(a.shape, np.nan)
    for k, v in table.items():
        out[a == k] = v
    return Grid(out, grid.transform, grid.crs, np.nan, list(grid.notes))


def read_grid(path, name: str) -> None:
    """A Circuitscape grid (ESRI ASCII .asc or GeoTIFF, no CRS needed, as Circuitscape): opens with its
    extension's driver only, within the cell limit, with some data. Its role (habitat, points…) and its
    size against the habitat are checked when a run names it."""
    with readers.open_raster(path, name=Path(path).name, drivers=readers.GRID_DRIVERS) as ds:
        cap = max_cells()
        if ds.width * ds.height > cap:
            raise InvalidParameter(f"La cuadrícula «{name}» tiene {number(ds.width * ds.height)} celdas ({ds.width} × "
                                   f"{ds.height}); el máximo es {number(cap)}.")
        try:
            arr = ds.read(1, masked=True)
        except rasterio.errors.RasterioError as exc:  # a truncated or malformed grid after a good header
            raise DataFileError(f"No se pudo leer la cuadrícula «{name}»: {readers.clean_error(exc, path, name)}.",
                                file=name) from None
    if arr.count() == 0:
        raise DataFileError(f"La cuadrícula «{name}» no tiene ninguna celda con dato (todo es nodata).", file=name)


def read_list(path, name: str) -> None:
    """A Circuitscape text list (points «id x y», sources/grounds «valor x y», source strengths «id valor»,
    included pairs «min/max» matrix or «mode include|exclude» + pairs): UTF-8 numbers, line by line."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataFileError(f"«{name}» no es un texto UTF-8: una lista de Circuitscape tiene números por línea.",
                            file=name) from None
    rows = 0
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.replace(",", " ").split()
        if not parts or (n <= 2 and parts[0].lower() in LIST_HEADS):
            continue
        for p in parts:
            try:
                ok = math.isfinite(float(p))
            except ValueError:
                ok = False
            if not ok:
                raise DataFileError(f"«{name}», línea {n}: «{p[:40]}» no es un número.", file=name, row=n)
        rows += 1
    if not rows:
        raise DataFileError(f"«{name}» no tiene ninguna línea de números.", file=name)


# Checks run when a file is stored (upload or command), before a run is started.
VALIDATORS = {
    "cores": lambda p, n: read_cores(p, n),
    "resistance": lambda p, n: read_raster(p, n),  # values ≤ 0 refused with their count and place
    "landcover": lambda p, n: read_raster(p, n, classes=True),  # a class raster may hold 0
    "table": read_table,
    "grid": read_grid,
    "list": read_list,
}


def check_cores_on_raster(cores_ref, raster_ref, kind: str) -> None:
    """Before a run exists: every core of a cores file must meet the raster's extent (header only)."""
    cpath, cname = resolve(cores_ref, "cores")
    rpath, rname = resolve(raster_ref, kind)
    with readers.open_raster(rpath, name=rpath.name) as ds:
        if ds.crs is None:
            return  # refused with its own message when the run reads it
        crs, b = CRS.from_user_input(ds.crs), ds.bounds
    gdf = read_cores(cpath, cname).to_crs(crs)
    box = shapely.box(b.left, b.bottom, b.right, b.top)
    outside = [n for n, g in zip(gdf["_name"], gdf.geometry) if not g.intersects(box)]
    if outside:
        raise OutsideValle(
            f"{len(outside)} núcleo(s) de «{cname}» quedan fuera del ráster «{rname}» (x {b.left:.0f}–{b.right:.0f}, "
            f"y {b.bottom:.0f}–{b.top:.0f} en {crs.to_string()}): " + ", ".join(outside[:MAX_LISTED])
            + ("…" if len(outside) > MAX_LISTED else "") + ".", cores=outside[:MAX_LISTED])
