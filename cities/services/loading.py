"""Load the cities (DANE centros poblados) and the default travel-time matrix; import users' matrices,
city attributes and urban-function inventories. Every loader validates everything first and writes in one
transaction, so a bad file leaves the database unchanged.

Import formats (CSV, UTF-8, comma-separated, header row):

* Travel matrix, wide: first column ``codigo`` (or ``from_divipola``), then one column per DIVIPOLA
  code in any order; a value per cell (hours for ``--kind time``, km for ``--kind distance``). Must be square
  (same codes in rows and columns), cover all 42 municipalities, have a 0 diagonal and be symmetric
  within the tolerance (5 % by default).
  Or long: columns ``origen,destino,valor`` (aliases ``from_divipola,to_divipola,travel_time_h``).
* Urban functions: ``codigo,funcion,cantidad`` (+ optional ``fuente``). ``codigo`` is a centro poblado code
  (8 digits) or a municipality DIVIPOLA code (5 digits = its cabecera); ``funcion`` free text (e.g.
  "hospital nivel 3", "universidad", "aeropuerto"); ``cantidad`` an integer ≥ 0.
* City attributes: ``codigo,atributo,anio,valor,unidad`` (+ optional ``fuente``); codes as above.
"""
from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, transaction

from cities.models import City, CityAttribute, CityFunction, FunctionInventory, TravelMatrix
from cities.services.network import check_matrix
from geosig import formats, readers
from geosig.errors import DataFileError, InvalidParameter
from territorial.models import Municipality
from territorial.services.loading import display_name

CENTRES_FILE = "network/valle_centros_poblados_divipola2017.geojson"
MATRIX_FILE = "network/valle_travel_time_hours_matrix.csv"
CENTRES_SOURCE = "DANE DIVIPOLA 2017-12-31 (centros poblados), vía edalfon/daner"
MATRIX_SOURCE = ("Tiempos de viaje modelados (h), epiCo / Bravo-Vega et al. 2022, PLoS NTD, "
                 "doi:10.1371/journal.pntd.0011117 — no es una tabla de distancias viales")
DEFAULT_MATRIX = "epico-tiempos-2022"
KIND_RE = re.compile(r"\((\w+)\)\s*$")


@dataclass
class CitiesLoadReport:
    cities: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    by_kind: dict = field(default_factory=dict)
    matrix: str = ""
    matrix_changed: bool = False

    def __str__(self):
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_kind.items()))
        return (f"Centros poblados: {self.cities} ({self.created} nuevos, {self.updated} actualizados, "
                f"{self.unchanged} sin cambios). Por tipo: {kinds}.\n"
                f"Matriz de viaje por defecto: {self.matrix} ({'actualizada' if self.matrix_changed else 'sin cambios'}).\n"
                "Nota: no hay población por centro poblado en los datos; el equilibrio se calcula sobre las "
                "42 cabeceras/municipios.")


def _raw(data_dir, rel) -> Path:
    path = Path(data_dir or settings.GEOSIG_RAW_DIR) / rel
    if not path.exists():
        raise DataFileError(f"Falta el archivo {path}. Ejecute 'python manage.py fetch_data'.", file=str(path))
    return path


def read_centres(path: Path, known_municipalities: set[str]) -> gpd.GeoDataFrame:
    gdf = readers.read_vector(path, to_srid=4326, required_fields=(
        "divipola", "cod_centro_poblado", "nom_centro_poblado", "tipo_centro_poblado"))
    gdf["cod_centro_poblado"] = gdf["cod_centro_poblado"].astype(str).str.strip()
    gdf["divipola"] = gdf["divipola"].astype(str).str.strip()
    dup = gdf["cod_centro_poblado"].duplicated()
    if dup.any():
        raise DataFileError(f"{path}: códigos repetidos {gdf.loc[dup, 'cod_centro_poblado'].tolist()[:5]}.")
    unknown = sorted(set(gdf["divipola"]) - known_municipalities)
    if unknown:
        raise DataFileError(f"{path}: municipios desconocidos {unknown[:5]}; cargue antes 'load_territory'.")
    kinds = gdf["tipo_centro_poblado"].astype(str).str.extract(KIND_RE)[0]
    if kinds.isna().any() or not kinds.isin(list(City.KINDS)).all():
        bad = gdf.loc[kinds.isna() | ~kinds.isin(list(City.KINDS)), "tipo_centro_poblado"].unique()[:5]
        raise DataFileError(f"{path}: tipos de centro poblado desconocidos {list(bad)}.", field="tipo_centro_poblado")
    gdf["kind"] = kinds
    if gdf.geometry.isna().any() or (gdf.geom_type != "Point").any():
        raise DataFileError(f"{path}: hay centros poblados sin punto.")
    return gdf


