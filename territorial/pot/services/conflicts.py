"""Conflict analysis of POT plans — one public function, ``analyse_conflicts``.

Computed in PostGIS: zones and determinant pieces are stored in EPSG:9377 with GiST indexes, big zones
are cut with ST_Subdivide on the fly, every join is prefiltered with ST_Intersects/ST_DWithin (index),
and pieces fully inside each other skip ST_Intersection. Results are stored per plan, set-based: each
mode's SELECT runs into a temporary table and one INSERT … SELECT copies its rows into ConflictRow
(attributes as jsonb, area in m² and geometry in EPSG:9377), so no row passes through Python when
computing; GeoJSON is made in SQL only for the rows a response returns (``ConflictReport.load_geometry``).
A plan saved since the last report is the only one recomputed. ``bench/bench_pot.py`` measures this
against a geopandas.overlay script and against the bare SQL (the same statements).

Three modes (any subset):
* ``internal``: overlaps between zones of one plan, gaps (municipal area covered by no zone), slivers
  (zone parts or gaps smaller than the area tolerance or thinner than the width tolerance).
* ``cross_border``: zones of neighbouring plans with incompatible/conditioned classes within
  ``buffer_m`` of each other (area = the strip of each zone within ``buffer_m`` of the other), and zone
  parts lying in another municipality (with the MGN 2021 generalisation, often a boundary mismatch),
  plus determinant layers of one city that spill over its MGN polygon (reported, never clipped).
* ``determinants``: zone ∩ determinant (ronda hídrica buffered by ``ronda_m``), judged by the
  DeterminantRule matrix; compatible intersections are not conflicts and are only counted.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from geosig import params as P
from geosig.errors import InvalidParameter, NotFound
from geosig.numbers import area_label, length_label, pct_label
from territorial.models import Municipality
from territorial.pot.classes import CROSS_BORDER_VERDICTS, Status, Verdict, soil_label
from territorial.pot.models import (
    ConflictCache, ConflictRow, Determinant, DeterminantPiece, DeterminantRule, Plan, Zone, ZonePiece,
)
from territorial.pot.services import access

MODES = {
    "internal": _("Internos (superposiciones, huecos, astillas)"),
    "cross_border": _("Limítrofes (vecinos incompatibles, zonas que cruzan el límite)"),
    "determinants": _("Determinantes ambientales"),
}
KIND_LABELS = {
    "superposicion": _("Superposición entre zonas"),
    "hueco": _("Hueco (área municipal sin zona)"),
    "astilla": _("Astilla (polígono residual)"),
    "vecino_incompatible": _("Clases incompatibles a lado y lado del límite"),
    "cruza_limite": _("Zona que cruza el límite municipal"),
    "desajuste_limite": _("Desajuste entre capa municipal y límite MGN"),
    "determinante": _("Zona sobre determinante ambiental"),
}
DEFAULTS = {
    "buffer_m": 200.0,  # cross-border contact distance
    "ronda_m": 30.0,  # ronda hídrica width (Decreto 2811/1974 art. 83: up to 30 m)
    "sliver_m2": 1_000.0,
    "sliver_width_m": 5.0,  # mean width 2·A/P below this is a sliver, whatever its area
    "min_m2": 1.0,  # below this an intersection is floating-point noise
    "noise_width_m": 0.05,  # gap parts thinner than this are the 1 cm storage grid, not planning gaps
}
# allowed ranges of the parameters (inclusive); others 0–10 000. Distances are capped because the
# cross-border and ronda queries buffer every zone/river by them: kilometres would be a denial of service
RANGES = {
    "buffer_m": (0.0, 2_000.0),
    "ronda_m": (0.0, 100.0),  # Decreto 2811/1974: 30 m; wider municipal rondas stay well below 100 m
}
SUBDIVIDE_VERTICES = 256
# the steps the conflicts page offers: values are rounded to them before computing, so nearby values
# share one cached result (each distinct float used to add cache rows for every plan, for good)
STEPS = {"buffer_m": 10.0, "ronda_m": 1.0, "sliver_m2": 1.0}


class StoredGeometry:
    """A finding's geometry still in ConflictRow (EPSG:9377): ConflictReport.load_geometry turns the ones a
    response returns into GeoJSON in one query. Not JSON-serialisable on purpose: a response that forgot
    to load them fails loudly instead of sending references."""

    __slots__ = ("row_id",)

    def __init__(self, row_id: int):
        self.row_id = row_id

    def __repr__(self):
        return f"StoredGeometry({self.row_id})"


@dataclass
class Statement:
    """One SELECT of a mode: columns ``plan_id``, ``area_m2`` (m², EPSG:9377) and ``geometry`` (EPSG:9377 or
    NULL) plus its own attributes; ``tag`` names the DECORATE function that turns a stored row into a
    finding; ``owners`` the plans (an SQL array over the row ``q``) it is stored under."""

    tag: str
    sql: str
    params: list | dict
    owners: str = "ARRAY[q.plan_id]"
    parallel: bool = False


@dataclass
class ConflictReport:
    scope: str
    scope_label: str
    modes: list[str]
    params: dict
    plans: list[dict]
    findings: list[dict] = field(default_factory=list)
    compatible: list[dict] = field(default_factory=list)  # determinant intersections judged compatible
    notes: list[str] = field(default_factory=list)
    neighbour_plans: list[int] = field(default_factory=list)
    neighbours: list[dict] = field(default_factory=list)  # plan_ref of the neighbours the cross-border mode read
    seconds: float = 0.0

    neighbour_demo: bool = False  # a neighbour plan used by the cross-border mode is a demo
    with_geometry: bool = True  # False: the caller wants no geometry (CSV, fact sheets)

    @property
    def has_demo(self) -> bool:
        return self.neighbour_demo or any(p["is_demo"] for p in self.plans)

    def summary(self) -> list[dict]:
        out = {}
        for f in self.findings:
            s = out.setdefault(f["kind"], {"kind": f["kind"], "label": str(KIND_LABELS[f["kind"]]), "count": 0,
                                           "area_m2": 0.0, "incompatible": 0})
            s["count"] += 1
            s["area_m2"] += f["area_m2"] or 0.0
            s["incompatible"] += f.get("verdict") == Verdict.INCOMPATIBLE
        return list(out.values())

    def load_geometry(self, findings: list[dict] | None = None) -> list[dict]:
        """``findings`` (default: all, compatible ones included) with their stored geometries as GeoJSON
        (EPSG:4326, 7 decimals), made in SQL by one query for just these rows."""
        findings = self.findings + self.compatible if findings is None else findings
        refs = {f["geometry"].row_id: f for f in findings if isinstance(f.get("geometry"), StoredGeometry)}
        if refs:
            with connection.cursor() as cur:
                cur.execute(f"SELECT id, ST_AsGeoJSON(ST_Transform(geom, 4326), 7) FROM {_t(ConflictRow)} "
                            "WHERE id = ANY(%s)", [list(refs)])
                for rid, text in cur.fetchall():
                    refs.pop(rid)["geometry"] = json.loads(text)
            for f in refs.values():  # evicted since the analysis by another writer's cap (rare)
                f["geometry"] = None
        return findings

    def as_dict(self, with_geometry: bool = True) -> dict:
        if with_geometry and self.with_geometry:
            findings = self.load_geometry(self.findings)
        else:
            findings = [{k: v for k, v in f.items() if k != "geometry"} for f in self.findings]
        return {"scope": self.scope, "scope_label": self.scope_label, "modes": self.modes, "params": self.params,
                "is_demo": self.has_demo, "plans": self.plans, "neighbour_plans": self.neighbours,
                "analysed": self.analysed_label(), "summary": self.summary(), "findings": findings,
                "compatible_count": len(self.compatible), "notes": self.notes, "seconds": round(self.seconds, 3)}

    def analysed_label(self) -> str:
        """Which plans, in which version, the report read (one line, for every report format)."""
        def one(p):
            return f"{p['municipality_name']}: «{p['name']}» versión {p['version']} ({p['status_label']})"
        text = "Planes analizados: " + ("; ".join(one(p) for p in self.plans) or "ninguno") + "."
        if self.neighbours:
            text += " Vecinos (análisis limítrofe): " + "; ".join(one(p) for p in self.neighbours) + "."
        return text

    def __str__(self) -> str:
        lines = [f"Conflictos POT — {self.scope_label}" + ("  [DEMO: incluye planes de demostración]" if self.has_demo else "")]
        lines.append(f"Planes analizados: {len(self.plans)}; modos: {', '.join(self.modes)}; "
                     f"parámetros: " + ", ".join(f"{k}={v}" for k, v in self.params.items()))
        for s in self.summary():
            lines.append(f"  {s['label']}: {s['count']} ({area_label(s['area_m2'])}; {s['incompatible']} incompatibles)")
        if not self.findings:
            lines.append("  Sin conflictos.")
        for n in self.notes:
            lines.append(f"Nota: {n}")
        lines.append(f"Tiempo: {self.seconds:.2f} s")
        return "\n".join(lines)


def _t(model):
    return model._meta.db_table


# The piece × piece overlays are CPU-bound and embarrassingly parallel; PostgreSQL's default costs never
# plan workers for tables this small. Measured on the 2-core server: 1.6 s → 1.2 s (bench_pot.py).
PARALLEL_SETTINGS = ("SET LOCAL max_parallel_workers_per_gather = 2", "SET LOCAL parallel_setup_cost = 0",
                     "SET LOCAL parallel_tuple_cost = 0", "SET LOCAL min_parallel_table_scan_size = 0",
                     "SET LOCAL min_parallel_index_scan_size = 0")


# JIT compiles expressions, but the cost is all in PostGIS C functions: with the overlays' inflated cost
# estimates it only adds compile time. The cache's commit need not wait for the WAL flush: a crash can only
# lose the last entries written (each with its rows, one transaction), which are then computed again
COMPUTE_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL synchronous_commit = off")


def _fetch(sql, params):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        cols = [c.name for c in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]


# ------------------------------------------------------------------ plan selection
def plan_ref(pl) -> dict:
    """How a report names a plan it analysed: id, name, municipality, version and status."""
    return {"id": pl.pk, "name": pl.name, "municipality": pl.municipality.divipola,
            "municipality_name": pl.municipality.name, "status": pl.status,
            "status_label": str(pl.get_status_display()), "current": pl.status == Status.APROBADA,
            "is_demo": pl.is_demo, "source": pl.source, "version": pl.version}


def reference_plans(user, municipality_ids=None) -> dict[int, object]:
    """The plan that stands for each municipality: the current approved plan (one per municipality)
    before anything else, then — for users who see them — real before demo, the most recently updated.
    Replaced plans never stand for a municipality (ask for one with ``plan=``)."""
    qs = access.plans_visible_to(user, Plan.objects.select_related("municipality")).exclude(
        status=Status.REEMPLAZADA)
    if municipality_ids is not None:
        qs = qs.filter(municipality_id__in=municipality_ids)
    best = {}
    for plan in qs.order_by("municipality_id", "-updated_at"):
        key = (plan.status == "aprobada", not plan.is_demo)
        cur = best.get(plan.municipality_id)
        if cur is None or key > (cur.status == "aprobada", not cur.is_demo):
            best[plan.municipality_id] = plan
    return best


def neighbour_ids(municipality_ids, distance_m) -> dict[int, list[int]]:
    t = _t(Municipality)
    rows = _fetch(
        f"""SELECT a.id a, b.id b FROM {t} a JOIN {t} b
              ON a.id <> b.id AND ST_DWithin(a.geom, b.geom, %s)
            WHERE a.id = ANY(%s)""",
        [distance_m / 90_000.0 + 0.001, list(municipality_ids)],  # degrees, generous: refined in metres later
    )
    out: dict[int, list[int]] = {}
    for r in rows:
        out.setdefault(r["a"], []).append(r["b"])
    return out


# ------------------------------------------------------------------ SQL per mode
def _tables():
    return {"z": _t(Zone), "zp": _t(ZonePiece), "pl": _t(Plan), "m": _t(Municipality), "dt": _t(Determinant),
            "dp": _t(DeterminantPiece), "dr": _t(DeterminantRule)}


def _internal(plan_ids, p):
    T = _tables()
    out = []
    # overlaps: interiors of pieces of different zones of one plan meet in 2D (touching edges skipped)
    out.append(Statement("overlap",
        f"""SELECT za.plan_id, za.id zone_id, zb.id other_zone_id, za.soil_class, zb.soil_class other_class,
                   za.area_m2 zone_area, SUM(ST_Area(x.i)) area_m2, ST_Collect(x.i) geometry
            FROM {T['zp']} a JOIN {T['zp']} b ON b.plan_id_copy = a.plan_id_copy AND a.zone_id < b.zone_id
                 AND a.geom_m && b.geom_m AND ST_Relate(a.geom_m, b.geom_m, '2********')
            JOIN {T['z']} za ON za.id = a.zone_id JOIN {T['z']} zb ON zb.id = b.zone_id
            CROSS JOIN LATERAL (SELECT ST_CollectionExtract(ST_Intersection(a.geom_m, b.geom_m), 3) i) x
            WHERE a.plan_id_copy = ANY(%s)
            GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(ST_Area(x.i)) >= %s
                   AND 2 * SUM(ST_Area(x.i)) / NULLIF(SUM(ST_Perimeter(x.i)), 0) >= %s""",
        [plan_ids, p["min_m2"], p["noise_width_m"]]))
    # gaps: holes of the union of the zones, plus the municipality outside the union's outer shells
    # (cheaper than municipality − union, whose result drags every vertex of the union along)
    out.append(Statement("gap",
        f"""WITH u AS (
              SELECT pl.id plan_id, ST_Transform(m.geom, 9377) mg,
                     (SELECT ST_Union(zz.geom_m) FROM {T['z']} zz WHERE zz.plan_id = pl.id) zu
              FROM {T['pl']} pl JOIN {T['m']} m ON m.id = pl.municipality_id WHERE pl.id = ANY(%s)),
            parts AS (SELECT plan_id, mg, (ST_Dump(zu)).geom g FROM u WHERE zu IS NOT NULL),
            holes AS (SELECT plan_id, ST_Intersection(ST_MakePolygon(ST_InteriorRingN(g, n)), mg) g
                      FROM parts, generate_series(1, ST_NumInteriorRings(g)) n),
            shells AS (SELECT plan_id, mg, ST_Union(ST_MakePolygon(ST_ExteriorRing(g))) s FROM parts GROUP BY 1, 2),
            outside AS (SELECT plan_id, ST_Difference(mg, s) g FROM shells
                        UNION ALL SELECT plan_id, mg FROM u WHERE zu IS NULL),
            d AS (SELECT plan_id, (ST_Dump(ST_CollectionExtract(g, 3))).geom g FROM (
                    SELECT * FROM holes UNION ALL SELECT * FROM outside) q)
            SELECT plan_id, ST_Area(g) area_m2, ST_Perimeter(g) perimeter_m, g geometry
            FROM d WHERE ST_Area(g) >= %s AND 2 * ST_Area(g) / NULLIF(ST_Perimeter(g), 0) >= %s""",
        [plan_ids, p["min_m2"], p["noise_width_m"]]))
    # slivers: small or thin parts of zones
    out.append(Statement("sliver",
        f"""WITH d AS (SELECT z.plan_id, z.id zone_id, z.soil_class, z.area_m2 zone_area, (ST_Dump(z.geom_m)).geom g
                       FROM {T['z']} z WHERE z.plan_id = ANY(%s))
            SELECT plan_id, zone_id, soil_class, zone_area, ST_Area(g) area_m2, ST_Perimeter(g) perimeter_m,
                   g geometry
            FROM d WHERE ST_Area(g) < %s OR 2 * ST_Area(g) / NULLIF(ST_Perimeter(g), 0) < %s""",
        [plan_ids, p["sliver_m2"], p["sliver_width_m"]]))
    return out


def _cross_border(plan_ids, neighbour_plan_ids, p):
    T = _tables()
    pairs = [(a, b, v) for pair, v in CROSS_BORDER_VERDICTS.items() if v != Verdict.COMPATIBLE
             for a, b in ([tuple(pair)] + [tuple(pair)[::-1]])]
    values = ", ".join(["(%s, %s, %s)"] * len(pairs))
    flat = [x for t3 in pairs for x in t3]
    all_ids = sorted(set(plan_ids) | set(neighbour_plan_ids))
    d = p["buffer_m"]
    out = []
    # piece pairs of zones in different municipalities, within d, with a non-compatible class pair; the
    # strip of each side within d of the other is cut against the buffer of the other side's pieces,
    # collected per piece first (buffers of adjacent pieces overlap: never sum them)
    out.append(Statement("facing",
        f"""WITH rules(ca, cb, verdict) AS (VALUES {values}),
            pairs AS MATERIALIZED (
              SELECT a.id apid, b.id bpid, za.id azid, zb.id bzid, za.plan_id aplan, zb.plan_id bplan,
                     za.soil_class ac, zb.soil_class bc, r.verdict, ST_Distance(a.geom_m, b.geom_m) dist
              FROM {T['zp']} a JOIN {T['z']} za ON za.id = a.zone_id JOIN {T['pl']} pa ON pa.id = za.plan_id
              JOIN {T['zp']} b ON b.plan_id_copy = ANY(%s) AND b.plan_id_copy <> a.plan_id_copy
                   AND ST_DWithin(a.geom_m, b.geom_m, %s)
              JOIN {T['z']} zb ON zb.id = b.zone_id JOIN {T['pl']} pb ON pb.id = zb.plan_id
                   AND pa.municipality_id < pb.municipality_id
              JOIN rules r ON r.ca = za.soil_class AND r.cb = zb.soil_class
              WHERE a.plan_id_copy = ANY(%s) AND (za.plan_id = ANY(%s) OR zb.plan_id = ANY(%s))),
            sa AS (SELECT x.azid, x.bzid, ST_CollectionExtract(ST_Intersection(q.geom_m, ST_Buffer(x.g, %s)), 3) s
                   FROM (SELECT apid, azid, bzid, ST_Collect(pb.geom_m) g FROM pairs JOIN {T['zp']} pb ON pb.id = bpid
                         GROUP BY 1, 2, 3) x JOIN {T['zp']} q ON q.id = x.apid),
            sb AS (SELECT x.azid, x.bzid, ST_CollectionExtract(ST_Intersection(q.geom_m, ST_Buffer(x.g, %s)), 3) s
                   FROM (SELECT bpid, azid, bzid, ST_Collect(pa.geom_m) g FROM pairs JOIN {T['zp']} pa ON pa.id = apid
                         GROUP BY 1, 2, 3) x JOIN {T['zp']} q ON q.id = x.bpid),
            strips AS (SELECT azid, bzid, SUM(ST_Area(s)) area, ST_Collect(s) g
                       FROM (SELECT * FROM sa UNION ALL SELECT * FROM sb) q GROUP BY 1, 2),
            meta AS (SELECT azid, bzid, MIN(aplan) aplan, MIN(bplan) bplan, MIN(ac) ac, MIN(bc) bc,
                            MIN(verdict) verdict, MIN(dist) dist FROM pairs GROUP BY 1, 2)
            SELECT meta.aplan plan_id, meta.azid zone_id, meta.ac soil_class, meta.bplan other_plan_id,
                   meta.bzid other_zone_id, meta.bc other_class, meta.verdict, meta.dist distance_m,
                   strips.area area_m2, strips.g geometry
            FROM meta JOIN strips USING (azid, bzid) WHERE strips.area >= %s""",
        flat + [all_ids, d, all_ids, plan_ids, plan_ids, d, d, p["min_m2"]], owners="ARRAY[q.plan_id, q.other_plan_id]"))
    # city layers that spill over their own MGN polygon (e.g. Cali's flood zones along the río Cauca)
    out.append(Statement("spill",
        f"""SELECT d.code determinant, d.name determinant_name, m.divipola, m.name muni_name, pl.id plan_id,
                   SUM(ST_Area(p.geom_m)) total_m2,
                   SUM(ST_Area(ST_Difference(p.geom_m, ST_Transform(m.geom, 9377)))) area_m2, NULL::geometry geometry
            FROM {T['dt']} d JOIN {T['m']} m ON m.divipola = d.params->>'municipality'
            JOIN {T['pl']} pl ON pl.municipality_id = m.id AND pl.id = ANY(%s)
            JOIN {T['dp']} p ON p.determinant_id = d.id AND ST_Dimension(p.geom_m) = 2
            GROUP BY 1, 2, 3, 4, 5""",
        [plan_ids]))
    return out


def _outside(plan_ids, p):
    """Zone parts lying in another municipality (MGN 2021): plan-local, so cached per plan version."""
    T = _tables()
    out = []
    # only pieces not within their own municipality are cut
    out.append(Statement("outside",
        f"""WITH mm AS MATERIALIZED (SELECT id, divipola, name, ST_Transform(geom, 9377) g FROM {T['m']}),
            o AS (SELECT q.zone_id, pl.municipality_id own, ST_CollectionExtract(ST_Difference(q.geom_m, mo.g), 3) g
                  FROM {T['zp']} q JOIN {T['z']} z ON z.id = q.zone_id JOIN {T['pl']} pl ON pl.id = z.plan_id
                  JOIN mm mo ON mo.id = pl.municipality_id
                  WHERE q.plan_id_copy = ANY(%s) AND NOT ST_Within(q.geom_m, mo.g))
            SELECT z.plan_id, z.id zone_id, z.soil_class, z.area_m2 zone_area, mm.divipola other_divipola,
                   mm.name other_name, SUM(ST_Area(x.i)) area_m2, ST_Collect(x.i) geometry
            FROM o JOIN mm ON mm.id <> o.own AND o.g && mm.g
            JOIN {T['z']} z ON z.id = o.zone_id
            CROSS JOIN LATERAL (SELECT ST_CollectionExtract(ST_Intersection(o.g, mm.g), 3) i) x
            GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(ST_Area(x.i)) >= %s
                   AND 2 * SUM(ST_Area(x.i)) / NULLIF(SUM(ST_Perimeter(x.i)), 0) >= %s""",
        [plan_ids, p["min_m2"], p["noise_width_m"]]))
    return out


# ------------------------------------------------------------------ rows → findings (when reading)

def _overlap_row(r: dict, p: dict) -> dict | None:
    """Two zones of one plan overlapping."""
    r["kind"] = "superposicion"
    r["verdict"] = Verdict.INCOMPATIBLE
    r["pct_zone"] = 100 * r["area_m2"] / r["zone_area"]
    r["message"] = (f"Zonas #{r['zone_id']} ({soil_label(r['soil_class'])}) y #{r['other_zone_id']} "
                    f"({soil_label(r['other_class'])}) se superponen en {area_label(r['area_m2'])}.")
    return r


def _gap_row(r: dict, p: dict) -> dict | None:
    """Municipal area covered by no zone: a gap, or a sliver if small or thin."""
    thin = 2 * r["area_m2"] / r["perimeter_m"] < p["sliver_width_m"] if r["perimeter_m"] else False
    small = r["area_m2"] < p["sliver_m2"] or thin
    r.update(kind="astilla" if small else "hueco", verdict=Verdict.CONDICIONADO, zone_id=None, pct_zone=None)
    r["message"] = (f"{'Astilla' if small else 'Hueco'} de {area_label(r['area_m2'])} del municipio sin clase de "
                    f"suelo asignada.")
    return r


def _sliver_row(r: dict, p: dict) -> dict | None:
    """A small or thin part of a zone."""
    r.update(kind="astilla", verdict=Verdict.CONDICIONADO, pct_zone=100 * r["area_m2"] / r["zone_area"])
    r["message"] = (f"Parte de la zona #{r['zone_id']} ({soil_label(r['soil_class'])}) de {area_label(r['area_m2'])} "
                    f"(ancho medio {length_label(2 * r['area_m2'] / r['perimeter_m'])}): astilla.")
    return r


def _facing_row(r: dict, p: dict) -> dict | None:
    """Incompatible/conditioned classes facing across a municipal limit."""
    d = p["buffer_m"]
    r["kind"] = "vecino_incompatible"
    r["pct_zone"] = None
    r["message"] = (f"Zona #{r['zone_id']} ({soil_label(r['soil_class'])}) frente a #{r['other_zone_id']} "
                    f"({soil_label(r['other_class'])}) del municipio vecino a {length_label(r['distance_m'])}: "
                    f"franja de {area_label(r['area_m2'])} dentro de {length_label(d)} ({r['verdict']}).")
    return r


def _spill_row(r: dict, p: dict) -> dict | None:
    """A city's determinant layer spilling over its MGN polygon (None below the noise area)."""
    if r["area_m2"] < p["min_m2"]:
        return None
    pct = 100 * r["area_m2"] / r["total_m2"]
    r.update(kind="desajuste_limite", verdict=Verdict.CONDICIONADO, zone_id=None, pct_zone=None, geometry=None)
    r["message"] = (f"La capa «{r['determinant_name']}» de {r['muni_name']} tiene {area_label(r['area_m2'])} "
                    f"({pct_label(pct)}) fuera del polígono MGN 2021 del municipio: el límite generalizado desplaza "
                    "el borde (río Cauca); la capa no se recortó.")
    return r


