"""Import of environmental layers: one public function, ``import_layer``, and a registry of readers.

Pipeline: read (registry by file extension) → check CRS → validate every layer in memory (empty,
mixed geometry types, invalid geometries, outside the Valle, raster size) → reproject vectors to EPSG:4326
(rasters keep their own CRS and grid, as a COG) → write everything in ONE transaction. Any refusal raises a ``GeoSIGError`` with a Spanish message before
the database (or MEDIA_ROOT) is touched, so a bad file stores nothing. The returned ``ImportReport``
says, feature by feature, what was repaired or dropped.
"""
from __future__ import annotations

import codecs
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import connection, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from pyproj import CRS
from pyproj.exceptions import CRSError
from rasterio.shutil import copy as rio_copy
from rasterio.warp import transform_bounds

from geosig import readers
from geosig.errors import (
    ConflictError,
    CRSMismatch,
    DataFileError,
    InvalidGeometry,
    InvalidParameter,
    OutsideValle,
)
from layers.models import Feature, FeaturePiece, Layer, Theme
from layers.services import styles
from layers.services.archives import safe_extract
from layers.services.partitions import build_layer_partitions

INVALID_POLICIES = ("repair", "reject")
METADATA_KEYS = {
    "title", "slug", "description", "source", "licence", "data_date", "class_field", "label_field",
    "caveat", "is_partial", "is_demo", "is_derived", "derivation_note", "visible_by_default", "order",
    "ramp", "unit", "style",
}
FAMILY = {0: "point", 4: "point", 1: "line", 2: "line", 5: "line", 3: "polygon", 6: "polygon"}
FAMILY_ES = {"point": "puntos", "line": "líneas", "polygon": "polígonos", 7: "colecciones"}
MAX_LISTED = 15  # findings listed one by one in the report; the rest are counted
CLASS_HINTS = ("clase", "class", "tipo", "categ", "amenaza", "eco_name", "nombre", "name")


@dataclass
class LayerReport:
    slug: str
    title: str
    kind: str
    source_format: str
    source_crs: str = ""
    feature_count: int = 0
    status: str = "creada"  # creada | reemplazada | sin cambios
    repaired: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    source: str
    layers: list[LayerReport] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        lines = [f"Archivo: {self.source}"]
        for r in self.layers:
            unit = "píxeles" if r.kind == "raster" else "elementos"
            lines.append(f"- Capa «{r.slug}» ({r.title}), {r.kind}, {r.source_format}: {r.status}; "
                         f"{r.feature_count:,} {unit}; CRS de origen {r.source_crs}"
                         + (" (ráster guardado en su CRS y grilla)." if r.kind == "raster" else " → EPSG:4326."))
            lines.append("  Reparado: " + ("; ".join(r.repaired) if r.repaired else "nada") + ".")
            lines.append("  Rechazado: " + ("; ".join(r.rejected) if r.rejected else "nada") + ".")
            for n in r.notes:
                lines.append(f"  Nota: {n}")
        return "\n".join(lines)


@dataclass
class Options:
    layer: str | None
    theme: str
    srid: int | None
    invalid: str
    encoding: str | None
    replace: bool
    metadata: dict
    original_name: str


@dataclass
class VectorSource:
    name: str
    gdf: gpd.GeoDataFrame
    fmt: str
    notes: list[str] = field(default_factory=list)


@dataclass
class RasterSource:
    name: str
    path: Path
    fmt: str
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- public


