"""Import a municipal POT from GeoPackage / zipped Shapefile / GeoJSON, and export plans the same way.

Import maps the file's class field to our soil classes (an explicit mapping, else the aliases in
``classes.SOIL_CLASS_ALIASES``), reprojects from the file's declared CRS to EPSG:4326, and goes through
the same validated, versioned save as the editor: a bad file changes nothing.
"""
from __future__ import annotations

import json
import tempfile
import unicodedata
import zipfile
from pathlib import Path, PurePosixPath

import geopandas as gpd
import shapely

from geosig.errors import CRSMismatch, DataFileError, InvalidParameter, UnsafeArchive
from territorial.pot.classes import SOIL_CLASS_ALIASES, SOIL_CLASSES
from territorial.pot.services.plans import save_zones

EXPORT_FIELDS = {"clase": "soil_class", "uso": "use_category", "nombre": "name", "notas": "notes"}
MAX_MEMBERS = 50
MAX_UNCOMPRESSED = 200 * 1024 * 1024


def _fold(text) -> str:
    return unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower().strip()


# ------------------------------------------------------------------ export
def plan_frame(plan) -> gpd.GeoDataFrame:
    zones = list(plan.zones.order_by("id"))
    data = {
        "zona_id": [z.pk for z in zones],
        "clase": [z.soil_class for z in zones],
        "uso": [z.use_category for z in zones],
        "nombre": [z.name for z in zones],
        "notas": [z.notes for z in zones],
        "area_m2": [round(z.area_m2, 2) for z in zones],
        "plan": [plan.name] * len(zones),
        "municipio": [plan.municipality.divipola] * len(zones),
        "demo": [plan.is_demo] * len(zones),
    }
    geoms = [shapely.from_wkb(bytes(z.geom.wkb)) for z in zones]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=4326)


def _export_gpkg(gdf, tmp: Path, stem: str):
    path = tmp / f"{stem}.gpkg"
    gdf.to_file(path, layer="zonas", driver="GPKG", engine="pyogrio")
    return path.read_bytes(), "application/geopackage+sqlite3", "gpkg"