def _outside_row(r: dict, p: dict) -> dict | None:
    """A zone part lying in another municipality."""
    r.update(kind="cruza_limite", verdict=Verdict.CONDICIONADO, pct_zone=100 * r["area_m2"] / r["zone_area"])
    r["message"] = (f"Zona #{r['zone_id']} ({soil_label(r['soil_class'])}): {area_label(r['area_m2'])} "
                    f"({pct_label(r['pct_zone'])}) "
                    f"caen en {r['other_name']} ({r['other_divipola']}) según el límite MGN 2021 generalizado"
                    + (" — probable desajuste del límite, no invasión." if r["pct_zone"] < 5 else "."))
    return r


def _determinant_row(r: dict, p: dict) -> dict:
    """Zone × determinant: judged by the matrix when reading (_judge), so a matrix edit needs no purge."""
    return r


# statement tag → the function that makes a finding of a stored row (registry, not if/elif)
DECORATE = {"overlap": _overlap_row, "gap": _gap_row, "sliver": _sliver_row, "facing": _facing_row,
            "spill": _spill_row, "outside": _outside_row, "determinant": _determinant_row}


# From this many plans the determinant overlays run in parallel workers; below, one process driven by the
# plan's zone pieces is faster (no worker start-up, no scan of every determinant piece). Measured with
# bench_pot.py's data: one plan 0.05 s serial vs 0.11 s parallel; 42 plans 0.76 s parallel vs 1.3 s serial.
# Again with the zone-driven few-plans query (load 2.4): one plan 28 ms vs 72 ms; 42 plans 0.54 s vs 0.67 s.
PARALLEL_FROM_PLANS = 4