def import_layer(
    path,
    *,
    layer: str | None = None,
    theme: str = Theme.OTRO,
    srid: int | None = None,
    invalid: str | None = None,
    encoding: str | None = None,
    replace: bool = False,
    metadata: dict | None = None,
    original_name: str | None = None,
    user=None,
) -> ImportReport:
    """Import every layer of the file at ``path`` (or only ``layer``) and report what happened.

    ``invalid``: "repair" (MakeValid, reported) or "reject" (nothing stored); default from settings.
    ``srid``: CRS to assume when the file declares none (e.g. a Shapefile without .prj).
    ``replace``: update an existing layer with the same slug (otherwise that is a conflict); an
    unchanged file (same content and metadata) is then skipped, so loaders can run twice.
    """
    opts = _check_options(path, layer, theme, srid, invalid, encoding, replace, metadata, original_name)
    path = Path(path)
    fmt = _format_of(opts.original_name)
    fingerprint = _fingerprint(path, opts)
    report = ImportReport(source=opts.original_name)
    with tempfile.TemporaryDirectory(prefix="geosig-import-") as tmp:
        sources = READERS[fmt](path, Path(tmp), opts)
        sources = _select(sources, opts.layer, opts.original_name)
        multi = len(sources) > 1
        prepared = []
        for src in sources:
            slug = _slug_for(src, opts, multi)
            existing = Layer.objects.filter(slug=slug).first()
            if existing and not opts.replace:
                raise ConflictError(f"Ya existe una capa «{slug}». Use otro título o la opción de reemplazar.")
            if existing and existing.import_report.get("fingerprint") == f"{fingerprint}:{src.name}":
                report.layers.append(LayerReport(slug, existing.title, existing.kind, src.fmt,
                                                 existing.source_crs, existing.feature_count, "sin cambios"))
                continue
            prep = PREPARERS[type(src)](src, opts, Path(tmp))
            prep.update(slug=slug, existing=existing, fingerprint=f"{fingerprint}:{src.name}", multi=multi)
            prepared.append(prep)
        new_files: list[Path] = []
        old_files: list[Path] = []
        try:
            with transaction.atomic():
                for prep in prepared:
                    report.layers.append(_write(prep, opts, user, new_files, old_files))
        except BaseException:
            for f in new_files:
                f.unlink(missing_ok=True)
            raise
        for f in old_files:
            f.unlink(missing_ok=True)
    return report


# ------------------------------------------------------------------------------------------ options


def _check_options(path, layer, theme, srid, invalid, encoding, replace, metadata, original_name) -> Options:
    if theme not in Theme.values:
        raise InvalidParameter(f"Tema «{theme}» desconocido. Valores válidos: {', '.join(Theme.values)}.")
    invalid = invalid or settings.GEOSIG_LAYERS_INVALID_POLICY
    if invalid not in INVALID_POLICIES:
        raise InvalidParameter(
            f"Política de geometrías inválidas «{invalid}» desconocida. Valores válidos: {', '.join(INVALID_POLICIES)}."
        )
    if srid is not None:
        try:
            srid = int(srid)
            CRS.from_epsg(srid)
        except (ValueError, CRSError) as exc:
            raise InvalidParameter(f"El SRID «{srid}» no es un código EPSG conocido.") from exc
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError as exc:
            raise InvalidParameter(f"Codificación «{encoding}» desconocida (p. ej. latin-1, utf-8, cp1252).") from exc
        # GDAL wants its own spelling (ISO-8859-1, CP1252, UTF-8), not Python's aliases (latin-1)
        encoding = {"iso8859-1": "ISO-8859-1", "utf-8": "UTF-8"}.get(name, name.upper())
    metadata = dict(metadata or {})
    unknown = set(metadata) - METADATA_KEYS
    if unknown:
        raise InvalidParameter(
            f"Metadatos desconocidos: {', '.join(sorted(unknown))}. Válidos: {', '.join(sorted(METADATA_KEYS))}."
        )
    p = Path(path)
    if not p.is_file():
        raise DataFileError(f"No existe el archivo «{p}».")
    size = p.stat().st_size
    if size > settings.GEOSIG_MAX_UPLOAD_BYTES:
        raise InvalidParameter(
            f"El archivo pesa {size / 1e6:,.1f} MB; el máximo permitido es "
            f"{settings.GEOSIG_MAX_UPLOAD_BYTES / 1e6:,.1f} MB."
        )
    return Options(layer, theme, srid, invalid, encoding, bool(replace), metadata, original_name or p.name)


