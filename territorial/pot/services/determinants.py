"""Materialise the environmental determinants into DeterminantPiece (EPSG:9377, ST_Subdivide pieces).

Each determinant names where its geometry comes from in SOURCES (a registry). The adapter first looks
in the ``layers`` registry for a layer loaded from the same published file (matched on the file name
the layers importer records) and, when that layer is absent, reads the real file in
``GEOSIG_RAW_DIR`` directly. Geometry is never clipped to the (generalised) municipal polygons: the
conflict analysis reports where a city's layer spills over its MGN limit instead.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rasterio import features
from rasterio.crs import CRS

from geosig import readers
from geosig.errors import DataFileError, InvalidParameter
from territorial.pot.models import Determinant, DeterminantPiece


@dataclass(frozen=True)
class Source:
    raw: str  # path under GEOSIG_RAW_DIR
    source: str
    caveat: str = ""
    params: dict = field(default_factory=dict)


SOURCES: dict[str, Source] = {
    "paramo": Source(
        "environment/valle_paramos_delimitados_minambiente_chbio.geojson",
        "Minambiente, Páramos delimitados (jun. 2020), subconjunto Chocó biogeográfico (IIAP).",
        "Parcial: faltan los páramos de la cordillera Central (Las Hermosas, Chilí–Barragán).",
    ),
    "bosque_seco": Source(
        "environment/valle_bosque_seco_tropical_chbio_partial.geojson",
        "Bosque seco tropical nacional, subconjunto municipios del Chocó biogeográfico (IIAP).",
        "Parcial: solo 9 municipios; la ausencia en el valle geográfico no significa que no haya bosque.",
    ),
    "amenaza_inundacion": Source(
        "environment/cali_amenaza_no_mitigable_inundacion_idesc.geojson",
        "Alcaldía de Santiago de Cali – DAPM / IDESC, amenaza no mitigable por inundación (CC BY-SA).",
        "Solo Santiago de Cali.",
        {"municipality": "76001"},
    ),
    "ronda_hidrica": Source(
        "environment/valle_rio_cauca_wdbii.geojson",
        "Río Cauca, GSHHG/WDB II (eje generalizado).",
        "Solo el río Cauca (eje generalizado); faltan los tributarios.",
    ),
    "pendiente_alta": Source(
        "environment/valle_dem_srtm3_lat3to4_partial.tif",
        "Derivada del DEM SRTM 3\" (~92 m): pendiente por diferencias centrales, celdas aisladas (<9) eliminadas.",
        "El DEM cubre solo el sur de 4°N (65 % del departamento); a ~92 m la pendiente se subestima.",
    ),
}


FETCH_HINT = "Ejecute 'python manage.py fetch_data'."


@dataclass
class DeterminantLoadReport:
    rows: list[dict] = field(default_factory=list)

    def __str__(self):
        lines = ["Determinantes ambientales cargados:"]
        for r in self.rows:
            lines.append(f"  {r['code']}: {r['pieces']} piezas desde {r['origin']}")
        return "\n".join(lines)


def _layer_for(filename: str):
    """The layers-registry layer loaded from this published file, if the layers app has it."""
    from django.apps import apps

    if not apps.is_installed("layers"):  # layers app not installed: raw files only
        return None
    from layers.models import Layer

    return Layer.objects.filter(source_file__endswith=filename).order_by("-updated_at").first()


def _vector_wkbs(src: Source) -> tuple[list[bytes], str]:
    filename = Path(src.raw).name
    layer = _layer_for(filename)
    if layer is not None and layer.kind == "vector" and layer.feature_count:
        wkbs = [bytes(g.wkb) for g in layer.features.values_list("geom", flat=True)]
        return wkbs, f"capa «{layer.slug}» del registro de capas"
    gdf = readers.read_vector(Path(settings.GEOSIG_RAW_DIR) / src.raw, to_srid=4326, hint=FETCH_HINT)
    geoms = shapely.force_2d(gdf.geometry.values)
    return [shapely.to_wkb(g) for g in geoms if g is not None and not g.is_empty], f"archivo {src.raw}"


def slope_polygons(dem_path: Path, threshold_deg: float, min_cells: int = 9) -> list:
    """Polygons (EPSG:4326) where the DEM slope exceeds ``threshold_deg``."""
    with readers.open_raster(dem_path) as ds:
        if ds.crs != CRS.from_epsg(4326):
            raise DataFileError(f"{dem_path}: se esperaba un DEM en EPSG:4326 (tiene {ds.crs}).")
        z = ds.read(1, masked=True).astype("float64").filled(np.nan)
        tr = ds.transform
    lat = tr.f + tr.e * (np.arange(z.shape[0]) + 0.5)
    # cell size in metres per row (geographic grid): the east-west size shrinks with cos(latitude)
    dy = abs(tr.e) * 110_574.0
    dx = tr.a * 111_320.0 * np.cos(np.radians(lat))
    gy, gx = np.gradient(z)
    slope = np.degrees(np.arctan(np.hypot(gx / dx[:, None], gy / dy)))
    mask = (np.nan_to_num(slope, nan=0.0) > threshold_deg).astype("uint8")
    mask = features.sieve(mask, size=min_cells)
    return [shapely.geometry.shape(g) for g, v in features.shapes(mask, mask=mask.astype(bool), transform=tr)]


def _raster_path(src: Source) -> tuple[Path, str]:
    layer = _layer_for(Path(src.raw).name)
    if layer is not None and layer.kind == "raster" and layer.raster_path and layer.raster_path.exists():
        return layer.raster_path, f"capa ráster «{layer.slug}» del registro de capas"
    path = Path(settings.GEOSIG_RAW_DIR) / src.raw
    if not path.exists():
        raise DataFileError(f"Falta el archivo {path}. Ejecute 'python manage.py fetch_data'.", file=str(path))
    return path, f"archivo {src.raw}"


def store_pieces(determinant, wkbs: list[bytes], union: bool, simplify_m: float = 0.0) -> int:
    """Replace the determinant's pieces: (union →) make valid → EPSG:9377 → ST_Subdivide."""
    DeterminantPiece.objects.filter(determinant=determinant).delete()
    table = DeterminantPiece._meta.db_table
    src = "SELECT ST_MakeValid(ST_SetSRID(ST_GeomFromWKB(w), 4326), 'method=structure') g FROM unnest(%s::bytea[]) w"
    if union:
        src = f"SELECT ST_Union(g) g FROM ({src}) s"
    with connection.cursor() as cur:
        cur.execute(
            f"""INSERT INTO {table} (determinant_id, geom_m, label)
                SELECT %s, ST_Subdivide(ST_ReducePrecision(ST_SimplifyPreserveTopology(ST_Transform(g, 9377), %s),
                                                           0.01), 256), ''
                FROM ({src}) u WHERE g IS NOT NULL""",
            [determinant.pk, simplify_m, wkbs],
        )
        return cur.rowcount