def load_cities(data_dir=None) -> CitiesLoadReport:
    """The 569 centros poblados and the default travel matrix (idempotent, one transaction)."""
    munis = {m.divipola: m for m in Municipality.objects.all()}
    if not munis:
        raise DataFileError("No hay municipios cargados: ejecute primero 'python manage.py load_territory'.")
    gdf = read_centres(_raw(data_dir, CENTRES_FILE), set(munis))
    codes, values = read_matrix_csv(_raw(data_dir, MATRIX_FILE))
    codes, values = validate_matrix(codes, values, set(munis))
    report = CitiesLoadReport()
    existing = {c.code: c for c in City.objects.all()}
    with transaction.atomic():
        for row in gdf.itertuples():
            vals = {
                "name": display_name(str(row.nom_centro_poblado)),
                "kind": row.kind,
                "is_cabecera": row.kind == "CM",
                "municipality_id": munis[row.divipola].pk,
                "source": CENTRES_SOURCE,
            }
            geom = Point(round(row.geometry.x, 7), round(row.geometry.y, 7), srid=4326)
            obj = existing.get(row.cod_centro_poblado)
            if obj is None:
                City.objects.create(code=row.cod_centro_poblado, geom=geom, **vals)
                report.created += 1
            else:
                changed = [k for k, v in vals.items() if getattr(obj, k) != v]
                if not obj.geom.equals_exact(geom, 1e-7):
                    obj.geom = geom
                    changed.append("geom")
                for k in changed:
                    if k != "geom":
                        setattr(obj, k, vals[k])
                if changed:
                    obj.save(update_fields=changed)
                    report.updated += 1
                else:
                    report.unchanged += 1
            report.by_kind[row.kind] = report.by_kind.get(row.kind, 0) + 1
        report.matrix_changed = _save_matrix(DEFAULT_MATRIX, codes, values, "time", "h", MATRIX_SOURCE,
                                             "Matriz de tiempos de viaje entre los 42 municipios (datos compartidos).",
                                             default=True)
        report.matrix = DEFAULT_MATRIX
        report.cities = City.objects.count()
    return report


# ---------------------------------------------------------------- travel matrices
LONG_ALIASES = {"origen": ("origen", "from_divipola", "from"), "destino": ("destino", "to_divipola", "to"),
                "valor": ("valor", "travel_time_h", "value", "distance_km", "tiempo_h", "distancia_km")}


def _read_csv(source, what: str) -> pd.DataFrame:
    """A CSV as strings from a path, uploaded bytes or text (a str without a newline is a path);
    ``what`` ("la matriz (…)", "el inventario…") names it in the error."""
    try:
        if isinstance(source, bytes):
            return pd.read_csv(io.BytesIO(source), dtype=str)
        if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source):
            return pd.read_csv(source, dtype=str)
        return pd.read_csv(io.StringIO(source), dtype=str)
    except Exception as exc:
        raise InvalidParameter(f"No se puede leer {what}: {exc}") from exc