def _format_of(name: str) -> str:
    lower = name.lower()
    for ext in sorted(READERS, key=len, reverse=True):
        if lower.endswith(ext):
            return ext
    raise InvalidParameter(
        f"Formato de «{name}» no admitido. Extensiones válidas: {', '.join(sorted(READERS))}."
    )


def _fingerprint(path: Path, opts: Options) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    h.update(json.dumps([opts.theme, opts.srid, opts.invalid, opts.encoding, opts.metadata],
                        sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


def _select(sources: list, wanted: str | None, name: str) -> list:
    if not wanted:
        return sources
    chosen = [s for s in sources if s.name == wanted]
    if not chosen:
        names = ", ".join(s.name for s in sources)
        raise InvalidParameter(f"«{name}» no tiene una capa «{wanted}». Capas disponibles: {names}.")
    return chosen


def _slug_for(src, opts: Options, multi: bool) -> str:
    meta = opts.metadata
    if meta.get("slug") and not multi:
        return meta["slug"]
    base = meta.get("slug") or slugify(Path(opts.original_name).name.split(".")[0]).replace("_", "-") or "capa"
    slug = f"{base}-{slugify(src.name).replace('_', '-')}" if multi else base
    return slug[:80]


# ------------------------------------------------------------------------------------------ readers


def _vector_layers(path: Path, fmt: str, opts: Options, notes=None) -> list[VectorSource]:
    # geosig.readers: content checked against the extension, its own driver only, damaged files and
    # non-finite coordinates refused, one CRS rule (no CRS → refused unless --srid)
    listed = readers.list_layers(path, name=opts.original_name)
    out = []
    for name, gtype in listed:
        if gtype is None:
            continue  # attribute-only table (e.g. in a GeoPackage)
        if opts.layer and name != opts.layer:
            out.append(VectorSource(name, None, fmt))  # listed, not read: only for the error message
            continue
        gdf = readers.read_vector(path, name=opts.original_name, layer=name, encoding=opts.encoding, srid=opts.srid)
        out.append(VectorSource(name, gdf, fmt, list(notes or [])))
    if not out:
        raise DataFileError(f"«{opts.original_name}» no contiene ninguna capa con geometría.")
    return out


def read_geopackage(path, tmp, opts):
    return _vector_layers(path, "GeoPackage", opts)


def read_geojson(path, tmp, opts):
    return _vector_layers(path, "GeoJSON", opts)


def read_kml(path, tmp, opts):
    return _vector_layers(path, "KML", opts)


def read_shapefile(path, tmp, opts):
    path = Path(path)
    readers.check_shapefile_parts(path, Path(opts.original_name).name)  # .shp, .shx and .dbf, or refused
    notes = []
    cpg = _sibling(path, ".cpg")
    if opts.encoding:
        notes.append(_("Atributos del DBF leídos como %(enc)s (opción de codificación).") % {"enc": opts.encoding})
    elif cpg:
        notes.append(_("Atributos del DBF leídos según el .cpg (%(cpg)s).") % {"cpg": cpg.read_text(errors="replace").strip()})
    else:
        notes.append(_("Sin .cpg ni opción de codificación: GDAL decide según el encabezado del DBF."))
    if not _sibling(path, ".prj") and opts.srid is None:
        raise CRSMismatch(
            f"El Shapefile «{path.name}» no trae archivo .prj: no se sabe en qué sistema de coordenadas está. "
            "Inclúyalo en el zip o indique el SRID (p. ej. --srid 3115 para MAGNA-SIRGAS Oeste). Nada se guardó."
        )
    return _vector_layers(path, "Shapefile", opts, notes)


def read_geotiff(path, tmp, opts):
    readers.check_file(path, name=opts.original_name, drivers=readers.RASTER_DRIVERS)  # a TIFF, not a VRT
    return [RasterSource(Path(opts.original_name).name.split(".")[0], Path(path), "GeoTIFF")]


INNER_EXTENSIONS = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".tif", ".tiff")


def read_zip(path, tmp, opts):
    files = safe_extract(path, tmp / "unzipped")
    data = [f for f in files if f.suffix.lower() in INNER_EXTENSIONS and not f.name.startswith(".")]
    if not data:
        raise DataFileError(
            f"El zip «{opts.original_name}» no contiene datos geográficos ({', '.join(INNER_EXTENSIONS)})."
        )
    out = []
    for f in sorted(data):
        inner = Options(**{**asdict(opts), "original_name": f.name})
        sources = READERS[_format_of(f.name)](f, tmp, inner)
        for s in sources:
            s.fmt = f"{s.fmt} (zip)"
        out.extend(sources)
    return out


_sibling = readers.sibling


# Registry: file extension → reader returning a list of sources. New formats add one line here.
READERS: dict[str, Callable] = {
    ".gpkg": read_geopackage,
    ".geojson": read_geojson,
    ".json": read_geojson,
    ".kml": read_kml,
    ".shp": read_shapefile,
    ".zip": read_zip,
    ".tif": read_geotiff,
    ".tiff": read_geotiff,
}


# ----------------------------------------------------------------------------------------- vectors


def prepare_vector(src: VectorSource, opts: Options, tmp: Path) -> dict:
    gdf, name = src.gdf, src.name
    rep = LayerReport(slug="", title="", kind="vector", source_format=src.fmt, notes=list(src.notes))
    gdf = _with_crs(gdf, name, opts, rep)
    geoms = np.asarray(shapely.force_2d(np.asarray(gdf.geometry.array)))
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.all():
        raise DataFileError(f"La capa «{name}» de «{opts.original_name}» está vacía (sin elementos con geometría). "
                            "Nada se guardó.")
    for i in np.flatnonzero(missing)[:MAX_LISTED]:
        rep.rejected.append(f"elemento {i + 1}: sin geometría (descartado)")
    if missing.sum() > MAX_LISTED:
        rep.rejected.append(f"… y {int(missing.sum()) - MAX_LISTED} elementos más sin geometría")
    keep = ~missing
    fids = np.flatnonzero(keep) + 1
    geoms = geoms[keep]
    attrs = gdf.drop(columns=gdf.geometry.name)[keep]
    family = _family(geoms, name)
    geoms = _validate(geoms, fids, family, name, opts, rep)
    valid_now = ~shapely.is_missing(geoms)
    geoms, fids, attrs = geoms[valid_now], fids[valid_now], attrs[valid_now]
    if len(geoms) == 0:
        raise InvalidGeometry(f"Ninguna geometría de «{name}» se pudo reparar. Nada se guardó.")
    series = gpd.GeoSeries(geoms, crs=gdf.crs).to_crs(4326)
    g4326 = np.asarray(series.array)
    bad = ~shapely.is_valid(g4326)
    if bad.any():  # reprojection can fold a ring that was barely valid; repair quietly but say so
        g4326[bad] = [_only_family(shapely.make_valid(g), family) for g in g4326[bad]]
        rep.notes.append(_("%(n)d geometrías se volvieron inválidas al reproyectar y se repararon.") % {"n": int(bad.sum())})
    _check_inside_valle(g4326, name, rep)
    g4326 = _promote(g4326, family)
    measured = gpd.GeoSeries(g4326, crs=4326).to_crs(settings.GEOSIG_MEASURE_SRID)
    g9377 = np.asarray(measured.array)
    area = measured.area.to_numpy() if family == "polygon" else None
    length = measured.length.to_numpy() if family == "line" else None
    # a frame without columns (bare geometry, features without properties) serialises to "[]": one {} each
    records = (json.loads(attrs.to_json(orient="records", date_format="iso", default_handler=str, force_ascii=False))
               if len(attrs.columns) else [{} for _ in range(len(attrs))])
    fields_ = [{"name": c, "type": str(attrs[c].dtype)} for c in attrs.columns]
    class_field = _class_field(attrs, opts.metadata.get("class_field"), name)
    style, class_values = _style_and_classes(attrs, class_field, family, opts.metadata.get("title") or name)
    style = opts.metadata.get("style") or style
    bounds = shapely.total_bounds(g4326)
    rep.feature_count = len(g4326)
    return {
        "report": rep, "kind": "vector", "name": name, "family": family, "geoms": g4326, "fids": fids,
        "records": records, "fields": fields_, "class_field": class_field, "style": style,
        "area": area, "length": length, "bounds": bounds, "measured": g9377, "class_values": class_values,
    }


def _with_crs(gdf, name, opts, rep):
    # geosig.readers applied the CRS rule (a file without CRS was refused unless --srid was given)
    if gdf.attrs.get("crs_assigned"):
        rep.notes.append(_("CRS asignado por el usuario: EPSG:%(srid)s.") % {"srid": opts.srid})
    rep.source_crs = _crs_label(gdf.crs)
    return gdf


def _crs_label(crs) -> str:
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def _family(geoms, name) -> str:
    ids = shapely.get_type_id(geoms)
    fams = [FAMILY.get(int(i), 7) for i in ids]
    counts = {f: fams.count(f) for f in set(fams)}
    if len(counts) > 1 or 7 in counts:
        detail = ", ".join(f"{n} {FAMILY_ES[f]}" for f, n in sorted(counts.items(), key=lambda kv: str(kv[0])))
        raise InvalidGeometry(
            f"La capa «{name}» mezcla tipos de geometría ({detail}). Sepárelos en capas distintas. Nada se guardó."
        )
    return fams[0]


def _validate(geoms, fids, family, name, opts, rep):
    if family == "point":
        return geoms
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms
    idx = np.flatnonzero(invalid)
    reasons = shapely.is_valid_reason(geoms[idx])
    if opts.invalid == "reject":
        listed = "; ".join(f"elemento {fids[i]}: {r}" for i, r in list(zip(idx, reasons))[:MAX_LISTED])
        raise InvalidGeometry(
            f"La capa «{name}» tiene {len(idx)} geometrías inválidas ({listed}). "
            "Política «reject»: nada se guardó (use «repair» para repararlas con MakeValid)."
        )
    out = geoms.copy()
    for n, (i, reason) in enumerate(zip(idx, reasons)):
        fixed = _only_family(shapely.make_valid(geoms[i]), family)
        out[i] = fixed
        if fixed is None:
            if n < MAX_LISTED:
                rep.rejected.append(f"elemento {fids[i]}: {reason} → irreparable (descartado)")
        elif n < MAX_LISTED:
            rep.repaired.append(f"elemento {fids[i]}: {reason} → reparado con MakeValid")
    if len(idx) > MAX_LISTED:
        rep.repaired.append(f"… {len(idx) - MAX_LISTED} geometrías inválidas más tratadas igual")
    return out


def _only_family(geom, family):
    """MakeValid may return a GeometryCollection (e.g. a polygon plus a dangling line): keep the family."""
    if geom is None or geom.is_empty:
        return None
    parts = [p for p in shapely.get_parts(geom) if FAMILY.get(int(shapely.get_type_id(p))) == family]
    if not parts:
        return None
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _check_inside_valle(geoms, name, rep):
    bbox = shapely.box(*settings.GEOSIG_VALLE_BBOX)
    inside = shapely.intersects(geoms, bbox)
    if not inside.any():
        b = shapely.total_bounds(geoms)
        raise OutsideValle(
            f"La capa «{name}» queda completamente fuera del Valle del Cauca (extensión lon {b[0]:.3f}…{b[2]:.3f}, "
            f"lat {b[1]:.3f}…{b[3]:.3f}). ¿CRS equivocado? Nada se guardó."
        )
    if not inside.all():
        rep.notes.append(_("%(n)d elementos quedan fuera del recuadro del Valle (se conservan).") % {"n": int((~inside).sum())})


def _promote(geoms, family):
    if family == "polygon":
        return np.array([g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in geoms],
                        dtype=object)
    if family == "line":
        return np.array(
            [g if g.geom_type == "MultiLineString" else shapely.MultiLineString([g]) for g in geoms], dtype=object)
    return geoms


GRADUATED_CLASSES = 5


def _style_and_classes(attrs, class_field, family, title) -> tuple[dict, list[str]]:
    """Style and the class of each feature: categories of a text attribute, quantile bins of a number."""
    n = len(attrs)
    if not class_field:
        return styles.single(family, label=title), [""] * n
    col = attrs[class_field]
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col) and col.nunique() > GRADUATED_CLASSES:
        values = col.astype("float64").to_numpy()
        breaks = np.unique(np.nanquantile(values, np.linspace(0, 1, GRADUATED_CLASSES + 1)))
        style = styles.graduated(family, class_field, [float(b) for b in breaks])
        idx = np.clip(np.searchsorted(breaks, values, side="right") - 1, 0, len(breaks) - 2)
        labels = [c["label"] for c in style["classes"]]
        return style, [labels[i] if np.isfinite(v) else "" for i, v in zip(idx, values)]
    values = ["" if pd.isna(v) else str(v) for v in col]
    classes = sorted(set(values))
    if len(classes) <= styles.MAX_CATEGORIES:
        return styles.categorized(family, class_field, classes), values
    return styles.single(family, label=title), values  # too many categories to colour; still overlay classes


