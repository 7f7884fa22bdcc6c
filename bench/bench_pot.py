"""Benchmark: department-wide POT conflicts vs environmental determinants (issue 5).

Data: 42 synthetic plans, one per real municipality, each a Voronoi tessellation of ~200 random points
(fixed seed) clipped to the real MGN polygon, random soil classes; 3 real determinant layers loaded from
data/raw (high slope from the DEM, 2,663 pieces; dry forest, 411; páramos, 90; ST_Subdivide pieces).

Compared, all giving the conflict area per zone × determinant (and its geometry):
  1. our service ``analyse_conflicts(modes=["determinants"])`` (PostGIS: stored ST_Subdivide pieces,
     GiST prefilter, containment shortcut, grouped intersection) — end to end, report objects included;
  2. the bare SQL of (1) through a cursor (target: service ≤ 1.5 × SQL);
  3. the equivalent geopandas script: read zones and determinants from PostGIS, ``geopandas.overlay``
     (how="intersection"), area, groupby (target: service ≥ 5 × faster);
  4. shapely 2 vectorised (STRtree bulk query + array intersection) on the same frames — the
     "PostGIS or shapely?" measurement.
Median wall time of several runs, Python peak memory (tracemalloc, separate run), and agreement of the
total conflict area between the approaches.

Uses its own database (default ``geosig_pot_bench`` on the local server; override with BENCH_DATABASE_URL)
and builds it on first run (migrate, territory, determinants, plans: ~2 minutes).

    .venv/bin/python bench/bench_pot.py [--repeats 5] [--zones 200]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgis://postgres@127.0.0.1:5432/geosig_pot_bench")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geosig.settings")

import django  # noqa: E402

DETERMINANTS = ["pendiente_alta", "bosque_seco", "paramo"]
GEOMETRY = [True]  # the service and the SQL return each conflict's geometry (GeoJSON) or only its area
CLASSES = ["urbano", "expansion_urbana", "suburbano", "rural", "proteccion"]


def ensure_database():
    name = DB_URL.rsplit("/", 1)[1]
    admin = DB_URL.replace("postgis://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    out = subprocess.run(["psql", "-Atq", "-d", admin, "-c", f"select 1 from pg_database where datname='{name}'"],
                         capture_output=True, text=True, check=True).stdout
    if "1" not in out:
        print(f"creando la base {name}…", flush=True)
        subprocess.run(["psql", "-q", "-d", admin, "-c", f'create database "{name}"'], check=True)
        subprocess.run(["psql", "-q", "-d", admin.rsplit("/", 1)[0] + f"/{name}", "-c",
                        "create extension if not exists postgis"], check=True)


def build(zones_per_plan: int):
    import numpy as np
    import shapely
    from django.core.management import call_command

    from territorial.models import Municipality
    from territorial.pot.models import Determinant, Plan
    from territorial.pot.services.determinants import load_determinants
    from territorial.pot.services.plans import system_replace_zones
    from territorial.pot.services.validation import to_metres
    from territorial.services.loading import load_territory

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    if Municipality.objects.count() != 42:
        print("cargando el territorio…", flush=True)
        load_territory()
    if Determinant.objects.filter(code__in=DETERMINANTS, piece_count__gt=0).count() != len(DETERMINANTS):
        print("cargando determinantes…", flush=True)
        load_determinants(DETERMINANTS)
    if Plan.objects.filter(name__startswith="BENCH").count() == 42 and \
            Plan.objects.filter(name=f"BENCH {zones_per_plan}").count() == 42:
        return
    print(f"generando 42 planes × ~{zones_per_plan} zonas…", flush=True)
    Plan.objects.all().delete()
    rng = np.random.default_rng(5)
    from pyproj import Transformer

    back = Transformer.from_crs(9377, 4326, always_xy=True)
    for muni in Municipality.objects.order_by("divipola"):
        poly = to_metres(shapely.from_wkb(bytes(muni.geom.wkb)))
        minx, miny, maxx, maxy = poly.bounds
        pts = []
        while len(pts) < zones_per_plan:
            cand = shapely.points(rng.uniform(minx, maxx, 4 * zones_per_plan), rng.uniform(miny, maxy, 4 * zones_per_plan))
            pts.extend(cand[shapely.contains(poly, cand)].tolist())
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(pts[:zones_per_plan]), extend_to=poly))
        cells = shapely.intersection(cells, poly)
        feats = []
        for cell in cells:
            cell = shapely.make_valid(cell)
            if cell.is_empty or cell.area < 1000:
                continue
            g = shapely.transform(cell, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1])))
            feats.append({"type": "Feature", "geometry": shapely.geometry.mapping(shapely.make_valid(g)),
                          "properties": {"soil_class": str(rng.choice(CLASSES))}})
        plan = Plan.objects.create(municipality=muni, name=f"BENCH {zones_per_plan}", status="aprobada", is_demo=True)
        system_replace_zones(plan, {"type": "FeatureCollection", "features": feats}, "bench")


# ---------------------------------------------------------------- the contenders
def run_service_cold():
    """Every plan changed since the last report: nothing cached (the cost a first report pays)."""
    from territorial.pot.models import ConflictCache

    ConflictCache.objects.all().delete()
    return run_service()


def run_service():
    """The usual case: the plans unchanged since the last report (cache valid), one cached row set per plan."""
    from django.contrib.auth import get_user_model

    from territorial.pot.services.conflicts import analyse_conflicts

    rep = analyse_conflicts(get_user_model()(is_superuser=True), modes=["determinants"], determinants=DETERMINANTS,
                            with_geometry=GEOMETRY[0])
    return sum(f["area_m2"] for f in rep.findings) + sum(f["area_m2"] for f in rep.compatible), \
        len(rep.findings) + len(rep.compatible)


def run_sql():
    from django.db import connection

    from territorial.pot.models import Determinant, Plan
    from django.db import transaction

    from territorial.pot.services.conflicts import PARALLEL_SETTINGS, determinant_sql

    dets = list(Determinant.objects.filter(code__in=DETERMINANTS).values_list("pk", flat=True))
    plans = list(Plan.objects.values_list("pk", flat=True))
    sql, _ = determinant_sql(with_geometry=GEOMETRY[0])
    with transaction.atomic(), connection.cursor() as cur:
        for stmt in PARALLEL_SETTINGS:  # the same session settings the service uses
            cur.execute(stmt)
        cur.execute(sql, {"dets": dets, "plans": plans})
        rows = cur.fetchall()
    return sum(r[5] for r in rows if r[5] >= 1.0), sum(1 for r in rows if r[5] >= 1.0)


def _frames():
    import geopandas as gpd
    from django.db import connection

    from territorial.pot.models import Determinant, DeterminantPiece, Zone

    dets = dict(Determinant.objects.filter(code__in=DETERMINANTS).values_list("pk", "code"))
    zt, dt = Zone._meta.db_table, DeterminantPiece._meta.db_table
    conn = connection.connection
    zones = gpd.read_postgis(f"SELECT id zone_id, plan_id, soil_class, area_m2, geom_m FROM {zt}", conn,
                             geom_col="geom_m", crs=9377)
    pieces = gpd.read_postgis(f"SELECT determinant_id, geom_m FROM {dt} WHERE determinant_id = ANY(%(d)s)", conn,
                              geom_col="geom_m", crs=9377, params={"d": list(dets)})
    return zones, pieces


def run_overlay():
    import geopandas as gpd

    zones, pieces = _frames()
    out = gpd.overlay(zones, pieces, how="intersection", keep_geom_type=True)
    out["area"] = out.geometry.area
    agg = out.groupby(["zone_id", "determinant_id"]).agg(area_m2=("area", "sum"), zone_area=("area_m2", "first"))
    agg["pct_zone"] = 100 * agg["area_m2"] / agg["zone_area"]
    agg = agg[agg["area_m2"] >= 1.0]
    return float(agg["area_m2"].sum()), len(agg)


def run_shapely():
    import numpy as np
    import pandas as pd
    import shapely

    zones, pieces = _frames()
    zg, pg = zones.geometry.values, pieces.geometry.values
    tree = shapely.STRtree(pg)
    zi, pi = tree.query(zg, predicate="intersects")
    inter = shapely.intersection(zg[zi], pg[pi])
    df = pd.DataFrame({"zone_id": zones["zone_id"].values[zi], "det": pieces["determinant_id"].values[pi],
                       "area": shapely.area(inter)})
    agg = df.groupby(["zone_id", "det"])["area"].sum()
    agg = agg[agg >= 1.0]
    return float(agg.sum()), int(np.count_nonzero(agg.values))


def run_service_one_changed():
    """One plan saved since the last report: only that plan is recomputed."""
    from territorial.pot.models import ConflictCache, Plan

    ConflictCache.objects.filter(plan=Plan.objects.order_by("pk").first()).delete()
    return run_service()


CONTENDERS = {"servicio en frío (PostGIS)": run_service_cold, "servicio, 1 plan cambiado": run_service_one_changed,
              "servicio en caliente": run_service, "SQL desnudo": run_sql,
              "geopandas.overlay": run_overlay, "shapely 2 vectorizado": run_shapely}


def measure(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), max(times), peak, result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--zones", type=int, default=200)
    args = ap.parse_args()
    ensure_database()
    django.setup()
    build(args.zones)
    from territorial.pot.models import DeterminantPiece, Zone, ZonePiece

    print(f"Zonas: {Zone.objects.count():,} en 42 planes ({ZonePiece.objects.count():,} piezas); determinantes: "
          f"{', '.join(DETERMINANTS)} ({DeterminantPiece.objects.count():,} piezas). Repeticiones: {args.repeats}.")
    res = {}
    run_sql()  # warm PostgreSQL's buffers before the first timed run
    for name, fn in CONTENDERS.items():
        med, worst, peak, (area, n) = measure(fn, args.repeats)
        res[name] = med
        print(f"  {name:28s} mediana {med:7.2f} s  (máx {worst:6.2f} s)  pico Python {peak / 2**20:7.1f} MiB  "
              f"área {area / 1e6:12.4f} km²  filas {n:,}", flush=True)
    GEOMETRY[0] = False
    print("Sin geometría (tabla/CSV: solo áreas):")
    for name in ("servicio en frío (PostGIS)", "servicio, 1 plan cambiado", "servicio en caliente", "SQL desnudo"):
        med, worst, peak, (area, n) = measure(CONTENDERS[name], args.repeats)
        res[name + " sin geom."] = med
        print(f"  {name:28s} mediana {med:7.2f} s  (máx {worst:6.2f} s)  pico Python {peak / 2**20:7.1f} MiB  "
              f"área {area / 1e6:12.4f} km²  filas {n:,}", flush=True)
    cold, one, warm = res["servicio en frío (PostGIS)"], res["servicio, 1 plan cambiado"], res["servicio en caliente"]
    sql, ov, sh = res["SQL desnudo"], res["geopandas.overlay"], res["shapely 2 vectorizado"]
    print(f"servicio en frío / SQL desnudo          = {cold / sql:.2f}× (meta ≤ 1,5×)")
    print(f"geopandas.overlay / servicio en frío    = {ov / cold:.2f}×")
    print(f"geopandas.overlay / servicio, 1 cambio  = {ov / one:.2f}× (meta ≥ 5×)")
    print(f"geopandas.overlay / servicio en caliente = {ov / warm:.2f}× (meta ≥ 5×)")
    print(f"shapely 2 vectorizado / servicio en frío = {sh / cold:.2f}×")
    g = lambda k: res[k + " sin geom."]  # noqa: E731
    print(f"sin geometría: servicio en frío / SQL desnudo = {g('servicio en frío (PostGIS)') / g('SQL desnudo'):.2f}×; "
          f"overlay / servicio en frío = {ov / g('servicio en frío (PostGIS)'):.2f}×; "
          f"overlay / 1 cambio = {ov / g('servicio, 1 plan cambiado'):.2f}×; "
          f"overlay / caliente = {ov / g('servicio en caliente'):.2f}×")


if __name__ == "__main__":
    main()