def read_matrix_csv(source) -> tuple[list[str], np.ndarray]:
    """Wide or long CSV (see module doc) → (codes, n×n array). ``source`` is a path, bytes or text."""
    name = str(source) if isinstance(source, (str, Path)) and not str(source).count("\n") else "archivo subido"
    df = _read_csv(source, f"la matriz ({name})")
    if df.empty:
        raise InvalidParameter(f"La matriz ({name}) está vacía.")
    cols = [c.strip() for c in df.columns]
    df.columns = cols
    lower = {c.lower(): c for c in cols}
    long_cols = {k: next((lower[a] for a in al if a in lower), None) for k, al in LONG_ALIASES.items()}
    if all(long_cols.values()) and len(cols) <= 4:
        o = df[long_cols["origen"]].str.strip()
        dst = df[long_cols["destino"]].str.strip()
        v = pd.to_numeric(df[long_cols["valor"]], errors="coerce")
        if v.isna().any():
            raise InvalidParameter(f"Matriz ({name}): {int(v.isna().sum())} valores vacíos o no numéricos.")
        if pd.DataFrame({"o": o, "d": dst}).duplicated().any():
            raise InvalidParameter(f"Matriz ({name}): pares origen–destino repetidos.")
        codes = sorted(set(o) | set(dst))
        if set(o) != set(dst):
            raise InvalidParameter(f"La matriz ({name}) no es cuadrada: orígenes y destinos distintos.")
        idx = {c: i for i, c in enumerate(codes)}
        m = np.full((len(codes), len(codes)), np.nan)
        m[o.map(idx).to_numpy(), dst.map(idx).to_numpy()] = v.to_numpy()
        if np.isnan(m).any():
            raise InvalidParameter(f"La matriz ({name}) no es cuadrada: faltan {int(np.isnan(m).sum())} pares.")
        return codes, m
    key = cols[0]
    rows = df[key].astype(str).str.strip().tolist()
    header = [c for c in cols[1:]]
    if len(rows) != len(header):
        raise InvalidParameter(
            f"La matriz ({name}) no es cuadrada: {len(rows)} filas y {len(header)} columnas de datos.")
    if set(rows) != set(header):
        diff = sorted(set(rows) ^ set(header))
        raise InvalidParameter(f"La matriz ({name}) no es cuadrada: filas y columnas con códigos distintos ({diff[:5]}).")
    vals = df[header].apply(pd.to_numeric, errors="coerce")
    if vals.isna().any().any():
        raise InvalidParameter(f"Matriz ({name}): {int(vals.isna().sum().sum())} valores vacíos o no numéricos.")
    m = vals.to_numpy(float)
    col_idx = [header.index(r) for r in rows]  # align columns to row order
    return rows, m[:, col_idx]


def validate_matrix(codes, values, known: set[str], tolerance: float = 0.05) -> tuple[list[str], np.ndarray]:
    if len(set(codes)) != len(codes):
        raise InvalidParameter("La matriz tiene códigos repetidos.")
    unknown = sorted(set(codes) - known)
    if unknown:
        raise InvalidParameter(f"La matriz tiene códigos desconocidos (no son municipios cargados): {', '.join(unknown[:10])}.")
    missing = sorted(known - set(codes))
    if missing:
        raise InvalidParameter(f"A la matriz le faltan municipios: {', '.join(missing[:10])}.")
    m = check_matrix(values, tolerance=tolerance)
    order = np.argsort(codes)
    return [codes[i] for i in order], m[np.ix_(order, order)]


IMPORT_LOCK = 7_301_001  # advisory lock: imports take turns, so "newest version + 1" is never taken twice


def _import_lock() -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])


def latest_matrix(name: str) -> TravelMatrix | None:
    return TravelMatrix.objects.filter(name=name).order_by("-version").first()


def _save_matrix(name, codes, values, kind, unit, source, description, default=False) -> bool:
    """Store the matrix as the next version of ``name``; earlier versions stay. It becomes the default
    only if ``default`` (the default never moves, nor disappears, as a side effect of an import).
    Importing what the newest version already holds adds nothing. Returns whether anything changed.
    Runs inside the caller's transaction."""
    flat = [round(float(v), 6) for v in np.asarray(values).ravel()]
    _import_lock()
    latest = latest_matrix(name)
    same = bool(latest and latest.codes == list(codes) and latest.values == flat and latest.kind == kind
                and latest.source == source)
    if same and (latest.is_default or not default):
        return False
    target = latest if same else TravelMatrix.objects.create(
        name=name, version=latest.version + 1 if latest else 1, codes=list(codes), values=flat, kind=kind,
        unit=unit, source=source, description=description, is_default=False)
    if default:
        TravelMatrix.objects.filter(is_default=True).exclude(pk=target.pk).update(is_default=False)
        target.is_default = True
        target.save(update_fields=["is_default"])
    return True


