"""Load the territorial registry (municipalities, subregions, department, indicators) from the raw data.

``load_territory`` reads and validates everything first, then writes it in one transaction, so a bad
file leaves the database exactly as it was. Running it twice changes nothing.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.db import transaction

from geosig import readers, versioned
from geosig.errors import DataFileError, InvalidGeometry
from layers.services.partitions import rebuild_partition_pieces
from territorial.models import Indicator, IndicatorReference, IndicatorValue, Municipality, Subregion
from territorial.services import official_stats
from territorial.services import sources as S
from territorial.services.geometry import (
    recompute_aggregates,
    simplify_coverage,
    to_measure_crs,
    topology_findings,
)

DIVIPOLA_RE = re.compile(r"^76\d{3}$")
_SMALL_WORDS = {"de", "del", "la", "las", "el", "los", "y"}


@dataclass
class Repair:
    divipola: str
    reason: str


@dataclass
class LoadReport:
    municipalities: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    indicator_values_written: int = 0
    indicator_values_unchanged: int = 0
    repaired: list[Repair] = field(default_factory=list)
    cabeceras_outside: list[str] = field(default_factory=list)
    overlaps: list[dict] = field(default_factory=list)
    gaps: list[dict] = field(default_factory=list)
    area_flags: list[dict] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    total_area_km2: float = 0.0
    official_area_km2: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.indicator_values_written)

    def __str__(self) -> str:
        lines = [
            f"Municipios: {self.municipalities} ({self.created} nuevos, {self.updated} actualizados, "
            f"{self.unchanged} sin cambios).",
            f"Valores de indicadores: {self.indicator_values_written} escritos, "
            f"{self.indicator_values_unchanged} sin cambios.",
            f"Área total calculada (EPSG:9377): {self.total_area_km2:,.1f} km²; suma de áreas oficiales DANE: "
            f"{self.official_area_km2:,.1f} km².",
        ]
        lines.append(
            "Geometrías reparadas (MakeValid): "
            + ("; ".join(f"{r.divipola}: {r.reason}" for r in self.repaired) if self.repaired else "ninguna")
            + "."
        )
        lines.append(
            "Cabeceras fuera de su municipio: " + (", ".join(self.cabeceras_outside) or "ninguna") + "."
        )
        lines.append(
            f"Topología entre vecinos: {len(self.overlaps)} superposiciones "
            f"({sum(o['area_m2'] for o in self.overlaps):,.0f} m²), {len(self.gaps)} huecos "
            f"({sum(g['area_m2'] for g in self.gaps):,.0f} m²)."
        )
        for o in self.overlaps:
            lines.append(f"  superposición {o['a']}–{o['b']}: {o['area_m2']:,.0f} m²")
        for g in self.gaps:
            lines.append(f"  hueco junto a {', '.join(g['neighbours'])}: {g['area_m2']:,.0f} m²")
        if self.area_flags:
            lines.append(f"Diferencia de área > {S.AREA_TOLERANCE:.0%} frente a la oficial:")
            for f_ in self.area_flags:
                lines.append(
                    f"  {f_['divipola']} {f_['name']}: calculada {f_['computed_km2']:.1f} km², "
                    f"oficial {f_['official_km2']:.1f} km² ({f_['diff_pct']:+.1f} %)"
                )
        else:
            lines.append(f"Ninguna área difiere más de {S.AREA_TOLERANCE:.0%} de la oficial.")
        if self.missing_columns:
            lines.append(
                "Columnas vacías en la fuente (no disponibles, no se cargan): " + ", ".join(self.missing_columns) + "."
            )
        return "\n".join(lines)


def display_name(official: str) -> str:
    words = official.strip().lower().split()
    return " ".join(w if (i and w in _SMALL_WORDS) else w[:1].upper() + w[1:] for i, w in enumerate(words))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper().strip()


# ---------------------------------------------------------------- reading and validating the inputs
def _require_file(data_dir: Path, rel: str) -> Path:
    path = data_dir / rel
    if not path.exists():
        raise DataFileError(f"Falta el archivo {path}. Ejecute 'python manage.py fetch_data'.", file=str(path))
    return path


def read_boundaries(path: Path, repair: bool = True) -> tuple[gpd.GeoDataFrame, list[Repair]]:
    # geosig.readers: its own driver, damaged files refused, CRS required, fields checked
    gdf = readers.read_vector(path, to_srid=4326, required_fields=("divipola", "MPIO_CNMBR", "MPIO_NAREA"))
    gdf["divipola"] = gdf["divipola"].astype(str).str.strip()
    bad = [c for c in gdf["divipola"] if not DIVIPOLA_RE.match(c)]
    if bad:
        raise DataFileError(
            f"{path}, campo 'divipola': códigos que no son municipios del Valle (76xxx): {', '.join(bad[:10])}.",
            file=str(path), field="divipola",
        )
    dup = sorted(gdf.loc[gdf["divipola"].duplicated(), "divipola"].unique())
    if dup:
        raise DataFileError(f"{path}, campo 'divipola': códigos repetidos {', '.join(dup)}.", file=str(path))
    if len(gdf) != S.EXPECTED_MUNICIPALITIES:
        raise DataFileError(
            f"{path}: se esperaban {S.EXPECTED_MUNICIPALITIES} municipios y hay {len(gdf)}.", file=str(path)
        )
    if gdf.geometry.isna().any() or gdf.geometry.is_empty.any():
        codes = gdf.loc[gdf.geometry.isna() | gdf.geometry.is_empty, "divipola"].tolist()
        raise DataFileError(f"{path}: municipios sin geometría: {', '.join(codes)}.", file=str(path))

    repairs: list[Repair] = []
    geoms = gdf.geometry.values
    invalid = ~shapely.is_valid(geoms)
    for i in np.flatnonzero(invalid):
        code = gdf["divipola"].iat[i]
        reason = shapely.is_valid_reason(geoms[i])
        if not repair:
            raise InvalidGeometry(f"{path}: la geometría de {code} no es válida ({reason}).", divipola=code)
        fixed = shapely.make_valid(geoms[i])
        polys = _polygonal_part(fixed)
        if polys is None or polys.is_empty:
            raise InvalidGeometry(f"{path}: la geometría de {code} no se puede reparar ({reason}).", divipola=code)
        geoms[i] = polys
        repairs.append(Repair(code, reason))
    gdf = gdf.set_geometry(gpd.GeoSeries(shapely.force_2d(geoms), crs=4326, index=gdf.index))
    nonpoly = gdf.loc[~gdf.geom_type.isin(["Polygon", "MultiPolygon"]), "divipola"].tolist()
    if nonpoly:
        raise DataFileError(f"{path}: geometrías que no son polígonos: {', '.join(nonpoly)}.", file=str(path))
    return gdf.sort_values("divipola").reset_index(drop=True), repairs


def _polygonal_part(geom):
    """Keep only the polygons of what MakeValid returns (it may add stray lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(polys) if polys else None
    return None


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype={"divipola": str})
    except Exception as exc:
        raise DataFileError(f"No se puede leer {path}: {exc}", file=str(path)) from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataFileError(f"{path}: faltan los campos {', '.join(missing)}.", file=str(path), field=missing[0])
    return df


