"""Overlay benchmark with detailed polygons (issue 15, part 5), as CVC's layers are: not the small synthetic blobs of
bench_layers.py but a protected area of ~200,000 vertices and a land-cover-like layer of large, complex polygons.

How the data are built (deterministic, seed 42, from the loaded territory; labelled DEMO, never stored beyond the run):

* protected area (PA): the union of the municipalities of the first subregion-sized block (the 8 municipalities with
  the smallest DIVIPOLA codes) in EPSG:9377, buffered −500 m, its boundary densified (shapely.segmentize) to about
  200,000 vertices and every vertex moved by a random offset below 0.3 × the segment length (a wiggly, natural-
  looking edge), made valid;
* land cover (LC): 6,000 Voronoi cells over the department, each given one of 6 classes by a smooth random field
  plus noise, dissolved by class and split into connected parts (so polygons are irregular, with holes and long
  shared edges), clipped to the department, edges densified to ≤ 60 m.

Compared, on the same data, all areas in EPSG:9377:
(1) LC inside the PA:  our overlay service (layers.services.overlay.overlay_summary_many with the PA as the one
    area; overlay_summary is that call) vs geopandas.overlay(PA, LC) + area per class;
(2) LC × 42 municipalities: one overlay_summary_many call for the 42 municipalities named as members of the
    "municipios" partition (PartitionArea; territorial registers it): the layer's pieces were cut along the
    municipalities at import (PartitionPiece), so the query sums stored areas per (muni, class) and cuts nothing;
    vs geopandas.overlay(municipalities, LC) + area per (muni, class). That import-time work is not free: the
    bench times it too (rebuild_partition_pieces for this layer, as import_layer runs it) and prints it next to
    the query, with the total (import extra + one query) against geopandas;
(3) PA (as a stored layer) × 42 municipalities: the same, the detailed polygon now being the layer's feature.
Ours is the whole service: checking each area, cutting it into pieces, the SQL over the stored pieces, the answer
with each area's GeoJSON. geopandas reads the layers in EPSG:4326, as they are stored, and projects both sides.
Medians of --repeat runs (wall clock), ratio geopandas / ours (target ≥ 5×), the largest relative difference of
class areas, and the CPU seconds of each side (ours = this process + the PostgreSQL backend, read from /proc when
the database is local): on a shared machine the CPU ratio is the steadier figure.

Run:  DATABASE_URL=postgis://… .venv/bin/python bench/bench_overlay_detailed.py [--repeat 3]
Needs the territory (manage.py load_territory).

Last run (27-11, --repeat 5, load ≈ 2.6 on 2 shared cores), (2) through the partition: wall ours 0.55 / 0.020 /
0.034 s vs geopandas 5.9 / 0.30 / 0.27 s (10.7× / 15× / 8.0×); CPU ours 0.54 / 0.023 / 0.034 s vs 4.26 / 0.29 /
0.18 s (7.9× / 12.9× / 5.3×); areas equal to 8e-15 / 7.9e-12 / 1.5e-14 relative. (2)'s import-time extra: 0.33 s
(CPU 0.33 s; 2,769 rows for the layer: 1,204 pieces tagged whole, 1,565 parts cut along municipal edges); extra +
one query 0.35 s = 0.86× geopandas' one overlay: the cut is paid once at import instead of at every request;
from the second request on, extra + n queries cost less than n geopandas overlays (0.37 s against 0.60 s for two).

Run before the partition (27-11, --repeat 5, load ≈ 5 on 2 shared cores): wall ours 0.91 / 0.62 / 0.093 s vs
geopandas 12.0 / 0.41 / 0.47 s (13× / 0.66× / 5.0×); CPU ours 0.61 / 0.23 / 0.034 s vs 4.95 / 0.30 / 0.19 s (8.1× / 1.3× / 5.6×); areas
equal to 8e-15 / 8e-12 / 1.7e-14 relative. Before the area was cut into pieces in Python and the 42 areas went in one
query: 2.0× / 0.96× / 1.45×. (2) missed then: its 1,642 pairs of pieces crossing a municipal boundary must be cut, and
those GEOS cuts alone (0.13–0.18 s CPU whatever the piece size, 64 to whole features) are about half of geopandas'.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geosig.settings")
os.environ.setdefault("DEBUG", "false")
import django  # noqa: E402

django.setup()

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from django.contrib.gis.geos import GEOSGeometry  # noqa: E402

from layers.models import Layer  # noqa: E402
from layers.partitions import PartitionArea  # noqa: E402
from layers.services.partitions import rebuild_partition_pieces  # noqa: E402
from layers.services.importing import import_layer  # noqa: E402
from layers.services.overlay import overlay_summary_many  # noqa: E402
from territorial.models import Municipality  # noqa: E402

CLASSES = ["bosque", "pastos", "cultivos", "urbano", "agua", "arbustal"]
LC_SLUG, PA_SLUG = "bench-cobertura-detallada", "bench-area-protegida-detallada"


def backend_cpu() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (None when it is not on this machine)."""
    from django.db import connection
    connection.ensure_connection()
    try:
        with open(f"/proc/{connection.connection.info.backend_pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn, repeat, db=False):
    """Result, wall times and CPU times (this process, plus the database backend's when ``db``)."""
    out, times, cpus = None, [], []
    for _ in range(repeat):
        b0 = backend_cpu() if db else None
        c, t = time.process_time(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        b1 = backend_cpu() if db else None
        cpus.append(time.process_time() - c + (b1 - b0 if b0 is not None and b1 is not None else 0.0))
    return out, times, cpus


def municipalities() -> gpd.GeoDataFrame:
    rows = list(Municipality.objects.order_by("divipola").values_list("divipola", "geom"))
    if len(rows) != 42:
        sys.exit("Load the territory first: manage.py load_territory")
    return gpd.GeoDataFrame({"divipola": [r[0] for r in rows]},
                            geometry=[shapely.from_wkb(bytes(r[1].wkb)) for r in rows], crs=4326)


def protected_area(munis9: gpd.GeoDataFrame, vertices=200_000, seed=42) -> shapely.Geometry:
    rng = np.random.default_rng(seed)
    base = shapely.union_all(munis9.geometry.values[:8]).buffer(-500)
    base = max(getattr(base, "geoms", [base]), key=lambda g: g.area)  # one polygon, the largest part
    seg = base.exterior.length / vertices
    ring = shapely.segmentize(base.exterior, seg)
    xy = shapely.get_coordinates(ring)[:-1]
    xy = xy + rng.uniform(-0.3 * seg, 0.3 * seg, xy.shape)
    poly = shapely.make_valid(shapely.Polygon(np.vstack([xy, xy[:1]])))
    return max(getattr(poly, "geoms", [poly]), key=lambda g: g.area) if poly.geom_type != "Polygon" else poly


def land_cover(munis9: gpd.GeoDataFrame, cells=6_000, seed=42) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    dept = shapely.union_all(munis9.geometry.values)
    minx, miny, maxx, maxy = dept.bounds
    pts = shapely.points(rng.uniform(minx, maxx, cells), rng.uniform(miny, maxy, cells))
    vor = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=dept.envelope))
    cx, cy = shapely.get_coordinates(shapely.centroid(vor)).T
    u, v = (cx - minx) / (maxx - minx), (cy - miny) / (maxy - miny)
    field = np.sin(7 * u) + np.cos(5 * v + 3 * u) + 0.6 * rng.standard_normal(len(vor))
    cls = np.digitize(field, np.quantile(field, np.linspace(0, 1, len(CLASSES) + 1)[1:-1]))
    parts, labels = [], []
    for k, name in enumerate(CLASSES):
        merged = shapely.intersection(shapely.union_all(vor[cls == k]), dept)
        for p in shapely.get_parts(merged):
            if p.geom_type == "Polygon" and p.area > 1.0:
                parts.append(shapely.segmentize(p, 60.0))
                labels.append(name)
    return gpd.GeoDataFrame({"clase": labels}, geometry=parts, crs=9377)