MATRIX_KINDS = {"time": "h", "distance": "km"}


def import_matrix(source, name: str, kind: str = "time", source_label: str = "", default: bool = False,
                  tolerance: float = 0.05, description: str = "") -> TravelMatrix:
    """Import a user's travel-time (h) or distance (km) matrix as the next version of ``name``; it becomes
    the default matrix only with ``default`` (API ``make_default``, command ``--default``)."""
    if kind not in MATRIX_KINDS:
        raise InvalidParameter(f"Tipo de matriz desconocido {kind!r}; válidos: {', '.join(MATRIX_KINDS)}.")
    if not re.fullmatch(r"[-a-z0-9_]{1,60}", name or ""):
        raise InvalidParameter("El nombre de la matriz debe tener 1–60 caracteres a-z, 0-9, '-' o '_'.")
    if not source_label:
        raise InvalidParameter("Indique la fuente de la matriz (--source): los números deben decir de dónde vienen.")
    codes, values = read_matrix_csv(source)
    codes, values = validate_matrix(codes, values, set(Municipality.objects.values_list("divipola", flat=True)),
                                    tolerance)
    with transaction.atomic():
        _save_matrix(name, codes, values, kind, MATRIX_KINDS[kind], source_label, description, default)
        return latest_matrix(name)