_PAIR = """CASE WHEN ST_Within(p.geom_m, q.geom_m) THEN p.geom_m
                   WHEN ST_Within(q.geom_m, p.geom_m) THEN q.geom_m
                   ELSE ST_CollectionExtract(ST_Intersection(q.geom_m, p.geom_m), 3) END"""


def determinant_sql(many: bool = True) -> tuple[str, str]:
    """The two determinant queries (polygons; rondas) for many plans or a few, shared with the benchmark's
    bare-SQL run.

    Polygons: each zone piece of the plans against the determinant pieces it meets (GiST prefilter on the
    stored pieces, then ST_Intersects); a piece inside the zone piece is taken whole, a zone piece inside a
    piece likewise (ST_Within tests bounding boxes first), only the others go through ST_Intersection;
    grouped per zone. For many plans the pairs are a MATERIALIZED CTE: the overlays then run below the
    Gather, in the parallel workers. Written as one query, the ST_Collect aggregate (it has no partial
    form) pulled the whole aggregate — and the ST_Intersection in its arguments — above the Gather into the
    leader alone: 1.9 s instead of 0.76 s for the department on the loaded 2-core machine, same areas."""
    T = _tables()
    if many:
        polygons = f"""
        WITH x AS MATERIALIZED (
            SELECT q.zone_id, p.determinant_id, {_PAIR} i
            FROM {T['zp']} q JOIN {T['dp']} p ON p.determinant_id = ANY(%(dets)s) AND ST_Intersects(q.geom_m, p.geom_m)
            WHERE q.plan_id_copy = ANY(%(plans)s))
        SELECT z.id zone_id, z.plan_id, z.soil_class, z.area_m2 zone_area, x.determinant_id,
               SUM(ST_Area(x.i)) area_m2, ST_Collect(x.i) geometry
        FROM x JOIN {T['z']} z ON z.id = x.zone_id
        GROUP BY 1, 2, 3, 4, 5 HAVING SUM(ST_Area(x.i)) >= %(min)s"""
    else:
        # the plans' zone pieces are materialised first so that they drive the join (one GiST probe of the
        # determinant pieces each): written as a plain join, PostgreSQL scanned every determinant piece and
        # probed the zone pieces for each (bench plans: 36–45 ms instead of 1–4 ms, same rows). The pairs are
        # materialised too: inlined, the pair's geometry was computed once for SUM and again for ST_Collect
        polygons = f"""
        WITH q AS MATERIALIZED (SELECT zone_id, geom_m FROM {T['zp']} WHERE plan_id_copy = ANY(%(plans)s)),
        x AS MATERIALIZED (
            SELECT q.zone_id, p.determinant_id, {_PAIR} i
            FROM q JOIN {T['dp']} p ON p.determinant_id = ANY(%(dets)s) AND ST_Intersects(q.geom_m, p.geom_m))
        SELECT z.id zone_id, z.plan_id, z.soil_class, z.area_m2 zone_area, x.determinant_id,
               SUM(ST_Area(x.i)) area_m2, ST_Collect(x.i) geometry
        FROM x JOIN {T['z']} z ON z.id = x.zone_id
        GROUP BY 1, 2, 3, 4, 5 HAVING SUM(ST_Area(x.i)) >= %(min)s"""
    # buffers of neighbouring line pieces overlap: buffer the collected lines near each zone piece once;
    # the strips are materialised first for the same reason as the polygons' pairs
    rondas = f"""
        WITH x AS {'MATERIALIZED' if many else 'NOT MATERIALIZED'} (
            SELECT q.zone_id, b.determinant_id, ST_CollectionExtract(ST_Intersection(q.geom_m, b.buf), 3) i
            FROM {T['zp']} q
            CROSS JOIN LATERAL (
                SELECT p.determinant_id, ST_Buffer(ST_Collect(p.geom_m), %(ronda)s) buf FROM {T['dp']} p
                WHERE p.determinant_id = ANY(%(dets)s) AND ST_DWithin(q.geom_m, p.geom_m, %(ronda)s)
                GROUP BY p.determinant_id) b
            WHERE q.plan_id_copy = ANY(%(plans)s))
        SELECT z.id zone_id, z.plan_id, z.soil_class, z.area_m2 zone_area, x.determinant_id,
               SUM(ST_Area(x.i)) area_m2, ST_Collect(x.i) geometry
        FROM x JOIN {T['z']} z ON z.id = x.zone_id
        GROUP BY 1, 2, 3, 4, 5 HAVING SUM(ST_Area(x.i)) >= %(min)s"""
    return polygons, rondas