def _numeric(df: pd.DataFrame, col: str, path: Path, allow_missing: bool = False) -> pd.Series:
    values = pd.to_numeric(df[col], errors="coerce")
    bad = df.loc[values.isna() & (df[col].notna() | (not allow_missing)), "divipola"].tolist()
    if bad:
        raise DataFileError(
            f"{path}, campo '{col}': valor no numérico o vacío para {', '.join(bad[:10])}.", file=str(path), field=col
        )
    return values


def read_facts(path: Path, codes: set[str]) -> tuple[pd.DataFrame, list[str]]:
    df = _read_csv(path, S.FACTS_REQUIRED)
    df["divipola"] = df["divipola"].str.strip()
    if set(df["divipola"]) != codes or df["divipola"].duplicated().any():
        extra = sorted(set(df["divipola"]) - codes)
        missing = sorted(codes - set(df["divipola"]))
        raise DataFileError(
            f"{path}, campo 'divipola': no coincide con los límites (faltan {missing or '—'}, sobran {extra or '—'}).",
            file=str(path), field="divipola",
        )
    for col in ("cabecera_lat", "cabecera_lon", "area_km2_mgn2021_official", "pop2018_adj_total",
                "pop2018_adj_cabecera", "pop2018_adj_resto"):
        df[col] = _numeric(df, col, path)
    if (df[["pop2018_adj_total", "pop2018_adj_cabecera", "pop2018_adj_resto"]] < 0).any().any():
        raise DataFileError(f"{path}: poblaciones negativas.", file=str(path))
    empty = [c for c in S.EMPTY_CENSUS_COLUMNS if c in df.columns and df[c].isna().all()]
    return df.set_index("divipola").sort_index(), empty