# ---------------------------------------------------------------- functions and attributes
def _read_table(source, required: tuple[str, ...], what: str) -> pd.DataFrame:
    df = _read_csv(source, f"el {what}")
    df.columns = [c.strip().lower() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InvalidParameter(f"Al {what} le faltan las columnas {', '.join(missing)} (formato: {', '.join(required)}).")
    if df.empty:
        raise InvalidParameter(f"El {what} está vacío.")
    return df


def _resolve_cities(codes: pd.Series, what: str) -> dict[str, City]:
    """8-digit centro poblado codes, or 5-digit DIVIPOLA = that municipality's cabecera."""
    codes = codes.fillna("").str.strip()
    by_code = {c.code: c for c in City.objects.select_related("municipality")}
    cabecera = {c.municipality.divipola: c for c in by_code.values() if c.is_cabecera}
    out, unknown = {}, []
    for code in set(codes):
        city = by_code.get(code) or cabecera.get(code)
        if city is None:
            unknown.append(code)
        else:
            out[code] = city
    if unknown:
        raise InvalidParameter(f"{what}: códigos desconocidos {', '.join(sorted(unknown)[:10])} "
                               "(use el código de centro poblado de 8 dígitos o el DIVIPOLA del municipio).")
    return out


def import_functions(source, name: str, source_label: str, demo: bool = False) -> FunctionInventory:
    """Import an urban-function inventory as the next version of ``name`` (earlier versions stay)."""
    if not re.fullmatch(r"[-a-z0-9_]{1,60}", name or ""):
        raise InvalidParameter("El nombre del inventario debe tener 1–60 caracteres a-z, 0-9, '-' o '_'.")
    if not source_label:
        raise InvalidParameter("Indique la fuente del inventario: no se aceptan funciones sin fuente.")
    df = _read_table(source, ("codigo", "funcion", "cantidad"), "inventario de funciones")
    cnt = pd.to_numeric(df["cantidad"], errors="coerce")
    bad = cnt.isna() | (cnt < 0) | (cnt != cnt.round())
    if bad.any():
        raise InvalidParameter(f"Inventario: cantidades no enteras, vacías o negativas en las filas "
                               f"{', '.join(str(i + 2) for i in np.flatnonzero(bad)[:10])}.")
    df["funcion"] = df["funcion"].fillna("").str.strip()
    if (df["funcion"] == "").any():
        raise InvalidParameter("Inventario: hay filas sin función.")
    cities = _resolve_cities(df["codigo"], "Inventario")
    df["city"] = df["codigo"].str.strip().map(lambda c: cities[c].pk)
    df["cantidad"] = cnt.astype(int)
    agg = df.groupby(["city", "funcion"], as_index=False)["cantidad"].sum()
    with transaction.atomic():
        _import_lock()
        latest = FunctionInventory.objects.filter(name=name).order_by("-version").first()
        inv = FunctionInventory.objects.create(name=name, version=latest.version + 1 if latest else 1,
                                               source=source_label, is_demo=demo)
        CityFunction.objects.bulk_create([
            CityFunction(inventory=inv, city_id=r.city, function=r.funcion, count=r.cantidad)
            for r in agg.itertuples()])
    return inv


def import_attributes(source, source_label: str = "") -> int:
    """Import city attributes (one row per city, attribute, year); returns rows written."""
    df = _read_table(source, ("codigo", "atributo", "anio", "valor", "unidad"), "archivo de atributos")
    val = pd.to_numeric(df["valor"], errors="coerce")
    year = pd.to_numeric(df["anio"], errors="coerce")
    if val.isna().any() or year.isna().any():
        raise InvalidParameter("Atributos: valores o años vacíos o no numéricos en las filas "
                               f"{', '.join(str(i + 2) for i in np.flatnonzero(val.isna() | year.isna())[:10])}.")
    attr = df["atributo"].fillna("").str.strip().str.lower()
    if (~attr.str.fullmatch(r"[-a-z0-9_]{1,60}")).any():
        raise InvalidParameter("Atributos: nombres de atributo vacíos o con caracteres no válidos (a-z, 0-9, -, _).")
    pop_like = attr.str.startswith("poblacion")
    if (pop_like & (val <= 0)).any():
        raise InvalidParameter("Atributos: poblaciones nulas o negativas.")
    if "fuente" in df.columns:
        src = df["fuente"].fillna(source_label)
    else:
        src = pd.Series(source_label, index=df.index)
    if (src.fillna("").str.strip() == "").any():
        raise InvalidParameter("Atributos: cada valor necesita una fuente (columna 'fuente' o --source).")
    cities = _resolve_cities(df["codigo"], "Atributos")
    if pd.DataFrame({"c": df["codigo"].str.strip(), "a": attr, "y": year}).duplicated().any():
        raise InvalidParameter("Atributos: filas repetidas (código, atributo, año).")
    with transaction.atomic():
        for code, a, y, v, u, s in zip(df["codigo"].str.strip(), attr, year.astype(int), val, df["unidad"].fillna(""), src):
            CityAttribute.objects.update_or_create(
                city=cities[code], attribute=a, year=int(y), defaults={"value": float(v), "unit": u, "source": s})
    return len(df)


def write_template(kind: str) -> bytes:
    """An empty CSV with the expected header (for the docs and the page's download links)."""
    headers = {"funciones": ["codigo", "funcion", "cantidad", "fuente"],
               "atributos": ["codigo", "atributo", "anio", "valor", "unidad", "fuente"],
               "matriz": ["origen", "destino", "valor"]}
    if kind not in headers:
        raise InvalidParameter(f"Plantilla desconocida {kind!r}; válidas: {', '.join(headers)}.")
    return formats.write_csv(formats.Table(headers[kind]))


ROADS_FILE = "network/valle_red_vial_nacional_travelmapping.geojson"
ROADS_SOURCE = "TravelMapping HighwayData, sistema colrn (Red Vial Nacional; licencia desconocida: solo visualización)"


def road_routes(data_dir=None) -> dict:
    """National road routes for display ({"source", "routes": [{"name", "coords"}]}); empty if the file is
    absent. Coordinates are volunteer-placed: shown on maps, never used for lengths or times."""
    path = Path(data_dir or settings.GEOSIG_RAW_DIR) / ROADS_FILE
    if not path.exists():
        return {"source": "", "routes": []}
    return _read_roads(path, path.stat().st_mtime)


@functools.lru_cache(maxsize=4)
def _read_roads(path: Path, mtime: float) -> dict:  # mtime in the key: a refreshed file is read again
    gdf = readers.read_vector(path, to_srid=4326)
    routes = []
    for name, geom in zip(gdf.get("route", pd.Series([""] * len(gdf))), gdf.geometry):
        parts = getattr(geom, "geoms", [geom])
        for part in parts:
            routes.append({"name": str(name or ""), "coords": [[round(x, 5), round(y, 5)] for x, y, *_ in part.coords]})
    return {"source": ROADS_SOURCE, "routes": routes}