def _selected_determinants(determinant_codes=None):
    dets = Determinant.objects.filter(piece_count__gt=0)
    if determinant_codes:
        dets = dets.filter(code__in=determinant_codes)
    return list(dets)


def determinant_statements(plan_ids, p, dets) -> list[Statement]:
    """Raw zone × determinant intersections (no verdict: the matrix is applied when reading)."""
    polygon_ids = [d.pk for d in dets if d.kind != Determinant.Kind.RONDA]
    ronda_ids = [d.pk for d in dets if d.kind == Determinant.Kind.RONDA]
    many = len(plan_ids) >= PARALLEL_FROM_PLANS
    polygons_sql, rondas_sql = determinant_sql(many)
    out = []
    if polygon_ids:
        out.append(Statement("determinant", polygons_sql, {"dets": polygon_ids, "plans": plan_ids, "min": p["min_m2"]},
                             parallel=many))
    if ronda_ids:
        out.append(Statement("determinant", rondas_sql, {"dets": ronda_ids, "plans": plan_ids, "ronda": p["ronda_m"],
                                                         "min": p["min_m2"]}, parallel=many))
    return out


def _judge(rows, dets):
    det_by_id = {d.pk: d for d in dets}
    rules = {(r.determinant_id, r.soil_class): r.verdict for r in DeterminantRule.objects.all()}
    findings, compatible = [], []
    labels = {}  # soil class → its translated name, once per report (thousands of rows, five classes)
    for r in rows:
        det = det_by_id[r.pop("determinant_id")]
        verdict = rules.get((det.pk, r["soil_class"]), Verdict.CONDICIONADO)  # unknown pair: ask a human
        r.update(kind="determinante", verdict=verdict, determinant=det.code, determinant_name=det.name,
                 pct_zone=100 * r["area_m2"] / r["zone_area"])
        if r["soil_class"] not in labels:
            labels[r["soil_class"]] = soil_label(r["soil_class"])
        r["message"] = (f"Zona #{r['zone_id']} ({labels[r['soil_class']]}) sobre «{det.name}»: "
                        f"{area_label(r['area_m2'])} ({pct_label(r['pct_zone'])} de la zona) — {verdict}.")
        (compatible if verdict == Verdict.COMPATIBLE else findings).append(r)
    return findings, compatible