def load_determinants(codes=None, slope_threshold_deg: float | None = None) -> DeterminantLoadReport:
    """(Re)build the pieces of the given determinants (all known ones by default), in one transaction."""
    codes = list(codes or SOURCES)
    bad = [c for c in codes if c not in SOURCES]
    if bad:
        raise InvalidParameter(f"Determinante desconocido «{', '.join(bad)}». Valores válidos: {', '.join(SOURCES)}.")
    report = DeterminantLoadReport()
    with transaction.atomic():
        for code in codes:
            src = SOURCES[code]
            det = Determinant.objects.filter(code=code).first()
            if det is None:
                raise DataFileError(f"El determinante «{code}» no existe (¿faltan migraciones?).")
            if det.kind == Determinant.Kind.SLOPE:
                threshold = float(slope_threshold_deg or det.params.get("threshold_deg", 30))
                path, origin = _raster_path(src)
                polys = slope_polygons(path, threshold)
                det.params = dict(det.params, threshold_deg=threshold)
                # disjoint already; 20 m smooths the pixel staircase (cells are ~92 m) and cuts vertices ~4x
                n = store_pieces(det, [shapely.to_wkb(p) for p in polys], union=False, simplify_m=20.0)
            else:
                wkbs, origin = _vector_wkbs(src)
                n = store_pieces(det, wkbs, union=det.kind != Determinant.Kind.RONDA)
            det.params = dict(det.params, **src.params)
            det.source, det.caveat, det.origin = src.source, src.caveat, origin
            det.piece_count, det.loaded_at = n, timezone.now()
            det.save()
            report.rows.append({"code": code, "pieces": n, "origin": origin})
    return report


def determinants_geojson(municipality, simplify_m: float = 10.0) -> dict:
    """The determinants around one municipality for the editor's map (display only: simplified by
    ``simplify_m``, rondas drawn at their default width), as a GeoJSON FeatureCollection in EPSG:4326."""
    dp, dt = DeterminantPiece._meta.db_table, Determinant._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"""WITH m AS (SELECT ST_Transform(ST_SetSRID(ST_GeomFromWKB(%s), 4326), 9377) g)
                SELECT d.code, d.name, d.kind,
                       ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(ST_Union(
                           CASE WHEN d.kind = 'ronda' THEN ST_Buffer(p.geom_m, COALESCE((d.params->>'width_m')::float, 30))
                                ELSE p.geom_m END), %s), 4326), 6)
                FROM {dp} p JOIN {dt} d ON d.id = p.determinant_id, m
                WHERE ST_DWithin(p.geom_m, m.g, 1000)
                GROUP BY d.code, d.name, d.kind ORDER BY d.code""",
            [bytes(municipality.geom.wkb), simplify_m],
        )
        rows = cur.fetchall()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(g), "properties": {"code": c, "name": n, "kind": k}}
        for c, n, k, g in rows if g]}