def store(gdf: gpd.GeoDataFrame, slug: str, tmp: Path, class_field: str | None) -> None:
    Layer.objects.filter(slug=slug).delete()
    path = tmp / f"{slug}.gpkg"
    gdf.to_crs(4326).to_file(path, driver="GPKG", engine="pyogrio")
    t = time.perf_counter()
    meta = {"slug": slug, "title": f"DEMO {slug}", "is_demo": True}
    if class_field:
        meta["class_field"] = class_field
    import_layer(path, metadata=meta)
    print(f"  import_layer {slug}: {len(gdf):,} features, {shapely.get_num_coordinates(gdf.geometry.values).sum():,} "
          f"vertices, {time.perf_counter() - t:.1f} s")


def ours_table(areas: dict, slug: str) -> dict:
    # one call for all the areas, as the app asks for "a layer × the 42 municipalities" (one query per layer)
    outs = overlay_summary_many(list(areas.values()), layers=[slug])
    return {key: {c["value"] or "": c["area_m2"] for c in out["layers"][0]["classes"]} for key, out in zip(areas, outs)}


def gp_table(left: gpd.GeoDataFrame, right: gpd.GeoDataFrame, key: str, cls: str) -> dict:
    # what an analyst would write: both in EPSG:9377, overlay, area per (zone, class)
    inter = gpd.overlay(left.to_crs(9377), right.to_crs(9377), how="intersection", keep_geom_type=True)
    inter["a"] = inter.area
    out: dict = {}
    for (k, c), a in inter.groupby([key, cls])["a"].sum().items():
        out.setdefault(k, {})[c] = float(a)
    return out