def read_projections(path: Path, codes: set[str]) -> pd.DataFrame:
    df = _read_csv(path, ("divipola", "year", "total"))
    df["divipola"] = df["divipola"].str.strip()
    unknown = sorted(set(df["divipola"]) - codes)
    if unknown:
        raise DataFileError(f"{path}, campo 'divipola': códigos desconocidos {', '.join(unknown)}.", file=str(path))
    df["year"] = _numeric(df, "year", path).astype(int)
    df["total"] = _numeric(df, "total", path)
    if (df["total"] <= 0).any():
        raise DataFileError(f"{path}, campo 'total': poblaciones nulas o negativas.", file=str(path), field="total")
    if df.duplicated(["divipola", "year"]).any():
        raise DataFileError(f"{path}: pares (divipola, año) repetidos.", file=str(path))
    return df


def read_subregions(path: Path, codes: set[str]) -> dict[str, str]:
    df = _read_csv(path, ("divipola", "subregion_dane2005"))
    df["divipola"] = df["divipola"].str.strip()
    by_alias = {_fold(a): d.code for d in S.SUBREGIONS for a in d.dane_aliases}
    out = {}
    for code, label in zip(df["divipola"], df["subregion_dane2005"].astype(str)):
        if _fold(label) not in by_alias:
            raise DataFileError(
                f"{path}, campo 'subregion_dane2005': subregión desconocida {label!r} ({code}); "
                f"válidas: {', '.join(sorted(by_alias))}.", file=str(path), field="subregion_dane2005",
            )
        out[code] = by_alias[_fold(label)]
    if set(out) != codes:
        raise DataFileError(f"{path}: faltan municipios {sorted(codes - set(out))}.", file=str(path))
    return out


# ---------------------------------------------------------------- indicators
INDICATORS = {
    "poblacion_total": ("Población total", "hab", S.SRC_PROJ, False,
                        "Proyección/retroproyección DANE; 2018 = censo ajustado por cobertura."),
    "poblacion_cabecera": ("Población en la cabecera", "hab", S.SRC_CENSUS, False,
                           "Población de la cabecera municipal, CNPV 2018 ajustado por cobertura."),
    "poblacion_resto": ("Población en centros poblados y rural disperso", "hab", S.SRC_CENSUS, False,
                        "CNPV 2018 ajustado por cobertura."),
    "densidad_poblacion": ("Densidad de población", "hab/km²", S.SRC_DERIVED, True,
                           "Población total / área calculada en EPSG:9377."),
    "crecimiento_desde_2012": ("Crecimiento de la población desde 2012", "%", S.SRC_DERIVED, True,
                               "100 × (P_año / P_2012 − 1), con la serie de proyecciones DANE."),
    "grado_urbanizacion": ("Grado de urbanización", "%", S.SRC_DERIVED, True,
                           "100 × población de cabecera / población total, CNPV 2018 ajustado."),
}


