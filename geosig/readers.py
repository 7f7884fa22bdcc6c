"""The one place that opens geographic files: rasters with ``open_raster``, vectors with ``read_vector``.

A file is opened only with the GDAL/OGR driver its extension promises, after its first bytes say it
really is that format. GDAL would otherwise open whatever the content is: a VRT (XML) saved as
``x.tif`` reads any local file or URL it names. Refused before GDAL sees them: virtual paths (``/vsi…``),
URLs and driver prefixes (``CSV:…``), VRT content, and content that does not match the extension.
``geosig.gdal_hardening`` is the second wall (VRT drivers and network off in every GDAL of the process).

Messages are in Spanish and name the file by its base name only (``name``, else the file's name),
never a server path. Vectors follow one CRS rule: a file without CRS is refused unless the caller
gives an explicit ``srid``; a file that declares a CRS other than that ``srid`` is refused too.
"""
from __future__ import annotations

import json
import re
import sqlite3
import struct
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import shapely

from geosig.errors import CRSMismatch, DataFileError, InvalidParameter

RASTER_DRIVERS = {".tif": "GTiff", ".tiff": "GTiff"}
# Circuitscape's native grids (ESRI ASCII), for the circuit engine only: layer uploads keep RASTER_DRIVERS.
GRID_DRIVERS = {**RASTER_DRIVERS, ".asc": "AAIGrid"}
VECTOR_DRIVERS = {
    ".gpkg": ("GPKG",),
    ".shp": ("ESRI Shapefile",),
    ".geojson": ("GeoJSON",),
    ".json": ("GeoJSON",),
    ".kml": ("KML", "LIBKML"),
}
FORMAT_ES = {"GTiff": "un GeoTIFF", "GPKG": "un GeoPackage", "ESRI Shapefile": "un Shapefile",
             "GeoJSON": "un GeoJSON", "KML": "un KML", "AAIGrid": "una cuadrícula ASCII de ESRI (.asc)"}
# First bytes of each binary format: TIFF (II*, MM*) and BigTIFF (II+, MM+); SQLite (GeoPackage);
# the big-endian file code 9994 of a .shp.
MAGIC = {
    "GTiff": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
    "GPKG": (b"SQLite format 3\x00",),
    "ESRI Shapefile": (struct.pack(">i", 9994),),
}
VRT_MARKERS = (b"<vrtdataset", b"<ogrvrtdatasource")
HEAD_BYTES = 64 * 1024
# "http://…", "CSV:/etc/passwd", "GPKG:/x.gpkg:tabla": GDAL reads a scheme or a driver prefix, not a file.
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_ABS_PATH = re.compile(r"/(?:[^/\s'\"«»]+/)+([^/\s'\"«»]+)")


# ------------------------------------------------------------------------------------------ checks


def label_of(path, name: str | None = None) -> str:
    """The file's base name, for messages: never a server path."""
    return Path(str(name or path)).name or "archivo"


def clean_error(exc, path=None, label: str = "") -> str:
    """A GDAL error for a user: server paths reduced to base names, no trailing period."""
    msg = str(exc).strip().rstrip(".") or exc.__class__.__name__
    if path is not None:
        msg = msg.replace(str(path), label)
    msg = _ABS_PATH.sub(r"\1", msg)
    return msg if len(msg) <= 300 else msg[:299] + "…"  # GDAL's reason, not a dump of the file


def check_file(path, *, name: str | None = None, drivers: dict | None = None,
               hint: str = "") -> tuple[Path, str, tuple]:
    """Refuse what must not reach GDAL; return (path, label, allowed drivers) of a file that may.

    ``drivers`` is the registry to use (``RASTER_DRIVERS``, ``VECTOR_DRIVERS``); the extension comes
    from ``name`` when given (an upload keeps its original name), else from the path. ``hint`` follows
    the message for a missing file (e.g. "Ejecute 'python manage.py fetch_data'.").
    """
    drivers = drivers or {**RASTER_DRIVERS, **VECTOR_DRIVERS}
    label = label_of(path, name)
    text = str(path)
    if text.lower().startswith("/vsi") or "://" in text or _PREFIX.match(text):
        raise DataFileError(f"No se pudo leer «{label}»: las rutas virtuales de GDAL y las direcciones de red "
                            "no se admiten; solo archivos locales.", file=label)
    ext = Path(label).suffix.lower()
    if ext not in drivers:
        raise InvalidParameter(f"Formato de «{label}» no admitido. Extensiones válidas: {', '.join(sorted(drivers))}.")
    p = Path(text)
    if not p.is_file():
        raise DataFileError(f"No existe el archivo «{label}». {hint}".strip(), file=label)
    allowed = drivers[ext] if isinstance(drivers[ext], tuple) else (drivers[ext],)
    _check_content(p, label, allowed[0])
    return p, label, allowed