def _read(mode: str, plan_versions: dict, keys: dict) -> tuple[list[dict], set]:
    """The stored rows of the current entries (plan version and key match) of these plans, and the plans
    that have one. One statement: an entry and its rows are read from one snapshot (a concurrent eviction
    cannot leave an entry without its rows)."""
    pids = sorted(plan_versions)
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT e.plan_id, r.id, r.area_m2, r.attrs::text, r.geom IS NOT NULL
                FROM {_t(ConflictCache)} e
                JOIN unnest(%s::int[], %s::int[], %s::text[]) w(pid, ver, k)
                     ON e.plan_id = w.pid AND e.plan_version = w.ver AND e.key = w.k
                LEFT JOIN {_t(ConflictRow)} r ON r.entry_id = e.id
                WHERE e.mode = %s ORDER BY e.plan_id, r.id""",
            [pids, [plan_versions[p] for p in pids], [keys[p] for p in pids], mode])
        rows, found = [], set()
        for pid, rid, area, attrs, has_geom in cur.fetchall():
            found.add(pid)
            if rid is not None:
                r = json.loads(attrs)
                r["area_m2"] = area
                r["geometry"] = StoredGeometry(rid) if has_geom else None
                rows.append(r)
    return rows, found


def materialise(cur, st: Statement, table: str = "pot_conflict_new") -> None:
    """Run one statement into a temporary table: CREATE TABLE AS may use parallel workers, INSERT … SELECT
    never does (PostgreSQL ≤ 15). The benchmark's bare-SQL floor calls this too."""
    for stmt in COMPUTE_SETTINGS + (PARALLEL_SETTINGS if st.parallel else ()):
        cur.execute(stmt)
    cur.execute(f"CREATE TEMPORARY TABLE {table} ON COMMIT DROP AS {st.sql}", st.params)