def indicator_rows(facts: pd.DataFrame, proj: pd.DataFrame, areas: dict[str, float]) -> list[tuple]:
    """(indicator code, divipola, year, value, source) for every stored value."""
    rows = []
    for r in proj.itertuples():
        rows.append(("poblacion_total", r.divipola, r.year, float(r.total), S.SRC_PROJ))
        rows.append(("densidad_poblacion", r.divipola, r.year, float(r.total) / areas[r.divipola], S.SRC_DERIVED))
    base = proj[proj["year"] == proj["year"].min()].set_index("divipola")["total"]
    for r in proj[proj["year"] > proj["year"].min()].itertuples():
        rows.append(("crecimiento_desde_2012", r.divipola, r.year, 100.0 * (r.total / base[r.divipola] - 1.0),
                     S.SRC_DERIVED))
    for code, r in facts.iterrows():
        rows.append(("poblacion_cabecera", code, 2018, float(r.pop2018_adj_cabecera), S.SRC_CENSUS))
        rows.append(("poblacion_resto", code, 2018, float(r.pop2018_adj_resto), S.SRC_CENSUS))
        rows.append(("grado_urbanizacion", code, 2018, 100.0 * r.pop2018_adj_cabecera / r.pop2018_adj_total,
                     S.SRC_DERIVED))
    return rows


# ---------------------------------------------------------------- the service
def load_territory(data_dir: Path | None = None, repair: bool = True, reset_subregions: bool = False) -> LoadReport:
    data_dir = Path(data_dir or settings.GEOSIG_RAW_DIR)
    report = LoadReport()

    gdf, report.repaired = read_boundaries(_require_file(data_dir, S.MUNICIPALITIES_FILE), repair=repair)
    codes = set(gdf["divipola"])
    facts, report.missing_columns = read_facts(_require_file(data_dir, S.FACTS_FILE), codes)
    proj = read_projections(_require_file(data_dir, S.PROJECTIONS_FILE), codes)
    subregion_of = read_subregions(_require_file(data_dir, S.SUBREGIONS_FILE), codes)

    measured = to_measure_crs(gdf)
    areas = dict(zip(gdf["divipola"], measured.area / 1e6))
    simplified = simplify_coverage(gdf)
    report.overlaps, report.gaps = topology_findings(measured, gdf["divipola"].tolist())

    cabeceras = gpd.GeoSeries(
        gpd.points_from_xy(facts.loc[gdf["divipola"], "cabecera_lon"], facts.loc[gdf["divipola"], "cabecera_lat"]),
        crs=4326,
    )
    inside = gdf.geometry.contains(cabeceras.set_axis(gdf.index))
    report.cabeceras_outside = gdf.loc[~inside, "divipola"].tolist()
    for code in gdf["divipola"]:
        official = float(facts.at[code, "area_km2_mgn2021_official"])
        diff = areas[code] / official - 1.0
        if abs(diff) > S.AREA_TOLERANCE:
            report.area_flags.append({
                "divipola": code, "name": display_name(facts.at[code, "nombre_mgn2021"]),
                "computed_km2": areas[code], "official_km2": official, "diff_pct": 100 * diff,
            })
    report.total_area_km2 = float(sum(areas.values()))
    report.official_area_km2 = float(facts["area_km2_mgn2021_official"].sum())
    rows = indicator_rows(facts, proj, areas)
    tables = [official_stats.read_table(t, data_dir, codes) for t in S.OFFICIAL_TABLES]

    with transaction.atomic():
        subregions = _upsert_subregions()
        for i, row in gdf.iterrows():
            code = row["divipola"]
            f = facts.loc[code]
            values = {
                "name": display_name(f["nombre_mgn2021"]),
                "official_name": str(row["MPIO_CNMBR"]),
                "geom": _multipolygon(row.geometry),
                "geom_simplified": _multipolygon(simplified.iloc[i]),
                "area_km2": round(areas[code], 3),
                "official_area_km2": round(float(f["area_km2_mgn2021_official"]), 3),
                "cabecera_name": display_name(str(f["cabecera_nombre_divipola2017"])),
                "cabecera": Point(float(f["cabecera_lon"]), float(f["cabecera_lat"]), srid=4326),
                "creation_act": str(f["acto_creacion_mgn2021"]) if pd.notna(f["acto_creacion_mgn2021"]) else "",
                "boundary_source": S.BOUNDARY_SOURCE,
            }
            _upsert_municipality(code, values, subregions[subregion_of[code]], reset_subregions, report)
        report.municipalities = Municipality.objects.count()
        _write_indicators(rows, report)
        for table in tables:
            official_stats.write_table(table, report)
        if report.created or report.updated:
            recompute_aggregates()
            # the layers' pieces pre-cut along the municipalities follow the new boundaries (layers.partitions)
            rebuild_partition_pieces("municipios")
        if report.changed:  # bulk writes send no signals: tell the API caches explicitly
            transaction.on_commit(lambda: versioned.bump("territorial"))
    return report