def _check_content(path: Path, label: str, driver: str) -> None:
    is_text = driver in ("GeoJSON", "KML")
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES if is_text else 1024)  # binary formats: the magic number is enough
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    lower = text.lower()
    if (is_text or lower.startswith(b"<")) and any(m in lower for m in VRT_MARKERS):  # XML: after <?xml …?> too
        raise DataFileError(
            f"No se pudo leer «{label}»: es un VRT de GDAL (XML que remite a otros archivos o a direcciones de "
            f"red), no {FORMAT_ES[driver]}. Los VRT no se admiten.", file=label)
    if driver in MAGIC:
        ok = head.startswith(MAGIC[driver])
    elif driver == "GeoJSON":
        ok = text.startswith(b"{")
    elif driver == "AAIGrid":  # a text header that opens with the column count
        ok = lower.startswith(b"ncols")
    else:  # KML: XML whose root element is <kml>
        ok = text.startswith(b"<") and re.search(rb"<(?:\w+:)?kml[\s>]", lower) is not None
    if not ok:
        raise DataFileError(f"No se pudo leer «{label}»: su contenido no es {FORMAT_ES[driver]} "
                            f"(no corresponde a la extensión {Path(label).suffix.lower()}).", file=label)


# ------------------------------------------------------------------------------------------ rasters


def open_raster(path, *, name: str | None = None, hint: str = "", drivers: dict | None = None):
    """A checked GeoTIFF opened with rasterio's GTiff driver only (use as a context manager).

    ``drivers=GRID_DRIVERS`` also admits ESRI ASCII grids (.asc, AAIGrid driver only)."""
    p, label, allowed = check_file(path, name=name, drivers=drivers or RASTER_DRIVERS, hint=hint)
    try:
        # EMPTY_DIR: GDAL must not look next to the file. It would open a sidecar ``x.tif.ovr`` / ``.msk`` /
        # ``.aux`` (which can come in the same upload zip) with ANY driver, and once a WarpedVRT has
        # re-registered the VRT driver in rasterio's GDAL, a VRT saved as ``x.tif.ovr`` reads any raster
        # of the server as the overview (found by trying). The sibling list is taken at open time.
        with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"):
            return rasterio.open(p, driver=allowed[0])
    except rasterio.errors.RasterioError as exc:
        raise DataFileError(f"No se pudo leer el ráster «{label}»: {clean_error(exc, p, label)}.", file=label) from exc


# ------------------------------------------------------------------------------------------ vectors


def list_layers(path, *, name: str | None = None) -> list[tuple[str, str | None]]:
    """(layer name, geometry type or None) of a checked vector file, read with its own driver."""
    p, label, allowed = _vector_file(path, name)
    try:
        return [(str(n), g) for n, g in pyogrio.list_layers(p)]
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise DataFileError(f"No se pudo leer «{label}»: {clean_error(exc, p, label)}.", file=label) from exc


def read_vector(path, *, name: str | None = None, layer: str | None = None, encoding: str | None = None,
                srid: int | None = None, to_srid: int | None = None, required_fields=(), hint: str = ""):
    """A vector layer as a GeoDataFrame: checked, with its own driver, nothing lost without saying so.

    Refused: a file whose features come back without geometry because the file is damaged (a truncated
    Shapefile, an unreadable geometry), coordinates that are not finite numbers (NaN, Infinity), a
    missing ``required_fields`` column, and the CRS rule of the module. ``to_srid`` reprojects.
    """
    p, label, allowed = _vector_file(path, name, hint)
    kwargs = {"layer": layer} if layer else {}
    if encoding:
        kwargs["encoding"] = encoding
    where = f"la capa «{layer}» de «{label}»" if layer else f"«{label}»"
    try:
        gdf = gpd.read_file(p, engine="pyogrio", **kwargs)
    except Exception as exc:
        raise DataFileError(f"No se pudo leer {where}: {clean_error(exc, p, label)}.", file=label) from exc
    _check_complete(p, label, allowed[0], layer, gdf)
    _check_finite(gdf, where)
    missing = [f for f in required_fields if f not in gdf.columns]
    if missing:
        raise DataFileError(f"A {where} le falta el campo {', '.join(map(repr, missing))}.", file=label,
                            field=missing[0])
    gdf = _apply_crs(gdf, where, srid)
    return gdf.to_crs(to_srid) if to_srid and gdf.crs.to_epsg() != to_srid else gdf


