"""Benchmark of the layers app.

(1) Overlay summary of a synthetic 10,000-polygon layer against the 42 municipalities:
    our service (layers.services.overlay.overlay_summary, one call per municipality) vs a
    straightforward geopandas.overlay script on the same data (targets: ≥ 5× faster) and vs the bare
    PostGIS SQL (intersection area per class, one query per municipality; target ≤ 1.5×).
(2) MVT endpoint: p50/p95 over tiles at z8–z14 (Django test client, in process) vs the bare
    ST_AsMVT query (target p95 ≤ 1.3×).
(3) Zonal statistics of the DEM over the 42 municipalities (exactextract), with a centre-sampling
    rasterio.mask run for reference.

Run:  DATABASE_URL=postgis://… .venv/bin/python bench/bench_layers.py [--repeat 3]
Needs the territory (load_territory) and the DEM layer (load_layers); loads them if missing.
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geosig.settings")
os.environ.setdefault("DEBUG", "false")
import django  # noqa: E402

django.setup()

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from layers.models import Layer  # noqa: E402
from layers.services.importing import import_layer  # noqa: E402
from layers.services.overlay import overlay_summary  # noqa: E402
from layers.services.tiles import mvt_sql, tolerance_m  # noqa: E402
from layers.services.zonal import zonal_stats  # noqa: E402
from territorial.models import Municipality  # noqa: E402

SLUG = "bench-sintetica-10k"
CLASSES = ["bosque", "pastos", "cultivos", "urbano", "agua"]
BARE_SQL = """
SELECT f.class_value, SUM(ST_Area(ST_Intersection(ST_Transform(f.geom, 9377), ST_Transform(m.geom, 9377))))
FROM layers_feature f JOIN territorial_municipality m ON ST_Intersects(f.geom, m.geom)
WHERE m.divipola = %s AND f.layer_id = %s GROUP BY f.class_value
"""


def timed(fn, repeat):
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, times


def peak_mib(fn):
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def ensure_data():
    if Municipality.objects.count() != 42:
        from territorial.services.loading import load_territory
        from django.conf import settings

        load_territory(Path(settings.GEOSIG_RAW_DIR))
    if not Layer.objects.filter(slug="dem-srtm3").exists():
        from layers.services.shipped import load_layers

        load_layers()


def synthetic_layer(n=10_000, seed=42) -> gpd.GeoDataFrame:
    """n irregular polygons (random 9-17-vertex blobs, 0.5–3 km across) scattered over the department."""
    rng = np.random.default_rng(seed)
    dept = shapely.union_all([shapely.from_wkb(bytes(g.wkb)) for g in Municipality.objects.values_list("geom", flat=True)])
    minx, miny, maxx, maxy = dept.bounds
    pts = []
    while len(pts) < n:
        cand = shapely.points(rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n))
        pts.extend(cand[shapely.contains(dept, cand)].tolist())
    pts = gpd.GeoSeries(pts[:n], crs=4326).to_crs(9377)
    radii = rng.uniform(250, 1500, n)
    blobs = [shapely.Polygon([(p.x + r * (0.7 + 0.3 * rng.random()) * math.cos(a), p.y + r * (0.7 + 0.3 * rng.random()) * math.sin(a))
                              for a in np.linspace(0, 2 * math.pi, int(rng.integers(8, 17)), endpoint=False)])
             for p, r in zip(pts, radii)]
    blobs = gpd.GeoSeries(blobs, crs=9377).to_crs(4326)
    return gpd.GeoDataFrame({"clase": rng.choice(CLASSES, n)}, geometry=blobs.values, crs=4326)


def bench_overlay(repeat):
    print("\n(1) Overlay summary: 10,000 synthetic polygons × 42 municipalities")
    gdf = synthetic_layer()
    Layer.objects.filter(slug=SLUG).delete()
    tmp = tempfile.TemporaryDirectory()
    path = Path(tmp.name) / "bench.gpkg"
    gdf.to_file(path, driver="GPKG", engine="pyogrio")
    t = time.perf_counter()
    import_layer(path, metadata={"slug": SLUG, "title": "Benchmark", "class_field": "clase", "is_demo": True})
    print(f"  import_layer of the 10,000 polygons: {time.perf_counter() - t:.2f} s")
    layer = Layer.objects.get(slug=SLUG)
    munis = list(Municipality.objects.order_by("divipola").values_list("divipola", "geom"))

    def ours():
        return {code: {c["value"]: c["area_m2"] for c in overlay_summary(geom, layers=[SLUG])["layers"][0]["classes"]}
                for code, geom in munis}

    def bare():
        out = {}
        with connection.cursor() as cur:
            for code, _ in munis:
                cur.execute(BARE_SQL, [code, layer.pk])
                out[code] = dict(cur.fetchall())
        return out

    muni_gdf = gpd.GeoDataFrame({"divipola": [m[0] for m in munis]},
                                geometry=[shapely.from_wkb(bytes(m[1].wkb)) for m in munis], crs=4326)

    def geopandas_script():
        # what an analyst would write: project both, overlay, sum areas per municipality and class, %
        m = muni_gdf.to_crs(9377)
        lyr = gdf.to_crs(9377)
        inter = gpd.overlay(m, lyr, how="intersection", keep_geom_type=True)
        inter["area_m2"] = inter.area
        table = inter.groupby(["divipola", "clase"])["area_m2"].sum()
        pct = table / m.set_index("divipola").area.reindex(table.index.get_level_values(0)).values * 100
        return table, pct

    from django.conf import settings

    muni_file = Path(settings.GEOSIG_RAW_DIR) / "boundaries/valle_municipios_mgn2021.geojson"

    def geopandas_with_reading():
        nonlocal muni_gdf, gdf
        keep = muni_gdf, gdf
        muni_gdf = gpd.read_file(muni_file, engine="pyogrio")[["divipola", "geometry"]]
        gdf = gpd.read_file(path, engine="pyogrio")
        try:
            return geopandas_script()
        finally:
            muni_gdf, gdf = keep

    ours_out, t_ours = timed(ours, repeat)
    bare_out, t_bare = timed(bare, repeat)
    (gp_table, _), t_gp = timed(geopandas_script, max(1, repeat - 1))
    diffs = []
    for code in ours_out:
        for cls, a in ours_out[code].items():
            b = bare_out[code].get(cls, 0.0)
            g = float(gp_table.get((code, cls), 0.0))
            diffs.append(max(abs(a - b), abs(a - g)) / max(a, 1.0))
    m_ours, m_bare, m_gp = statistics.median(t_ours), statistics.median(t_bare), statistics.median(t_gp)
    print(f"  our service (42 calls):        median {m_ours:.3f} s  (runs {', '.join(f'{t:.3f}' for t in t_ours)})")
    print(f"  bare PostGIS SQL (42 queries):  median {m_bare:.3f} s  → ours / bare = {m_ours / m_bare:.2f}× (target ≤ 1.5×)")
    print(f"  geopandas.overlay script:       median {m_gp:.3f} s  → geopandas / ours = {m_gp / m_ours:.1f}× faster (target ≥ 5×)")
    _, t_gp_io = timed(geopandas_with_reading, max(1, repeat - 1))
    m_gp_io = statistics.median(t_gp_io)
    print(f"  same script incl. reading the 2 files: median {m_gp_io:.3f} s  → {m_gp_io / m_ours:.1f}× ours")
    print(f"  max relative difference of class areas (ours vs SQL vs geopandas): {max(diffs):.2e}")
    print(f"  peak Python memory: ours {peak_mib(ours):.1f} MiB, geopandas script {peak_mib(geopandas_script):.1f} MiB")
    tmp.cleanup()
    return layer


def tiles_for(z, centres, per_centre=3):
    out = set()
    for lon, lat in centres:
        n = 1 << z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        for dx in range(per_centre):
            out.add((z, x + dx - per_centre // 2, y))
    return sorted(out)


def bench_mvt(layer, repeat):
    print("\n(2) MVT endpoint vs bare ST_AsMVT (z8–z14, layer of 10,000 polygons)")
    centres = [(-76.52, 3.44), (-76.30, 3.90), (-77.00, 3.88), (-76.10, 4.40)]  # Cali, Buga, Buenaventura, Zarzal
    tiles = [t for z in range(8, 15) for t in tiles_for(z, centres)]
    client = Client(HTTP_HOST="localhost")
    sql = mvt_sql(layer)
    for z, x, y in tiles[:5]:  # warm-up (connection, caches)
        client.get(f"/api/v1/layers/{layer.slug}/tiles/{z}/{x}/{y}.pbf")
    t_end, t_sql, sizes = [], [], []
    for _ in range(repeat):
        for z, x, y in tiles:
            t = time.perf_counter()
            r = client.get(f"/api/v1/layers/{layer.slug}/tiles/{z}/{x}/{y}.pbf")
            t_end.append(time.perf_counter() - t)
            assert r.status_code == 200, r.content[:200]
            sizes.append(len(r.content))
            t = time.perf_counter()
            with connection.cursor() as cur:
                cur.execute(sql, {"z": z, "x": x, "y": y, "layer": layer.pk, "name": layer.slug, "tol": tolerance_m(z),
                                  "label": layer.class_field})
                cur.fetchone()
            t_sql.append(time.perf_counter() - t)
    p = lambda a, q: float(np.percentile(np.array(a) * 1000, q))  # noqa: E731
    print(f"  {len(tiles)} tiles × {repeat}; median tile {statistics.median(sizes) / 1024:.1f} KiB, max {max(sizes) / 1024:.1f} KiB")
    print(f"  endpoint: p50 {p(t_end, 50):.1f} ms, p95 {p(t_end, 95):.1f} ms")
    print(f"  bare SQL: p50 {p(t_sql, 50):.1f} ms, p95 {p(t_sql, 95):.1f} ms")
    print(f"  ratio endpoint / bare: p50 {p(t_end, 50) / p(t_sql, 50):.2f}×, p95 {p(t_end, 95) / p(t_sql, 95):.2f}× (target p95 ≤ 1.3×)")


def bench_zonal(repeat):
    import rasterio
    from rasterio.mask import mask

    print("\n(3) Zonal statistics of the DEM over the 42 municipalities")
    dem = Layer.objects.get(slug="dem-srtm3")
    geoms = [shapely.from_wkb(bytes(g.wkb)) for g in Municipality.objects.order_by("divipola").values_list("geom", flat=True)]
    stats, t_ex = timed(lambda: zonal_stats(dem, geoms), repeat)

    def centre_sampling():
        out = []
        with rasterio.open(dem.raster_path) as src:
            for g in geoms:
                try:
                    arr, _ = mask(src, [shapely.geometry.mapping(g)], crop=True, filled=False)
                    out.append(float(arr.mean()) if arr.count() else None)
                except ValueError:
                    out.append(None)
        return out

    naive, t_naive = timed(centre_sampling, repeat)
    covered = [s for s in stats if s["mean"] is not None]
    diffs = [abs(s["mean"] - n) for s, n in zip(stats, naive) if s["mean"] is not None and n is not None]
    print(f"  exactextract (coverage-weighted): median {statistics.median(t_ex):.3f} s for 42 polygons "
          f"({len(covered)} touch the partial DEM); peak Python memory {peak_mib(lambda: zonal_stats(dem, geoms)):.1f} MiB")
    print(f"  rasterio.mask centre sampling (reference): median {statistics.median(t_naive):.3f} s; "
          f"|mean difference| median {statistics.median(diffs):.2f} m, max {max(diffs):.2f} m")
    cali = stats[0]
    print(f"  Cali (76001): min {cali['min']:.0f} m, mean {cali['mean']:.0f} m, max {cali['max']:.0f} m")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the synthetic layer in the database")
    args = ap.parse_args()
    ensure_data()
    print(f"PostGIS database: {connection.settings_dict['NAME']}; repeat={args.repeat}")
    layer = bench_overlay(args.repeat)
    bench_mvt(layer, args.repeat)
    bench_zonal(args.repeat)
    print(f"\nProcess peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if not args.keep:
        Layer.objects.filter(slug=SLUG).delete()


if __name__ == "__main__":
    main()