def _export_shp(gdf, tmp: Path, stem: str):
    folder = tmp / stem
    folder.mkdir()
    gdf.to_file(folder / f"{stem}.shp", driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
    zpath = tmp / f"{stem}.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
    return zpath.read_bytes(), "application/zip", "zip"


def _export_geojson(gdf, tmp: Path, stem: str):
    return gdf.to_json(drop_id=True), "application/geo+json", "geojson"


EXPORTERS = {"gpkg": _export_gpkg, "shp": _export_shp, "geojson": _export_geojson}


def export_plan(plan, fmt: str):
    if fmt not in EXPORTERS:
        raise InvalidParameter(f"Formato de exportación desconocido «{fmt}». Valores válidos: {', '.join(EXPORTERS)}.")
    stem = f"pot_{plan.municipality.divipola}_plan{plan.pk}_v{plan.version}" + ("_DEMO" if plan.is_demo else "")
    with tempfile.TemporaryDirectory() as tmp:
        content, ctype, ext = EXPORTERS[fmt](plan_frame(plan), Path(tmp), stem)
    return content, ctype, f"{stem}.{ext}"


# ------------------------------------------------------------------ import
def _safe_extract(zpath: Path, dest: Path) -> None:
    try:
        zf = zipfile.ZipFile(zpath)
    except zipfile.BadZipFile:
        raise DataFileError("El archivo .zip está dañado o no es un zip.") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise UnsafeArchive(f"El zip tiene {len(infos)} archivos (máximo {MAX_MEMBERS}).")
        total = sum(i.file_size for i in infos)
        if total > MAX_UNCOMPRESSED:
            raise UnsafeArchive(f"El zip descomprimido ocuparía {total / 1e6:,.0f} MB (máximo {MAX_UNCOMPRESSED / 1e6:.0f}).")
        for i in infos:
            p = PurePosixPath(i.filename)
            if p.is_absolute() or ".." in p.parts or "\\" in i.filename:
                raise UnsafeArchive(f"Ruta no permitida dentro del zip: «{i.filename}».")
        zf.extractall(dest)


def read_upload(content: bytes, filename: str, layer: str | None = None) -> gpd.GeoDataFrame:
    suffix = Path(filename or "").suffix.lower()
    readers = {".gpkg", ".zip", ".geojson", ".json"}
    if suffix not in readers:
        raise InvalidParameter(f"Formato no admitido «{suffix or filename}». Use: {', '.join(sorted(readers))}.")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / f"upload{suffix}"
        src.write_bytes(content)
        if suffix == ".zip":
            _safe_extract(src, tmp / "x")
            shps = sorted((tmp / "x").rglob("*.shp"))
            if len(shps) != 1:
                raise DataFileError(f"El zip debe contener exactamente un .shp (tiene {len(shps)}).")
            if not shps[0].with_suffix(".prj").exists():
                raise CRSMismatch("El Shapefile no trae .prj: no se sabe en qué sistema de referencia está.")
            src = shps[0]
        try:
            import pyogrio

            layers = [name for name, _ in pyogrio.list_layers(src)]
            if layer and layer not in layers:
                raise InvalidParameter(f"La capa «{layer}» no está en el archivo. Capas: {', '.join(layers)}.")
            gdf = gpd.read_file(src, layer=layer or layers[0], engine="pyogrio")
        except (InvalidParameter,):
            raise
        except Exception as exc:  # pyogrio raises several types for corrupt files
            raise DataFileError(f"No se puede leer «{filename}»: {exc}") from None
    if gdf.crs is None:
        raise CRSMismatch(f"«{filename}» no declara sistema de referencia (CRS).")
    if len(gdf) == 0:
        raise DataFileError(f"«{filename}» no tiene elementos.")
    return gdf.to_crs(4326)


def import_plan(user, plan, content: bytes, filename: str, class_field: str, expected_version,
                mapping: dict | None = None, layer: str | None = None, use_field: str | None = None,
                name_field: str | None = None, replace: bool = True):
    gdf = read_upload(content, filename, layer)
    if class_field not in gdf.columns:
        fields = ", ".join(c for c in gdf.columns if c != "geometry")
        raise InvalidParameter(f"El campo de clase «{class_field}» no está en el archivo. Campos: {fields}.")
    explicit = {_fold(k): v for k, v in (mapping or {}).items()}
    for v in explicit.values():
        if v not in SOIL_CLASSES:
            raise InvalidParameter(f"El mapeo apunta a una clase desconocida «{v}». Valores válidos: {', '.join(SOIL_CLASSES)}.")
    classes, unknown = [], set()
    for value in gdf[class_field]:
        key = _fold(value)
        cls = explicit.get(key) or SOIL_CLASS_ALIASES.get(key) or (key if key in SOIL_CLASSES else None)
        if cls is None:
            unknown.add(str(value))
        classes.append(cls)
    if unknown:
        raise InvalidParameter(
            f"Valores de «{class_field}» sin clase de suelo: {', '.join(sorted(unknown))}. "
            f"Indíquelos en el mapeo (valor → {', '.join(SOIL_CLASSES)}).",
        )
    features = []
    for i, (geom, cls) in enumerate(zip(gdf.geometry.values, classes)):
        if geom is None or geom.is_empty:
            raise DataFileError(f"El elemento n.º {i + 1} de «{filename}» no tiene geometría.")
        props = {"soil_class": cls}
        if use_field and use_field in gdf.columns:
            props["use_category"] = str(gdf[use_field].iloc[i] or "")
        if name_field and name_field in gdf.columns:
            props["name"] = str(gdf[name_field].iloc[i] or "")
        features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(shapely.force_2d(geom))),
                         "properties": props})
    return save_zones(user, plan, {"type": "FeatureCollection", "features": features}, expected_version,
                      replace=replace, action="importar", summary_prefix=f"Importado de «{filename}»: ")
