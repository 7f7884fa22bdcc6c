"""Load the real POT pieces (Cali's POT 2014 urban perimeter) and generate the labelled demo plans.

The full zoning of Cali and of the other 41 municipalities is not available (data README §9), so the
department-wide analysis runs on demo plans built from real inputs: urban soil around each cabecera
sized from its 2018 urban population, protection land from the loaded determinants, rural elsewhere.
Every demo plan has ``is_demo=True`` and says so in its name and source.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from django.conf import settings
from django.db import connection, transaction
from pyproj import Transformer

from geosig import readers
from geosig.errors import DataFileError
from territorial.models import IndicatorValue, Municipality
from territorial.pot.classes import Status
from territorial.pot.models import Determinant, DeterminantPiece, Plan
from territorial.pot.services.conflicts import analyse_conflicts
from territorial.pot.services.determinants import FETCH_HINT, load_determinants
from territorial.pot.services.plans import retire_for_loader, system_replace_zones
from territorial.pot.services.validation import to_metres, to_multi

CALI_PERIMETER = "pot/cali_perimetro_urbano_pot2014_simplificado.geojson"
CALI_PLAN_NAME = "POT Santiago de Cali 2014 (Acuerdo 0373) — parcial: perímetro urbano"

URBAN_DENSITY_HAB_HA = 150.0  # gross urban density assumed for the demo (Cali's perimeter: ~182 hab/ha)
EXPANSION_SHARE = 0.25  # expansion land as a share of the urban area
SUBURBAN_SHARE = 0.40
MIN_PART_M2 = 10_000.0  # protection fragments under 1 ha go to rural (no slivers in demo plans)
DEMO_SOURCE = ("DEMO generado por GeoSIG (no es un POT adoptado): suelo urbano = círculo alrededor de la "
               "cabecera DANE con área = población de cabecera 2018 (CNPV ajustado) / {density:.0f} hab/ha; "
               "expansión y suburbano en anillos; protección = determinantes ambientales cargados; rural el resto.")


@dataclass
class PotLoadReport:
    lines: list[str] = field(default_factory=list)

    def __str__(self):
        return "\n".join(self.lines)


def _feature(geom_4326, soil, name, use=""):
    return {"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom_4326)),
            "properties": {"soil_class": soil, "name": name, "use_category": use}}


def _to_4326(geom_m):
    tr = Transformer.from_crs(9377, 4326, always_xy=True)
    g = shapely.transform(geom_m, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    g = shapely.make_valid(g, method="structure")  # "linework" would fill holes of folded rings
    return to_multi(g)


def load_cali_plan(data_dir: Path | None = None) -> PotLoadReport:
    """The real (partial) Cali plan: the POT 2014 urban perimeter as its only zone, 'suelo urbano'."""
    path = Path(data_dir or settings.GEOSIG_RAW_DIR) / CALI_PERIMETER
    gdf = readers.read_vector(path, to_srid=4326, hint=FETCH_HINT)
    if len(gdf) != 1 or "fuente" not in gdf.columns:
        raise DataFileError(f"{path}: se esperaba 1 polígono con el campo 'fuente'.", file=str(path), field="fuente")
    row = gdf.iloc[0]
    cali = Municipality.objects.get(divipola="76001")
    source = f"{row['fuente']} — licencia declarada: {row.get('licencia_declarada', '')}; {row.get('generalizacion', '')}"
    feature = _feature(row.geometry, "urbano", "Perímetro urbano POT 2014", "urbano (Acuerdo 0373 de 2014)")
    report = PotLoadReport()
    with transaction.atomic():
        plan = Plan.objects.filter(municipality=cali, name=CALI_PLAN_NAME, is_demo=False).first()
        if plan is not None and plan.zones.count() == 1:
            report.lines.append(f"Plan real de Cali ya cargado (id {plan.pk}, v{plan.version}).")
            return report
        if plan is None:
            # created as a draft, then made current: one approved plan per municipality (the DEMO is replaced)
            plan = Plan.objects.create(municipality=cali, name=CALI_PLAN_NAME, source=source, is_demo=False,
                                       status=Status.BORRADOR)
        res = system_replace_zones(plan, {"type": "FeatureCollection", "features": [feature]}, "importar",
                                   "Carga del perímetro urbano real (IDESC): ")
        retire_for_loader(plan)
    report.lines.append(f"Plan real de Cali (id {plan.pk}): 1 zona de suelo urbano, "
                        f"{plan.zones.first().area_m2 / 1e6:,.2f} km² (EPSG:9377).")
    for w in res.warnings:
        report.lines.append("  Hallazgo: " + w["message"])
    return report


def _determinant_union_m(muni_wkb: bytes, ronda_m: float = 30.0):
    """Union (EPSG:9377) of every loaded determinant inside the municipality (ronda buffered)."""
    dp, dt = DeterminantPiece._meta.db_table, Determinant._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"""WITH m AS (SELECT ST_Transform(ST_SetSRID(ST_GeomFromWKB(%s), 4326), 9377) g)
                SELECT ST_AsBinary(ST_Union(CASE WHEN d.kind = 'ronda' THEN ST_Buffer(p.geom_m, %s)
                                                 ELSE p.geom_m END))
                FROM {dp} p JOIN {dt} d ON d.id = p.determinant_id, m
                WHERE ST_DWithin(p.geom_m, m.g, %s)""",
            [muni_wkb, ronda_m, ronda_m],
        )
        wkb = cur.fetchone()[0]
    return shapely.from_wkb(bytes(wkb)) if wkb else None


def _drop_small(geom, min_m2):
    if geom is None or geom.is_empty:
        return geom, None
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type == "Polygon"]
    big = [p for p in polys if p.area >= min_m2]
    small = [p for p in polys if p.area < min_m2]
    return (shapely.MultiPolygon(big) if big else None), (shapely.union_all(small) if small else None)


def demo_features(muni, urban_pop: float, determinants_m, real_urban_m=None) -> list[dict]:
    muni_m = to_metres(shapely.from_wkb(bytes(muni.geom.wkb)))
    cab = to_metres(shapely.from_wkb(bytes(muni.cabecera.wkb)))
    area_urban = urban_pop / URBAN_DENSITY_HAB_HA * 10_000.0
    r = np.sqrt(area_urban / np.pi)
    urban = real_urban_m if real_urban_m is not None else cab.buffer(r, 32)
    urban = urban.intersection(muni_m) if real_urban_m is None else urban
    grow = lambda share: np.sqrt((area_urban * (1 + share)) / np.pi) - r  # noqa: E731  ring width for a share
    expansion = urban.buffer(grow(EXPANSION_SHARE), 16).intersection(muni_m).difference(urban)
    taken = shapely.union_all([urban, expansion])
    suburban = urban.buffer(grow(EXPANSION_SHARE + SUBURBAN_SHARE), 16).intersection(muni_m).difference(taken)
    taken = shapely.union_all([taken, suburban])
    protection = None
    if determinants_m is not None and not determinants_m.is_empty:
        protection = determinants_m.intersection(muni_m).difference(taken)
        protection, _small = _drop_small(protection, MIN_PART_M2)
    rural = muni_m.difference(taken)
    if protection is not None:
        rural = rural.difference(protection)
        # rural crumbs left between protection patches (< 1 ha) join the protection land: no slivers
        rural, crumbs = _drop_small(shapely.make_valid(rural), MIN_PART_M2)
        if crumbs is not None:
            protection = shapely.union_all([protection, crumbs])
    feats = []
    for geom, soil, name, use in (
        (urban, "urbano", "Suelo urbano (demo)", "mixto"),
        (expansion, "expansion_urbana", "Expansión urbana (demo)", "residencial"),
        (suburban, "suburbano", "Suburbano (demo)", "residencial"),
        (protection, "proteccion", "Protección: determinantes ambientales (demo)", "conservación"),
        (rural, "rural", "Suelo rural (demo)", "agropecuario"),
    ):
        if geom is None or geom.is_empty:
            continue
        big, _ = _drop_small(shapely.make_valid(geom), 100.0)
        if big is None:
            continue
        feats.append(_feature(_to_4326(big), soil, name, use))
    return feats


def generate_demo_plans(divipolas=None, rebuild: bool = False) -> PotLoadReport:
    report = PotLoadReport()
    munis = Municipality.objects.all().order_by("divipola")
    if divipolas:
        munis = munis.filter(divipola__in=divipolas)
    pops = dict(IndicatorValue.objects.filter(indicator__code="poblacion_cabecera", year=2018)
                .values_list("municipality_id", "value"))
    cali_real = Plan.objects.filter(municipality__divipola="76001", is_demo=False, name=CALI_PLAN_NAME).first()
    made = skipped = 0
    for muni in munis:
        existing = Plan.objects.filter(municipality=muni, is_demo=True)
        if existing.exists() and not rebuild:
            skipped += 1
            continue
        if muni.pk not in pops:
            raise DataFileError(f"Falta la población de cabecera 2018 de {muni.name}: ejecute load_territory.")
        real_urban = None
        if cali_real is not None and muni.divipola == "76001" and cali_real.zones.exists():
            real_urban = cali_real.zones.first().geom_m
            real_urban = shapely.from_wkb(bytes(real_urban.wkb))
        dets = _determinant_union_m(bytes(muni.geom.wkb))
        feats = demo_features(muni, pops[muni.pk], dets, real_urban)
        with transaction.atomic():
            existing.delete()
            plan = Plan.objects.create(
                municipality=muni, name=f"Plan DEMO — {muni.name}", status=Status.BORRADOR, is_demo=True,
                source=DEMO_SOURCE.format(density=URBAN_DENSITY_HAB_HA)
                + (" En Cali el suelo urbano es el perímetro real del POT 2014." if real_urban is not None else ""),
            )
            system_replace_zones(plan, {"type": "FeatureCollection", "features": feats}, "generar_demo",
                                 "Plan de demostración generado: ")
            retire_for_loader(plan)  # approved and current, unless a real approved plan stands there
        made += 1
    report.lines.append(f"Planes DEMO: {made} generados, {skipped} ya existían (use --rebuild para regenerar).")
    return report


def load_pot(force: bool = False, slope_threshold_deg: float | None = None, warm_now: bool = False) -> PotLoadReport:
    """Setup entry point: fast on rerun (determinants and demo plans are kept unless ``force``). The
    department-wide conflict recomputation (~40 s) is queued as a job for ``geosig_worker`` (``make demo``
    starts one), or computed here with ``warm_now``."""
    report = PotLoadReport()
    missing = [d.code for d in Determinant.objects.all() if force or d.piece_count == 0]
    if missing:
        report.lines.append(str(load_determinants(missing, slope_threshold_deg)))
    else:
        report.lines.append("Determinantes ambientales ya cargados (use --force para recalcular).")
    report.lines += load_cali_plan().lines
    report.lines += generate_demo_plans(rebuild=force).lines
    # Warm the per-plan conflict cache with what the conflicts page asks first (published plans, default
    # parameters, with geometry): the first visit then reads cached rows instead of waiting ~30 s.
    if warm_now:
        warm = analyse_conflicts(None, with_geometry=True)
        report.lines.append(f"Conflictos del departamento precalculados: {len(warm.findings)} hallazgos "
                            f"({warm.seconds:.1f} s).")
    else:
        from territorial.pot.jobs import enqueue_department

        job, new = enqueue_department()
        report.lines.append(f"Conflictos del departamento: trabajo n.º {job.pk} {'en cola' if new else 'ya estaba en cola'}"
                            " (lo calcula `python manage.py geosig_worker`; `make demo` arranca uno).")
    return report