def compare(name, areas, slug, left, right, key, cls, repeat, extra=None):
    ours_out, t_ours, c_ours = timed(lambda: ours_table(areas, slug), repeat, db=True)
    if extra is not None:  # the import-time work the query relies on, timed as the query is
        _, t_extra, c_extra = timed(extra, repeat, db=True)
    gp_out, t_gp, c_gp = timed(lambda: gp_table(left, right, key, cls), repeat)
    diff = 0.0
    for k in set(ours_out) | set(gp_out):
        for c in set(ours_out.get(k, {})) | set(gp_out.get(k, {})):
            a, b = ours_out.get(k, {}).get(c, 0.0), gp_out.get(k, {}).get(c, 0.0)
            diff = max(diff, abs(a - b) / max(abs(a), abs(b), 1.0))
    mo, mg = statistics.median(t_ours), statistics.median(t_gp)
    print(f"  {name}: ours median {mo:.3f} s (runs {', '.join(f'{t:.2f}' for t in t_ours)}); geopandas.overlay "
          f"median {mg:.3f} s (runs {', '.join(f'{t:.2f}' for t in t_gp)}) → geopandas / ours = {mg / mo:.2f}× "
          f"(target ≥ 5×); max relative area difference {diff:.1e} (target ≤ 1e-9); CPU ours "
          f"{statistics.median(c_ours):.3f} s, geopandas {statistics.median(c_gp):.3f} s → "
          f"{statistics.median(c_gp) / statistics.median(c_ours):.2f}×", flush=True)
    if extra is not None:
        me, ce = statistics.median(t_extra), statistics.median(c_extra)
        print(f"    + import-time extra (pieces cut along the partition for this layer, once per import): median "
              f"{me:.3f} s (runs {', '.join(f'{t:.2f}' for t in t_extra)}), CPU {ce:.3f} s; import extra + query "
              f"{me + mo:.3f} s → geopandas / (extra + ours) = {mg / (me + mo):.2f}× wall, "
              f"{statistics.median(c_gp) / (ce + statistics.median(c_ours)):.2f}× CPU", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    munis = municipalities()
    munis9 = munis.to_crs(9377)
    t = time.perf_counter()
    pa = protected_area(munis9)
    lc = land_cover(munis9)
    print(f"Data (DEMO, built in {time.perf_counter() - t:.1f} s): protected area {shapely.get_num_coordinates(pa):,} "
          f"vertices, {pa.area / 1e6:,.0f} km²; land cover {len(lc):,} polygons, "
          f"{shapely.get_num_coordinates(lc.geometry.values).sum():,} vertices (max {shapely.get_num_coordinates(lc.geometry.values).max():,} in one)")
    pa_gdf = gpd.GeoDataFrame({"nombre": ["DEMO área protegida"]}, geometry=[pa], crs=9377)
    with tempfile.TemporaryDirectory() as tmp:
        store(lc, LC_SLUG, Path(tmp), "clase")
        store(pa_gdf, PA_SLUG, Path(tmp), None)
    # the area given to the service is the same polygon as stored (4326 WKB round trip), as a user's upload would be
    pa4326 = GEOSGeometry(memoryview(pa_gdf.to_crs(4326).geometry.iloc[0].wkb), srid=4326)
    muni_areas = {code: GEOSGeometry(memoryview(g.wkb), srid=4326) for code, g in zip(munis.divipola, munis.geometry)}
    pa_left = gpd.GeoDataFrame({"zona": ["pa"]}, geometry=[shapely.from_wkb(bytes(pa4326.wkb))], crs=4326)
    lc4326 = lc.to_crs(4326)
    pa_right = pa_gdf.to_crs(4326).assign(clase="")
    print(f"Load average {os.getloadavg()[0]:.1f} (2 shared cores: absolute times are inflated; read the ratios)")
    compare("(1) land cover inside the protected area", {"pa": pa4326}, LC_SLUG, pa_left, lc4326, "zona", "clase",
            args.repeat)
    # the 42 municipalities named as members of the "municipios" partition: the layer's pieces were pre-cut along
    # them at import (territorial registers the partition); the rebuild of that layer is the import-time extra
    parts = {code: PartitionArea("municipios", code) for code in munis.divipola}
    compare("(2) land cover × 42 municipalities (partition)", parts, LC_SLUG, munis, lc4326, "divipola", "clase",
            args.repeat, extra=lambda: rebuild_partition_pieces("municipios", layers=[LC_SLUG]))
    compare("(3) protected area × 42 municipalities", muni_areas, PA_SLUG, munis, pa_right, "divipola", "clase",
            args.repeat)
    Layer.objects.filter(slug__in=[LC_SLUG, PA_SLUG]).delete()
    print(f"Load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
