"""Benchmark: department-wide POT conflicts vs environmental determinants (issues 5 and 15).

Data: 42 synthetic plans, one per real municipality, each a Voronoi tessellation of ~200 random points
(fixed seed) clipped to the real MGN polygon, random soil classes; 3 real determinant layers loaded from
data/raw (high slope from the DEM, 2,663 pieces; dry forest, 411; páramos, 90; ST_Subdivide pieces).

Compared, all giving per zone × determinant the conflict area (m², EPSG:9377) and its geometry:
  1. our service ``analyse_conflicts(modes=["determinants"])``, end to end (report objects included):
     from scratch (nothing cached), one plan changed (its version bumped: the service drops its stale
     entry and recomputes only it, with the few-plans query driven by that plan's zone pieces), warm
     (everything cached). Zones and determinants are both stored as ST_Subdivide pieces (zone pieces
     written when a plan is saved, 2–3 ms per bench plan); a piece inside the other side's piece is taken
     whole, only crossing pairs pay a GEOS ST_Intersection (the cost both the SQL and geopandas pay). The service computes set-based in PostGIS
     and stores rows with their geometry (ConflictRow); GeoJSON is made only for what a response returns —
     "desde cero + GeoJSON de todo" is the cost of a department JSON response with every geometry;
  2. the bare SQL floor: the very statements the service runs (``determinant_statements`` through
     ``materialise``, same session settings), without our bookkeeping (targets: service ≤ 1.5 × SQL);
  3. the equivalent geopandas script on the same stored data: read zones and pieces from PostGIS,
     ``geopandas.overlay`` (how="intersection"), area, groupby, and each group's geometry collected into
     one MultiPolygon like ST_Collect (targets: service from scratch ≥ 2 × faster, one plan changed ≥ 5 ×);
  4. shapely 2 vectorised (STRtree bulk query + array intersection, same grouping and collection).
Runs are interleaved (one round = every contender once) so a change of machine load hits all alike;
median and worst wall time, Python peak memory (tracemalloc, separate run), total area and row count
(they must agree), and the load average before and after.

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
def _analyse():
    from django.contrib.auth import get_user_model

    from territorial.pot.services.conflicts import analyse_conflicts

    return analyse_conflicts(get_user_model()(is_superuser=True), modes=["determinants"], determinants=DETERMINANTS)


def _totals(rep):
    rows = rep.findings + rep.compatible
    return sum(f["area_m2"] for f in rows), len(rows)


def run_service_cold():
    """Every plan changed since the last report: nothing cached (the cost a first report pays)."""
    from territorial.pot.models import ConflictCache

    ConflictCache.objects.all().delete()
    return _totals(_analyse())


def run_service_one_changed():
    """One plan saved since the last report (its version bumped, as a save does): only it is recomputed."""
    from django.db.models import F

    from territorial.pot.models import Plan

    Plan.objects.filter(pk=Plan.objects.order_by("pk").values("pk")[:1]).update(version=F("version") + 1)
    return _totals(_analyse())


def run_service():
    """The usual case: the plans unchanged since the last report (cache valid)."""
    return _totals(_analyse())


def run_service_cold_geojson():
    """From scratch, then every geometry as GeoJSON (the department JSON response's payload)."""
    from territorial.pot.models import ConflictCache

    ConflictCache.objects.all().delete()
    rep = _analyse()
    data = rep.as_dict()
    assert all(f["geometry"] for f in data["findings"] if f["kind"] == "determinante")
    return _totals(rep)


def run_sql():
    """The statements the service runs (same SQL, parameters and session settings), into their temporary
    table; what the service adds on top is its bookkeeping (entries, copy into ConflictRow, reading)."""
    from django.db import connection, transaction

    from territorial.pot.models import Plan
    from territorial.pot.services.conflicts import (
        DEFAULTS, _selected_determinants, determinant_statements, materialise,
    )

    dets = _selected_determinants(DETERMINANTS)
    plans = list(Plan.objects.values_list("pk", flat=True))
    area, n = 0.0, 0
    with transaction.atomic(), connection.cursor() as cur:
        for i, st in enumerate(determinant_statements(plans, DEFAULTS, dets)):
            materialise(cur, st, f"bench_sql_{i}")
            cur.execute(f"SELECT COALESCE(SUM(area_m2), 0), COUNT(*) FROM bench_sql_{i}")
            a, c = cur.fetchone()
            area, n = area + a, n + c
    return area, n


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


def _grouped(zone_ids, det_ids, geoms):
    """Per zone × determinant: area sum and the parts collected into one MultiPolygon (like ST_Collect),
    groups under 1 m² dropped (the service's min_m2)."""
    import numpy as np
    import pandas as pd
    import shapely

    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 3  # polygons only (ST_CollectionExtract(…, 3) / keep_geom_type)
    parts, idx = parts[keep], idx[keep]
    keys = pd.MultiIndex.from_arrays([np.asarray(zone_ids)[idx], np.asarray(det_ids)[idx]])
    codes, uniques = pd.factorize(keys)
    order = np.argsort(codes, kind="stable")
    collected = shapely.multipolygons(parts[order], indices=codes[order])
    area = np.bincount(codes, weights=shapely.area(parts), minlength=len(uniques))
    ok = area >= 1.0
    return float(area[ok].sum()), int(ok.sum()), collected[ok]


def run_overlay():
    import geopandas as gpd

    zones, pieces = _frames()
    out = gpd.overlay(zones, pieces, how="intersection", keep_geom_type=True)
    area, n, _ = _grouped(out["zone_id"].values, out["determinant_id"].values, out.geometry.values)
    return area, n


def run_shapely():
    import shapely

    zones, pieces = _frames()
    zg, pg = zones.geometry.values, pieces.geometry.values
    tree = shapely.STRtree(pg)
    zi, pi = tree.query(zg, predicate="intersects")
    inter = shapely.intersection(zg[zi], pg[pi])
    area, n, _ = _grouped(zones["zone_id"].values[zi], pieces["determinant_id"].values[pi], inter)
    return area, n


CONTENDERS = {"servicio desde cero": run_service_cold, "servicio, 1 plan cambiado": run_service_one_changed,
              "servicio en caliente": run_service, "desde cero + GeoJSON de todo": run_service_cold_geojson,
              "SQL desnudo (mismas sentencias)": run_sql, "geopandas.overlay": run_overlay,
              "shapely 2 vectorizado": run_shapely}


def measure(repeats):
    """Interleaved rounds; then one more run of each under tracemalloc for its Python peak."""
    times = {name: [] for name in CONTENDERS}
    results = {}
    for _ in range(repeats):
        for name, fn in CONTENDERS.items():
            t = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - t)
    peaks = {}
    for name, fn in CONTENDERS.items():
        tracemalloc.start()
        fn()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return times, peaks, results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--zones", type=int, default=200)
    args = ap.parse_args()
    ensure_database()
    django.setup()
    build(args.zones)
    from territorial.pot.models import DeterminantPiece, Zone, ZonePiece

    from django.db import connection

    with connection.cursor() as cur:  # vertices per piece: what each GEOS call handles on either side
        cur.execute(f"SELECT AVG(ST_NPoints(geom_m)), MAX(ST_NPoints(geom_m)) FROM {ZonePiece._meta.db_table}")
        zavg, zmax = cur.fetchone()
    print(f"Zonas: {Zone.objects.count():,} en 42 planes ({ZonePiece.objects.count():,} piezas, "
          f"{float(zavg or 0):.0f} vértices de media, máx. {zmax or 0}); determinantes: "
          f"{', '.join(DETERMINANTS)} ({DeterminantPiece.objects.count():,} piezas). Repeticiones: {args.repeats} "
          f"(intercaladas).")
    load_before = os.getloadavg()
    run_sql()  # warm PostgreSQL's buffers before the first timed run
    times, peaks, results = measure(args.repeats)
    load_after = os.getloadavg()
    med = {k: statistics.median(v) for k, v in times.items()}
    for name in CONTENDERS:
        area, n = results[name]
        print(f"  {name:32s} mediana {med[name]:7.3f} s  (máx {max(times[name]):6.3f} s)  "
              f"pico Python {peaks[name] / 2**20:7.1f} MiB  área {area / 1e6:12.4f} km²  filas {n:,}", flush=True)
    cold, one, warm = med["servicio desde cero"], med["servicio, 1 plan cambiado"], med["servicio en caliente"]
    sql, ov, sh = med["SQL desnudo (mismas sentencias)"], med["geopandas.overlay"], med["shapely 2 vectorizado"]
    print(f"servicio desde cero / SQL desnudo        = {cold / sql:.2f}× (meta ≤ 1,5×)")
    print(f"geopandas.overlay / servicio desde cero  = {ov / cold:.2f}× (meta ≥ 2×)")
    print(f"geopandas.overlay / servicio, 1 cambiado = {ov / one:.2f}× (meta ≥ 5×)")
    print(f"geopandas.overlay / servicio en caliente = {ov / warm:.2f}×")
    print(f"geopandas.overlay / desde cero + GeoJSON = {ov / med['desde cero + GeoJSON de todo']:.2f}×")
    print(f"shapely 2 vectorizado / servicio desde cero = {sh / cold:.2f}×")
    print("carga media (1, 5, 15 min): antes " + ", ".join(f"{x:.2f}" for x in load_before)
          + "; después " + ", ".join(f"{x:.2f}" for x in load_after) + f" ({os.cpu_count()} núcleos)")


if __name__ == "__main__":
    main()