def _vector_file(path, name, hint: str = "") -> tuple[Path, str, tuple]:
    p, label, allowed = check_file(path, name=name, drivers=VECTOR_DRIVERS, hint=hint)
    if allowed[0] == "ESRI Shapefile":
        check_shapefile_parts(p, label)
    try:
        with warnings.catch_warnings():  # "more than one layer": only the driver is wanted here
            warnings.simplefilter("ignore", UserWarning)
            driver = pyogrio.read_info(p)["driver"]
    except Exception as exc:
        raise DataFileError(f"No se pudo leer «{label}»: {clean_error(exc, p, label)}.", file=label) from exc
    if driver not in allowed:
        raise DataFileError(f"No se pudo leer «{label}»: GDAL lo reconoce como {driver}, no como "
                            f"{FORMAT_ES[allowed[0]]}.", file=label)
    return p, label, allowed


def sibling(path: Path, ext: str) -> Path | None:
    """The file next to ``path`` with the same stem and extension ``ext`` (any letter case)."""
    for cand in path.parent.iterdir():
        if cand.stem == path.stem and cand.suffix.lower() == ext:
            return cand
    return None


def check_shapefile_parts(path: Path, label: str) -> None:
    missing = [f"{Path(label).stem}{ext}" for ext in (".shx", ".dbf") if sibling(path, ext) is None]
    if missing:
        raise DataFileError(
            f"El Shapefile «{label}» está incompleto: el estándar ESRI exige .shp, .shx y .dbf, y falta "
            f"«{missing[0]}»" + (f" y «{missing[1]}»" if len(missing) > 1 else "") + ". Nada se guardó.",
            file=label)


def _apply_crs(gdf, where: str, srid: int | None):
    if gdf.crs is None:
        if srid is None:
            raise CRSMismatch(f"{where[0].upper()}{where[1:]} no declara su sistema de coordenadas (CRS). Indique "
                              "el SRID (p. ej. 3115 para MAGNA-SIRGAS Oeste). Nada se guardó.")
        gdf = gdf.set_crs(srid)
        gdf.attrs["crs_assigned"] = True  # the caller may say so in its report
        return gdf
    if srid is not None and gdf.crs.to_epsg() != srid:
        epsg = gdf.crs.to_epsg(min_confidence=70)
        declared = f"EPSG:{epsg} ({gdf.crs.name})" if epsg else gdf.crs.name
        raise CRSMismatch(f"{where[0].upper()}{where[1:]} declara {declared} pero se indicó EPSG:{srid}. "
                          "Quite la opción o corrija el archivo. Nada se guardó.")
    return gdf


def _check_finite(gdf, where: str) -> None:
    coords, idx = shapely.get_coordinates(np.asarray(gdf.geometry.array), return_index=True)
    bad = np.unique(idx[~np.isfinite(coords).all(axis=1)])
    if len(bad):
        raise InvalidParameter(f"{where[0].upper()}{where[1:]} tiene coordenadas que no son números finitos "
                               f"(NaN o Infinity) en {_features(bad + 1)}. Corrija el archivo. Nada se guardó.")


def _features(numbers) -> str:
    """«el elemento 2», «los elementos 2 y 3», «los elementos 1, 2, … 15 y 40 más» (1-based)."""
    numbers = [str(int(n)) for n in numbers]
    if len(numbers) == 1:
        return f"el elemento {numbers[0]}"
    if len(numbers) > 15:
        return f"los elementos {', '.join(numbers[:15])} y {len(numbers) - 15} más"
    return f"los elementos {', '.join(numbers[:-1])} y {numbers[-1]}"


# ------------------------------------------------------------------------------- damaged files


def _check_complete(path: Path, label: str, driver: str, layer: str | None, gdf) -> None:
    """Refuse a file whose features GDAL returned without geometry (or not at all) because it is damaged.

    A feature may legitimately have no geometry (GeoJSON ``null``, a Shapefile null shape); those are
    told apart by reading the file's own structure: the .shx/.dbf headers and record types of a
    Shapefile, the geometry blobs of a GeoPackage, the JSON of a GeoJSON.
    """
    lost = np.flatnonzero(np.asarray(gdf.geometry.isna()))
    damaged: list[int] = []
    if driver == "ESRI Shapefile":
        damaged = _shapefile_damage(path, label, len(gdf), set(lost.tolist()))
    elif len(lost) and driver == "GPKG":
        damaged = _gpkg_damage(path, layer, gdf, lost)
    elif len(lost) and driver == "GeoJSON":
        damaged = _geojson_damage(path, lost)
    if damaged:
        verb = "no se pudo" if len(damaged) == 1 else "no se pudieron"
        raise DataFileError(f"«{label}» está dañado: {_features(damaged)} {verb} leer (la geometría está "
                            "cortada o no es legible). Nada se guardó.", file=label)


