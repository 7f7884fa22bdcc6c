"""Benchmark: the map's municipalities request under load vs the bare SQL floor.

Starts the production server (gunicorn, 3 workers, as `make demo`), then for DURATION seconds
20 concurrent keep-alive clients request /api/v1/municipalities/?simplified=true; next, 20
concurrent psycopg connections run the same FeatureCollection SQL the endpoint runs (the floor:
no HTTP, no Django). Prints payload bytes (plain and gzip), p50/p95 latency of both and the ratio.

    .venv/bin/python bench/bench_municipalities_api.py [--seconds 30] [--clients 20]
"""
import argparse
import gzip
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geosig.settings")
import django  # noqa: E402

django.setup()
import psycopg  # noqa: E402
from django.db import connection  # noqa: E402

from territorial.services import queries  # noqa: E402

PATH = "/api/v1/municipalities/?simplified=true"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def run_clients(n, seconds, make_worker):
    latencies, stop = [], time.perf_counter() + seconds
    lock = threading.Lock()

    def loop():
        work = make_worker()
        local = []
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            work()
            local.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=loop) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def http_worker(port):
    def make():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def work():
            conn.request("GET", PATH, headers={"Accept-Encoding": "gzip"})
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200, resp.status
            return body

        return work

    return make


def captured_sql():
    """The exact SQL + params the endpoint runs (captured from the service)."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        queries.municipalities_geojson(simplified=True)
    return ctx.captured_queries[-1]["sql"]


def sql_worker(dsn, sql):
    def make():
        conn = psycopg.connect(dsn, autocommit=True)

        def work():
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchone()[0]

        return work

    return make


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--clients", type=int, default=20)
    args = ap.parse_args()

    db = connection.settings_dict
    dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} dbname={db['NAME']} user={db['USER']}"
    sql = captured_sql()
    body = queries.municipalities_geojson(simplified=True).encode()
    single = []
    w = sql_worker(dsn, sql)()
    for _ in range(50):
        t0 = time.perf_counter(); w(); single.append(time.perf_counter() - t0)

    port = free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "geosig.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "3"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                http_worker(port)()()
                break
            except OSError:
                time.sleep(0.1)
        api = run_clients(args.clients, args.seconds, http_worker(port))
    finally:
        server.terminate()
        server.wait()
    floor = run_clients(args.clients, args.seconds, sql_worker(dsn, sql))

    print(f"payload: {len(body):,} bytes ({len(gzip.compress(body)):,} gzip) for 42 municipalities; target ≤ 250 KB")
    print(f"bare SQL, 1 client: median {statistics.median(single)*1000:.1f} ms")
    print(f"{args.clients} clients × {args.seconds:.0f} s")
    print(f"  API  GET {PATH}: n={len(api)}  p50 {percentile(api,.5)*1000:.1f} ms  p95 {percentile(api,.95)*1000:.1f} ms")
    print(f"  SQL  floor      : n={len(floor)}  p50 {percentile(floor,.5)*1000:.1f} ms  p95 {percentile(floor,.95)*1000:.1f} ms")
    print(f"  ratio p95 API/SQL = {percentile(api,.95)/percentile(floor,.95):.2f}  (target ≤ 3)")
    print(f"  ratio p50 API/SQL = {percentile(api,.5)/percentile(floor,.5):.2f}")


if __name__ == "__main__":
    main()