def _multipolygon(geom) -> MultiPolygon:
    g = GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=4326)
    return g if g.geom_type == "MultiPolygon" else MultiPolygon(g, srid=4326)


def _upsert_subregions() -> dict[str, Subregion]:
    out = {}
    for d in S.SUBREGIONS:
        obj, _ = Subregion.objects.get_or_create(
            code=d.code,
            defaults={"name": d.name, "aliases": list(d.dane_aliases), "color": d.color, "order": d.order,
                      "assignment_note": d.note},
        )
        out[d.code] = obj
    return out


def _same(a, b) -> bool:
    if isinstance(a, GEOSGeometry) and isinstance(b, GEOSGeometry):
        return a.srid == b.srid and a.equals_exact(b, 1e-9)
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) < 1e-6
    return a == b


def _upsert_municipality(code, values, subregion, reset_subregions, report):
    try:
        obj = Municipality.objects.get(divipola=code)
    except Municipality.DoesNotExist:
        Municipality.objects.create(divipola=code, subregion=subregion, **values)
        report.created += 1
        return
    changed = [k for k, v in values.items() if not _same(getattr(obj, k), v)]
    # Subregion membership is a planning decision edited in the admin: keep it unless asked to reset.
    if reset_subregions and obj.subregion_id != subregion.pk:
        values["subregion"] = subregion
        changed.append("subregion")
    if changed:
        for k in changed:
            setattr(obj, k, values[k])
        obj.save(update_fields=changed)
        report.updated += 1
    else:
        report.unchanged += 1


def _write_indicators(rows, report):
    indicators = {}
    for code, (name, unit, source, derived, desc) in INDICATORS.items():
        ind, _ = Indicator.objects.update_or_create(
            code=code, defaults={"name": name, "unit": unit, "source": source, "derived": derived, "description": desc}
        )
        indicators[code] = ind
    muni_ids = dict(Municipality.objects.values_list("divipola", "id"))
    existing = {
        (ind, mid, year): (val, src)
        for ind, mid, year, val, src in IndicatorValue.objects.filter(indicator__in=indicators.values()).values_list(
            "indicator_id", "municipality_id", "year", "value", "source"
        )
    }
    to_write = []
    for code, divipola, year, value, source in rows:
        key = (indicators[code].pk, muni_ids[divipola], int(year))
        old = existing.get(key)
        if old is not None and abs(old[0] - value) < 1e-9 and old[1] == source:
            report.indicator_values_unchanged += 1
            continue
        to_write.append(IndicatorValue(indicator_id=key[0], municipality_id=key[1], year=key[2], value=value,
                                       source=source))
    IndicatorValue.objects.bulk_create(
        to_write, update_conflicts=True, unique_fields=["indicator", "municipality", "year"],
        update_fields=["value", "source"],
    )
    report.indicator_values_written = len(to_write)
