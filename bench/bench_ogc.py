"""Benchmark of the OGC API (ogc/) against the existing endpoints for the same data (target ≤ 1.5×).

(1) Features: GET /ogc/collections/capa-<demo>/items?limit=1000 (one page of 1,000 features) vs the existing
    GeoJSON of the same layer, /api/v1/layers/<demo>/download.geojson, and vs the bare PostGIS query that
    writes the same FeatureCollection (json_agg of ST_AsGeoJSON) as a floor.
(2) Tiles: GET /ogc/collections/capa-centros-poblados/tiles/WebMercatorQuad/{z}/{row}/{col} vs the XYZ
    endpoint /api/v1/layers/centros-poblados/tiles/{z}/{x}/{y}.pbf over the same tiles (z8–z12 around Cali).

The 1,000 features are a synthetic layer labelled DEMO (1,000 small squares with five attributes), created
for the run and deleted afterwards. In-process Django test client (no network), rate limits off on both sides.
Run:  DATABASE_URL=postgis://… .venv/bin/python bench/bench_ogc.py [--repeat 15]
Needs the territory and the layers (load_territory, load_layers).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geosig.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("GEOSIG_THROTTLE_ENABLED", "false")
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.gis.geos import Polygon  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from layers.models import Feature, Layer  # noqa: E402

SLUG = "bench-ogc-1000-demo"
BARE = """SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object(
  'type', 'Feature', 'id', fid, 'geometry', ST_AsGeoJSON(geom, 6, 0)::json, 'properties', attributes) ORDER BY fid))::text
FROM (SELECT fid, geom, attributes FROM layers_feature WHERE layer_id = %s ORDER BY fid LIMIT 1000) f"""


def make_layer(n=1000) -> Layer:
    Layer.objects.filter(slug=SLUG).delete()
    side = 0.002
    boxes = [Polygon.from_bbox((-76.9 + (i % 40) * 0.01, 3.2 + (i // 40) * 0.01,
                                -76.9 + (i % 40) * 0.01 + side, 3.2 + (i // 40) * 0.01 + side)) for i in range(n)]
    layer = Layer.objects.create(slug=SLUG, title="DEMO: 1.000 cuadrados sintéticos (benchmark)", kind="vector",
                                 geometry_type="polygon", is_demo=True, source="sintético (bench/bench_ogc.py)",
                                 feature_count=n, fields=[{"name": k, "type": t} for k, t in
                                                          (("codigo", "str"), ("clase", "str"), ("valor", "float64"),
                                                           ("orden", "int32"), ("nota", "str"))])
    for b in boxes:
        b.srid = 4326
    Feature.objects.bulk_create([Feature(layer=layer, fid=i, geom=b, class_value=f"c{i % 5}", attributes={
        "codigo": f"DEMO-{i:04d}", "clase": f"c{i % 5}", "valor": i * 1.5, "orden": i, "nota": "DEMO"})
        for i, b in enumerate(boxes)])
    return layer


def median_ms(fn, repeat) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def tiles_around_cali():
    lon, lat = -76.52, 3.44
    out = []
    for z in range(8, 13):
        n = 2 ** z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        out += [(z, x + dx, y + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    settings.GEOSIG_THROTTLE_ENABLED = False
    c = Client()
    layer = make_layer()
    try:
        def ogc_items():
            r = c.get(f"/ogc/collections/capa-{SLUG}/items", {"limit": 1000})
            assert r.status_code == 200 and r.content.count(b'"Feature"') == 1000, r.status_code

        def existing_geojson():
            r = c.get(f"/api/v1/layers/{SLUG}/download.geojson")
            assert r.status_code == 200, r.status_code

        def bare_sql():
            with connection.cursor() as cur:
                cur.execute(BARE, [layer.pk])
                cur.fetchone()

        ogc = median_ms(ogc_items, args.repeat)
        old = median_ms(existing_geojson, args.repeat)
        bare = median_ms(bare_sql, args.repeat)
        print(f"items 1000 features   ogc {ogc:7.1f} ms | layers download.geojson {old:7.1f} ms | bare SQL {bare:6.1f} ms")
        print(f"  ratio ogc/download.geojson = {ogc / old:.2f} (target ≤ 1.5)   ogc/bare SQL = {ogc / bare:.2f}")
    finally:
        Layer.objects.filter(slug=SLUG).delete()

    # interleaved, tile by tile (OGC then XYZ on the same tile), so the machine's drift hits both sides alike
    tiles = tiles_around_cali()
    ogc_ms, xyz_ms = [], []
    for rep in range(args.repeat + 1):
        for z, x, y in tiles:
            t = time.perf_counter()
            r = c.get(f"/ogc/collections/capa-centros-poblados/tiles/WebMercatorQuad/{z}/{y}/{x}")
            t1 = time.perf_counter()
            r2 = c.get(f"/api/v1/layers/centros-poblados/tiles/{z}/{x}/{y}.pbf")
            t2 = time.perf_counter()
            assert r.status_code == r2.status_code == 200 and r.content == r2.content
            if rep:  # the first pass warms both up
                ogc_ms.append((t1 - t) * 1000)
                xyz_ms.append((t2 - t1) * 1000)
    ogc_t, xyz_t = statistics.median(ogc_ms), statistics.median(xyz_ms)
    print(f"tile (median of {len(ogc_ms)} requests, {len(tiles)} tiles z8–z12, same bytes)   ogc {ogc_t:6.2f} ms | "
          f"xyz {xyz_t:6.2f} ms   ratio = {ogc_t / xyz_t:.2f} (target ≤ 1.5)")


if __name__ == "__main__":
    main()
