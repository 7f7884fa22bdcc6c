"""Import a municipal POT from GeoPackage / zipped Shapefile / GeoJSON, and export plans the same way.

Import maps the file's class field to our soil classes (an explicit mapping, else the aliases in
``classes.SOIL_CLASS_ALIASES``), reprojects from the file's declared CRS to EPSG:4326, and goes through
the same validated, versioned save as the editor: a bad file changes nothing.
"""
from __future__ import annotations

import json
import tempfile
import unicodedata
from pathlib import Path

import geopandas as gpd
import shapely
from django.conf import settings

from geosig import formats
from geosig import readers
from geosig.errors import CRSMismatch, DataFileError, InvalidParameter, UploadTooLarge
from layers.services.archives import safe_extract
from territorial.pot.classes import SOIL_CLASS_ALIASES, SOIL_CLASSES
from territorial.pot.services.plans import require_action, save_zones

EXPORT_FIELDS = {"clase": "soil_class", "uso": "use_category", "nombre": "name", "notas": "notes"}


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


def _zones_layer(gdf, stem: str) -> dict:
    return {"zonas": gdf}


def _named_layer(gdf, stem: str) -> dict:
    return {stem: gdf}  # a Shapefile's layer is its file name


# The plan's export formats; content types, extensions and writers come from geosig.formats.
EXPORTS = formats.Offer(gpkg=_zones_layer, shp=_named_layer, geojson=_zones_layer)


def export_plan(plan, fmt: str):
    """(bytes, content type, file name) of the plan's zones in ``fmt`` (gpkg, shp as .zip, geojson)."""
    if fmt not in EXPORTS:
        raise InvalidParameter(f"Formato de exportación desconocido «{fmt}». Valores válidos: {', '.join(EXPORTS)}.")
    stem = f"pot_{plan.municipality.divipola}_plan{plan.pk}_v{plan.version}" + ("_DEMO" if plan.is_demo else "")
    content, f = EXPORTS.render(fmt, plan_frame(plan), stem)
    return content, f.content_type, f"{stem}.{f.extension}"


# ------------------------------------------------------------------ import
def check_upload_size(size: int) -> None:
    if size > settings.GEOSIG_MAX_UPLOAD_BYTES:
        raise UploadTooLarge(f"El archivo pesa {size / 1e6:,.1f} MB; el máximo permitido es "
                             f"{settings.GEOSIG_MAX_UPLOAD_BYTES / 1e6:,.1f} MB. Nada se guardó.")


def read_upload(content: bytes, filename: str, layer: str | None = None) -> gpd.GeoDataFrame:
    """The uploaded file's layer in EPSG:4326, read through ``geosig.readers`` (content checked against
    the extension, its own driver only, damaged files refused, a CRS required)."""
    suffix = Path(filename or "").suffix.lower()
    accepted = {".gpkg", ".zip", ".geojson", ".json"}
    if suffix not in accepted:
        raise InvalidParameter(f"Formato no admitido «{suffix or filename}». Use: {', '.join(sorted(accepted))}.")
    name = readers.label_of(filename)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / f"upload{suffix}"
        src.write_bytes(content)
        if suffix == ".zip":
            safe_extract(src, tmp / "x")  # names, symlinks, members, total size, ratio
            shps = sorted((tmp / "x").rglob("*.shp"))
            if len(shps) != 1:
                raise DataFileError(f"El zip debe contener exactamente un .shp (tiene {len(shps)}).")
            readers.check_shapefile_parts(shps[0], shps[0].name)
            if readers.sibling(shps[0], ".prj") is None:
                raise CRSMismatch("El Shapefile no trae .prj: no se sabe en qué sistema de referencia está.")
            src, name = shps[0], shps[0].name
        layers = [n for n, _ in readers.list_layers(src, name=name)]
        if layer and layer not in layers:
            raise InvalidParameter(f"La capa «{_short(layer)}» no está en el archivo. Capas: {_listing(layers)}.")
        gdf = readers.read_vector(src, name=name, layer=layer or layers[0], to_srid=4326)
    if len(gdf) == 0:
        raise DataFileError(f"«{name}» no tiene elementos.")
    return gdf


def _short(value, limit: int = 40) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listing(values, limit: int = 10) -> str:
    """At most ``limit`` values, each shortened: a message names what the user needs, not the file."""
    values = list(values)
    shown = ", ".join(_short(v) for v in values[:limit])
    return shown + (f" y {len(values) - limit} más" if len(values) > limit else "")


def import_plan(user, plan, content: bytes, filename: str, class_field: str, expected_version,
                mapping: dict | None = None, layer: str | None = None, use_field: str | None = None,
                name_field: str | None = None, replace: bool = True):
    # permission and size before parsing: a file nobody may import is not worth reading
    require_action(user, plan, "importar")
    check_upload_size(len(content))
    gdf = read_upload(content, filename, layer)
    if class_field not in gdf.columns:
        fields = _listing([c for c in gdf.columns if c != "geometry"], limit=30)
        raise InvalidParameter(f"El campo de clase «{_short(class_field)}» no está en el archivo. Campos: {fields}.")
    explicit = {_fold(k): v for k, v in (mapping or {}).items()}
    for v in explicit.values():
        if v not in SOIL_CLASSES:
            raise InvalidParameter(f"El mapeo apunta a una clase desconocida «{v}». Valores válidos: {', '.join(SOIL_CLASSES)}.")
    classes, unknown = [], {}
    for row, value in enumerate(gdf[class_field], start=1):
        key = _fold(value)
        cls = explicit.get(key) or SOIL_CLASS_ALIASES.get(key) or (key if key in SOIL_CLASSES else None)
        if cls is None:
            unknown.setdefault(str(value), row)
        classes.append(cls)
    if unknown:
        first = min(unknown.values())
        raise InvalidParameter(
            f"Valores de «{class_field}» sin clase de suelo: {_listing(sorted(unknown))} (el primero en la fila "
            f"{first}). Indíquelos en el mapeo (valor → {', '.join(SOIL_CLASSES)}).",
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