def _store(cur, st: Statement, entry_ids: list[int]) -> None:
    """One statement's rows into ConflictRow for the entries of their owner plans, set-based: attributes as
    jsonb, area and geometry (EPSG:9377) as computed. No row passes through Python."""
    materialise(cur, st)
    cur.execute("SELECT * FROM pot_conflict_new LIMIT 0")
    cols = [c.name for c in cur.description if c.name != "geometry"]
    attrs = ", ".join(f"'{c}', q.{c}" for c in cols)
    cur.execute(
        f"""INSERT INTO {_t(ConflictRow)} (entry_id, area_m2, attrs, geom)
            SELECT e.id, q.area_m2, jsonb_build_object('_q', %s::text, {attrs}), q.geometry
            FROM pot_conflict_new q JOIN {_t(ConflictCache)} e ON e.id = ANY(%s) AND e.plan_id = ANY({st.owners})""",
        [st.tag, entry_ids])
    cur.execute("DROP TABLE pot_conflict_new")


def _cached(mode: str, plan_versions: dict, key, statements, p: dict) -> list[dict]:
    """Rows of ``mode`` for these plans, as findings: the stored ones whose plan version (and key: parameters,
    neighbour versions…) still match; for the other plans, ``statements(missing)`` computed and stored in
    one transaction (delete the plan's stale entries, insert the new ones and their rows), only for them.
    ``key`` is a string or a {plan_id: string}; each statement says under which plans a row is stored (a
    cross-border row belongs to both plans: the caller de-duplicates)."""
    keys = key if isinstance(key, dict) else {pid: key for pid in plan_versions}
    rows, fresh = _read(mode, plan_versions, keys)
    missing = sorted(set(plan_versions) - fresh)
    if missing:
        with transaction.atomic(), connection.cursor() as cur:
            # one writer per (mode, plan): a request for other plans (the editor's one plan while a job
            # computes the department) does not wait. Taken in plan order, before any row is touched, and
            # _evict never waits for a row: no deadlock (two writers deleting stale entries and evicting in
            # different orders used to deadlock under the single lock taken only for writing)
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s), pid) FROM (SELECT unnest(%s::int[]) pid "
                        "ORDER BY 1) ordered", [f"geosig_pot_conflict_cache:{mode}", missing])
            # the writer we waited for may have stored some of them: never compute a plan twice
            more, fresh = _read(mode, {pid: plan_versions[pid] for pid in missing}, keys)
            rows += more
            missing = sorted(set(missing) - fresh)
            if missing:
                # drop only the entries being rewritten and those of an older plan version: another key's
                # current entry (other parameters) stays warm
                stale = Q()
                for pid in missing:
                    stale |= Q(plan_id=pid) & (Q(key=keys[pid]) | ~Q(plan_version=plan_versions[pid]))
                ConflictCache.objects.filter(stale, mode=mode).delete()
                entries = ConflictCache.objects.bulk_create([
                    ConflictCache(plan_id=pid, mode=mode, key=keys[pid], plan_version=plan_versions[pid])
                    for pid in missing])
                ids = [e.pk for e in entries]
                for st in statements(missing):
                    _store(cur, st, ids)
                cur.execute(
                    f"""UPDATE {_t(ConflictCache)} e SET size_bytes = s.b FROM (
                          SELECT entry_id, SUM(pg_column_size(attrs) + COALESCE(pg_column_size(geom), 0)) b
                          FROM {_t(ConflictRow)} WHERE entry_id = ANY(%s) GROUP BY 1) s WHERE e.id = s.entry_id""",
                    [ids])
                _evict(mode)
                more, _ = _read(mode, {pid: plan_versions[pid] for pid in missing}, keys)
                rows += more
    out = []
    for r in rows:
        r = DECORATE[r.pop("_q")](r, p)
        if r is not None:
            out.append(r)
    return out