def _shapefile_damage(shp: Path, label: str, n_read: int, lost: set[int]) -> list[int]:
    """Features of a Shapefile whose geometry is cut off or unreadable (1-based), from its own headers.

    The .shx and .dbf headers both announce the record count; records flagged deleted in the .dbf are
    skipped by GDAL on purpose (not a loss); every other record must have been read, and a record that
    GDAL returned without geometry must be a null shape (type 0) lying wholly inside the .shp.
    """
    with open(sibling(shp, ".shx"), "rb") as fh:
        header, index = fh.read(100), fh.read()
    kept = _dbf_kept_records(sibling(shp, ".dbf"))
    n_shx = (struct.unpack(">i", header[24:28])[0] * 2 - 100) // 8 if len(header) == 100 else -1
    n_dbf = len(kept) if kept is not None else -1
    if kept is None or n_shx != n_dbf or len(index) < 8 * n_shx or n_read != sum(kept):
        raise DataFileError(
            f"«{label}» está dañado: el índice .shx anuncia {max(n_shx, 0)} elementos, la tabla .dbf "
            f"{max(n_dbf, 0)} y se pudieron leer {n_read}. Nada se guardó.", file=label)
    size = shp.stat().st_size
    damaged = []
    rows = [i for i, k in enumerate(kept) if k]  # gdf row j is record rows[j]
    lost_records = {rows[j] for j in lost}
    with open(shp, "rb") as fh:
        for i in rows:
            offset, length = struct.unpack(">ii", index[8 * i: 8 * i + 8])
            start, end = offset * 2, offset * 2 + 8 + length * 2
            if end > size or start < 100 or length < 2:
                damaged.append(i + 1)  # the record is cut off (or the index points outside the file)
            elif i in lost_records:
                fh.seek(start + 8)
                if struct.unpack("<i", fh.read(4))[0] != 0:  # not a null shape: GDAL could not read it
                    damaged.append(i + 1)
    return damaged


def _dbf_kept_records(dbf: Path) -> list[bool] | None:
    """One flag per .dbf record: False where the record is marked deleted ("*"); None if unreadable."""
    with open(dbf, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12:
            return None
        n, header_len, record_len = struct.unpack("<IHH", head[4:12])
        kept = []
        for i in range(n):
            fh.seek(header_len + i * record_len)
            flag = fh.read(1)
            if not flag:
                return None  # the table is cut off
            kept.append(flag != b"*")
    return kept


def _gpkg_damage(path: Path, layer: str | None, gdf, lost) -> list[int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall()
        table, column = next((t, c) for t, c in rows if layer in (None, t))
        q = lambda name: '"' + str(name).replace('"', '""') + '"'  # noqa: E731  names come from the user's file
        pk = next(r[1] for r in con.execute(f"PRAGMA table_info({q(table)})") if r[5])
        present = [bool(v) for (v,) in con.execute(
            f"SELECT {q(column)} IS NOT NULL FROM {q(table)} ORDER BY {q(pk)}")]
    except (sqlite3.Error, StopIteration):
        return [int(i) + 1 for i in lost]  # GDAL lost geometries and the file cannot say why: damaged
    finally:
        con.close()
    if len(present) != len(gdf):
        return [int(i) + 1 for i in lost]
    return [int(i) + 1 for i in lost if present[i]]


def _geojson_damage(path: Path, lost) -> list[int]:
    try:
        data = json.loads(path.read_bytes())
    except ValueError:
        return [int(i) + 1 for i in lost]
    if not isinstance(data, dict):
        return [int(i) + 1 for i in lost]
    if data.get("type") == "FeatureCollection":
        features = data.get("features") or []
    elif data.get("type") == "Feature":
        features = [data]
    else:  # a bare geometry is one feature
        features = [{"geometry": data}]
    return [int(i) + 1 for i in lost
            if i >= len(features) or not isinstance(features[i], dict) or features[i].get("geometry") is not None]