def _class_field(attrs, wanted, name):
    if wanted:
        if wanted not in attrs.columns:
            raise InvalidParameter(
                f"La capa «{name}» no tiene el atributo «{wanted}». Atributos: {', '.join(map(str, attrs.columns))}."
            )
        return wanted
    candidates = []
    for col in attrs.columns:
        if not (pd.api.types.is_object_dtype(attrs[col]) or pd.api.types.is_string_dtype(attrs[col])):
            continue
        n = attrs[col].nunique(dropna=True)
        if 1 < n <= styles.MAX_CATEGORIES:
            hint = next((i for i, h in enumerate(CLASS_HINTS) if h in str(col).lower()), len(CLASS_HINTS))
            candidates.append((hint, n, col))
    return min(candidates)[2] if candidates else ""


# ------------------------------------------------------------------------------------------ rasters


def prepare_raster(src: RasterSource, opts: Options, tmp: Path) -> dict:
    rep = LayerReport(slug="", title="", kind="raster", source_format=src.fmt, notes=list(src.notes))
    inner = src.path.name if src.fmt.endswith("(zip)") else opts.original_name  # the member's name, not the zip's
    ds = readers.open_raster(src.path, name=inner)  # a real GeoTIFF, GTiff driver only
    with ds:
        pixels = ds.width * ds.height * ds.count
        cap = settings.GEOSIG_LAYERS_MAX_RASTER_PIXELS
        if pixels > cap:
            raise InvalidParameter(
                f"El ráster «{opts.original_name}» tiene {pixels:,} píxeles ({ds.width}×{ds.height}×{ds.count}); "
                f"el máximo configurado es {cap:,}. Recórtelo o remuestréelo. Nada se guardó."
            )
        crs = ds.crs
        if crs is None:
            if opts.srid is None:
                raise CRSMismatch(f"El ráster «{opts.original_name}» no declara su sistema de coordenadas. "
                                  "Indique el SRID. Nada se guardó.")
            crs = rasterio.crs.CRS.from_epsg(opts.srid)
            rep.notes.append(_("CRS asignado por el usuario: EPSG:%(srid)s.") % {"srid": opts.srid})
        rep.source_crs = _crs_label(CRS.from_user_input(crs.to_wkt()))
        if ds.count > 1:
            rep.notes.append(_("El ráster tiene %(n)d bandas: se guardan todas; el estilo, las teselas, la "
                               "identificación y las estadísticas usan la banda 1.") % {"n": ds.count})
        b = transform_bounds(crs, "EPSG:4326", *ds.bounds)
        if not shapely.intersects(shapely.box(*b), shapely.box(*settings.GEOSIG_VALLE_BBOX)):
            raise OutsideValle(
                f"El ráster «{opts.original_name}» queda completamente fuera del Valle del Cauca (lon {b[0]:.3f}…"
                f"{b[2]:.3f}, lat {b[1]:.3f}…{b[3]:.3f}). ¿CRS equivocado? Nada se guardó."
            )
        cog = tmp / f"{uuid.uuid4().hex}.tif"
        try:
            # Stored in its own CRS and grid (cells, values, nodata unchanged): tiles and previews reproject on
            # the fly, zonal statistics and corridors read the native cells.
            if ds.crs is None:
                _copy_with_crs(ds, crs, tmp, cog)
            else:
                rio_copy(ds, cog, driver="COG", compress="DEFLATE", overview_resampling="average")
        except Exception as exc:
            raise DataFileError(f"No se pudo convertir «{opts.original_name}» a COG: {_clean(exc)}.") from exc
    with readers.open_raster(cog) as out:
        # exact statistics up to 25 Mpx (≈100 MB as float32); above, from a reduced read (and said so)
        step = 1 if out.width * out.height <= 25_000_000 else int(np.ceil(max(out.width, out.height) / 4096))
        arr = out.read(1, masked=True, out_shape=(max(1, out.height // step), max(1, out.width // step)))
        if arr.count() == 0:
            raise DataFileError(f"El ráster «{opts.original_name}» no tiene ningún píxel con datos. Nada se guardó.")
        meta = {
            "width": out.width, "height": out.height, "count": out.count, "dtype": out.dtypes[0],
            "nodata": out.nodata, "res": list(out.res),
            # «bounds» stays in EPSG:4326 (tiles, identify and coverage messages test lon/lat against it)
            "bounds": list(transform_bounds(out.crs, "EPSG:4326", *out.bounds, densify_pts=21)),
            **native_meta(out),
            "min": float(arr.min()), "max": float(arr.max()), "mean": float(arr.mean()),
            "stats_note": "aproximadas (lectura reducida)" if step > 1 else "exactas",
            "unit": opts.metadata.get("unit", ""),
        }
    style = opts.metadata.get("style") or styles.ramp(meta["min"], meta["max"], opts.metadata.get("ramp", "elevacion"),
                                                      meta["unit"])
    rep.feature_count = meta["width"] * meta["height"]
    return {"report": rep, "kind": "raster", "name": src.name, "family": "raster", "cog": cog, "meta": meta,
            "style": style, "bounds": tuple(meta["bounds"]), "fields": [], "class_field": ""}


def native_meta(ds) -> dict:
    """The stored grid of a raster as metadata: CRS, affine transform (a, b, c, d, e, f) and bounds in that CRS."""
    epsg = ds.crs.to_epsg() if ds.crs else None
    return {"crs": f"EPSG:{epsg}" if epsg else (ds.crs.to_wkt() if ds.crs else ""),
            "transform": list(ds.transform)[:6], "native_bounds": list(ds.bounds)}


def _copy_with_crs(ds, crs, tmp: Path, cog: Path) -> None:
    """A raster without CRS, given one by the user (srid): the CRS is written into a GeoTIFF copy first."""
    plain = tmp / f"{uuid.uuid4().hex}-crs.tif"
    rio_copy(ds, plain, driver="GTiff")
    with rasterio.open(plain, "r+", driver="GTiff") as dst:
        dst.crs = crs
    with readers.open_raster(plain) as src:
        rio_copy(src, cog, driver="COG", compress="DEFLATE", overview_resampling="average")


PREPARERS = {VectorSource: prepare_vector, RasterSource: prepare_raster}


# -------------------------------------------------------------------------------------------- write


def _write(prep: dict, opts: Options, user, new_files: list, old_files: list) -> LayerReport:
    meta = opts.metadata
    rep: LayerReport = prep["report"]
    layer = prep["existing"] or Layer(slug=prep["slug"], created_by=user)
    if prep["multi"]:
        layer.title = f"{meta['title']} – {prep['name']}" if meta.get("title") else prep["name"]
    else:
        layer.title = meta.get("title") or prep["name"]
    layer.theme = opts.theme
    layer.kind = prep["kind"]
    layer.geometry_type = prep["family"]
    for key in ("description", "source", "licence", "data_date", "caveat", "derivation_note", "label_field"):
        setattr(layer, key, meta.get(key, ""))
    for key in ("is_partial", "is_demo", "is_derived", "visible_by_default"):
        setattr(layer, key, bool(meta.get(key, False)))
    layer.order = int(meta.get("order", 100))
    layer.source_crs = rep.source_crs
    layer.source_format = prep["report"].source_format
    layer.source_file = opts.original_name
    layer.feature_count = rep.feature_count
    x0, y0, x1, y1 = (float(v) for v in prep["bounds"])
    layer.extent = Polygon.from_bbox((x0, y0, x1, y1)) if (x1 > x0 and y1 > y0) else \
        Polygon.from_bbox((x0 - 1e-6, y0 - 1e-6, x1 + 1e-6, y1 + 1e-6))
    layer.extent.srid = 4326
    layer.fields = prep["fields"]
    layer.class_field = prep["class_field"]
    layer.style = prep["style"]
    rep.slug, rep.title = layer.slug, layer.title
    rep.status = "reemplazada" if prep["existing"] else "creada"
    layer.import_report = {**asdict(rep), "fingerprint": prep["fingerprint"]}
    if prep["kind"] == "raster":
        rel = Path("layers") / f"{layer.slug}-{uuid.uuid4().hex[:8]}.tif"
        dest = Path(settings.MEDIA_ROOT) / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(prep["cog"], dest)
        new_files.append(dest)
        if layer.raster_file:
            old_files.append(Path(settings.MEDIA_ROOT) / layer.raster_file)
        layer.raster_file = str(rel)
        layer.raster_meta = prep["meta"]
    else:
        layer.raster_file = ""
        layer.raster_meta = {}
    layer.save()
    if prep["existing"]:
        layer.features.all().delete()
    if prep["kind"] == "vector":
        objs = []
        srid = settings.GEOSIG_MEASURE_SRID
        for i, (g, g9, fid, rec) in enumerate(zip(prep["geoms"], prep["measured"], prep["fids"], prep["records"])):
            cls = prep["class_values"][i]
            objs.append(Feature(
                layer=layer, fid=int(fid), geom=GEOSGeometry(memoryview(shapely.to_wkb(g)), srid=4326),
                geom_measure=GEOSGeometry(memoryview(shapely.to_wkb(g9)), srid=srid), attributes=rec,
                class_value=cls[:200],
                area_m2=float(prep["area"][i]) if prep["area"] is not None else None,
                length_m=float(prep["length"][i]) if prep["length"] is not None else None,
            ))
        Feature.objects.bulk_create(objs, batch_size=2000)
        # the report counts what was stored: read back inside the transaction, refuse any difference
        stored = Feature.objects.filter(layer=layer).count()
        if stored != rep.feature_count or stored != len(objs):
            raise RuntimeError(f"Capa «{layer.slug}»: se prepararon {rep.feature_count} elementos y se guardaron "
                               f"{stored}; la importación se deshizo.")
        if prep["family"] == "polygon":
            _store_pieces(layer)
            build_layer_partitions(layer)  # pieces pre-cut along the reporting partitions (municipalities)
    return rep


def _store_pieces(layer: Layer) -> None:
    """The layer's polygons cut into ST_Subdivide pieces in EPSG:9377 (see FeaturePiece; used by the overlay)."""
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {FeaturePiece._meta.db_table} (feature_id, layer_id, geom) "
                    f"SELECT id, layer_id, ST_Subdivide(geom_measure, %s) FROM {Feature._meta.db_table} "
                    f"WHERE layer_id = %s AND geom_measure IS NOT NULL", [PIECE_VERTICES, layer.pk])


PIECE_VERTICES = 256


def _clean(exc) -> str:
    return readers.clean_error(exc)  # no server paths in messages