def _evict(mode: str) -> None:
    """Keep at most POT_CONFLICT_CACHE_MAX_ENTRIES entries and POT_CONFLICT_CACHE_MAX_BYTES stored bytes of
    ``mode``: the oldest go first (the ones just written are the newest), their rows with them. One
    statement; entries another writer holds are skipped (left for the next eviction), never waited for."""
    table, rows = _t(ConflictCache), _t(ConflictRow)
    with connection.cursor() as cur:
        cur.execute(
            f"""WITH ranked AS (SELECT id, row_number() OVER w AS n, sum(size_bytes) OVER w AS total
                                FROM {table} WHERE mode = %s WINDOW w AS (ORDER BY created_at DESC, id DESC)),
                  gone AS (SELECT id FROM {table} WHERE id IN (SELECT id FROM ranked WHERE n > %s OR total > %s)
                           FOR UPDATE SKIP LOCKED),
                  dropped AS (DELETE FROM {rows} WHERE entry_id IN (SELECT id FROM gone))
                DELETE FROM {table} WHERE id IN (SELECT id FROM gone)""",
            [mode, settings.POT_CONFLICT_CACHE_MAX_ENTRIES, settings.POT_CONFLICT_CACHE_MAX_BYTES])


def rounded(p: dict) -> tuple[dict, list[str]]:
    """``p`` with the STEPS parameters rounded half up to their step, and a note for each one changed."""
    out, notes = dict(p), []
    for k, step in STEPS.items():
        r = float(int(p[k] / step + 0.5) * step)
        if r != p[k]:
            notes.append(f"{k} = {p[k]:g} se redondeó a {r:g} (paso de {step:g}).")
        out[k] = r
    return out, notes


def _key(p, names, extra="") -> str:
    """A digest of the whole key (the column holds 200 characters; truncating would confuse keys). With or
    without geometry share one entry: the geometry is stored anyway, and turned into GeoJSON only on reading."""
    return hashlib.sha1(json.dumps([{k: p[k] for k in names}, extra], sort_keys=True).encode()).hexdigest()


def conflict_settings(raw: dict) -> dict:
    """DEFAULTS overridden by ``raw`` (None = default): known names only, each a finite number in its range."""
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise InvalidParameter(f"Parámetro desconocido «{', '.join(unknown)}». Valores válidos: {', '.join(DEFAULTS)}.")
    out = dict(DEFAULTS)
    for k, v in raw.items():
        lo, hi = RANGES.get(k, (0.0, 10_000.0))
        out[k] = P.number(v, k, default=DEFAULTS[k], minimum=lo, maximum=hi)
    return out


# ------------------------------------------------------------------ the public function
def analyse_conflicts(user=None, *, plan_id=None, municipality=None, modes=None, with_geometry=True,
                      determinants=None, **params) -> ConflictReport:
    """Conflicts of one plan (``plan_id``), of a municipality's reference plan (``municipality`` =
    DIVIPOLA code) or of the whole department (neither). ``params`` override DEFAULTS."""
    t0 = time.perf_counter()
    modes = P.text_list(modes, "modes", choices=list(MODES)) or list(MODES)
    plan_id = P.identifier(plan_id, "plan", required=False)
    municipality = P.text(municipality, "municipality", max_length=10)
    p = conflict_settings(params)
    if plan_id is not None and municipality is not None:
        raise InvalidParameter("Indique un plan o un municipio, no ambos.")
    p, rounding_notes = rounded(p)

    plans, scope, label = _scope_plans(user, plan_id, municipality)
    report = ConflictReport(scope, label, modes, p, [plan_ref(pl) for pl in plans.values()],
                            with_geometry=with_geometry)
    report.notes += rounding_notes
    versions = {pl.pk: pl.version for pl in plans.values()}
    if "internal" in modes and plans:
        key = _key(p, ["sliver_m2", "sliver_width_m", "min_m2", "noise_width_m"])
        report.findings += _cached("internal", versions, key, lambda ids: _internal(ids, p), p)
    if "cross_border" in modes and plans:
        _add_cross_border(report, user, plans, versions, p)
    if "determinants" in modes and plans:
        _add_determinants(report, versions, p, determinants)
    _finish(report, plans)
    report.seconds = time.perf_counter() - t0
    return report


def _scope_plans(user, plan_id, municipality) -> tuple[dict, str, str]:
    """The plans analysed ({municipality id: plan}), the scope code and its label: one plan, a
    municipality's reference plan, or every municipality's."""
    if plan_id is not None:
        plan = access.get_visible_plan(user, plan_id)
        return {plan.municipality_id: plan}, "plan", f"Plan «{plan.name}» ({plan.municipality.name})"
    if municipality is not None:
        muni = Municipality.objects.filter(divipola=str(municipality).strip()).first()
        if muni is None:
            raise NotFound(f"No existe el municipio con código DIVIPOLA «{municipality}» en el Valle.")
        plans = reference_plans(user, [muni.pk])
        if not plans:
            raise NotFound(f"{muni.name} no tiene planes POT visibles para usted.")
        return plans, "municipality", f"{muni.name} ({muni.divipola})"
    return reference_plans(user), "department", "Valle del Cauca (42 municipios)"


def _add_cross_border(report: ConflictReport, user, plans: dict, versions: dict, p: dict) -> None:
    """Cross-border findings against the neighbours' reference plans (each pair once) and zones outside the
    municipal limit."""
    neigh = neighbour_ids(plans.keys(), p["buffer_m"])
    neighbour_munis = {n for ns in neigh.values() for n in ns} - set(plans)
    others = reference_plans(user, neighbour_munis) if neighbour_munis else {}
    report.neighbour_plans = [x.pk for x in others.values()]
    report.neighbours = [plan_ref(x) for x in others.values()]
    report.neighbour_demo = any(x.is_demo for x in others.values())
    demo_ids = {x.pk for x in others.values() if x.is_demo}
    every = {**plans, **others}  # municipality id → plan
    # a plan's facing rows depend on its neighbours' plans too: their ids and versions are in its key
    keys = {pl.pk: _key(p, ["buffer_m", "min_m2"], json.dumps(sorted(
                (every[m].pk, every[m].version) for m in neigh.get(mid, []) if m in every)))
            for mid, pl in plans.items()}

    def facing(ids):
        near = {every[m].pk for mid, pl in plans.items() if pl.pk in ids for m in neigh.get(mid, []) if m in every}
        return _cross_border(ids, sorted(near), p)

    rows = _cached("cross_border", versions, keys, facing, p)
    seen = set()
    for r in rows:  # a pair of scope plans is stored under both: report it once
        ident = (r["kind"], r.get("zone_id"), r.get("other_zone_id"), r.get("determinant"))
        if ident not in seen:
            seen.add(ident)
            report.findings.append(dict(r, other_is_demo=r.get("other_plan_id") in demo_ids))
    key = _key(p, ["min_m2", "noise_width_m"])
    report.findings += _cached("outside", versions, key, lambda ids: _outside(ids, p), p)


def _add_determinants(report: ConflictReport, versions: dict, p: dict, determinants) -> None:
    """Zone × determinant intersections judged by the compatibility matrix, and the determinants' caveats."""
    dets = _selected_determinants(determinants)
    signature = hashlib.sha1(json.dumps(
        [(d.pk, d.piece_count, str(d.loaded_at), d.params) for d in dets], sort_keys=True).encode()).hexdigest()
    key = _key(p, ["ronda_m", "min_m2"], signature)
    rows = _cached("determinants", versions, key, lambda ids: determinant_statements(ids, p, dets), p)
    found, compatible = _judge(rows, dets)
    report.findings += found
    report.compatible = compatible
    for d in dets:
        if d.caveat:
            report.notes.append(f"{d.name}: {d.caveat}")
    if not dets:
        report.notes.append("No hay determinantes ambientales cargados (python manage.py load_pot_determinants).")


def _finish(report: ConflictReport, plans: dict) -> None:
    """Findings named by plan and municipality, internal fields dropped, sorted by verdict then area; the
    opening notes (plans read, demo warning). Geometries stay references to stored rows (see
    ConflictReport.load_geometry), or None when the caller asked for none."""
    names = {pl.pk: (pl.municipality.divipola, pl.municipality.name, pl.is_demo, pl.name, pl.version)
             for pl in plans.values()}
    for f in report.findings:
        info = names.get(f.get("plan_id"))
        if info:
            f["municipality"], f["municipality_name"], f["is_demo"], f["plan_name"], f["plan_version"] = info
        if not report.with_geometry:
            f["geometry"] = None
        for k in ("zone_area", "perimeter_m", "muni", "other_muni", "total_m2"):
            f.pop(k, None)
    for f in report.compatible:
        if not report.with_geometry:
            f["geometry"] = None
        f.pop("zone_area", None)
    order = {Verdict.INCOMPATIBLE: 0, Verdict.CONDICIONADO: 1, Verdict.COMPATIBLE: 2}
    report.findings.sort(key=lambda f: (order.get(f.get("verdict"), 3), -(f["area_m2"] or 0)))
    report.notes.insert(0, report.analysed_label())
    if report.has_demo:
        report.notes.insert(0, "Incluye planes de DEMOSTRACIÓN generados a partir de datos reales (en el ámbito "
                               "o como vecinos en el análisis limítrofe): no son POT adoptados.")
