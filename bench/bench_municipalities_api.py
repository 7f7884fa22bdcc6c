"""Benchmark: the map's municipalities request under load vs the bare SQL floor.

Starts the production server (gunicorn, 3 workers, as `make demo`), then for DURATION seconds
20 concurrent keep-alive clients request /api/v1/municipalities/?simplified=true; next, 20
concurrent connections run the same FeatureCollection SQL the endpoint builds (the floor: no HTTP,
no Django). Prints payload bytes (plain and gzip), p50/p95 latency of both and the ratio.

Load generators: ApacheBench (`ab`, Debian apache2-utils) for HTTP and `pgbench` for SQL when
installed — compiled clients, so the client's own cost does not weigh on the 2-core machine —,
otherwise Python threads for both (`--python-clients`). The same kind of client is used on both sides.

    .venv/bin/python bench/bench_municipalities_api.py [--seconds 30] [--clients 20]

--throttling: the same request at 50 concurrent connections with the rate limits ON vs OFF
(GEOSIG_THROTTLE_ENABLED, read by geosig.throttling). ON keeps every request counted (one upsert per
request) but with rates no client reaches, so both sides serve 200s and the difference is the cost of
counting. Rounds alternate OFF/ON so drift on the shared machine weighs on both; prints the median of
each side's p50/p95 over the rounds and the p95 ratio (target ≤ 1.05).

    .venv/bin/python bench/bench_municipalities_api.py --throttling [--seconds 20] [--rounds 3]
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


def ab_run(port, clients, seconds):
    """ApacheBench keep-alive run; returns (n, p50 s, p95 s) from its percentile table."""
    out = subprocess.run(
        ["ab", "-q", "-k", "-c", str(clients), "-t", str(int(seconds)), "-n", "10000000",
         "-H", "Accept-Encoding: gzip", f"http://127.0.0.1:{port}{PATH}"],
        capture_output=True, text=True, check=True,
    ).stdout
    n = int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Complete requests")))
    pct = {}
    for line in out.splitlines():
        parts = line.strip().rstrip("%").split()
        if len(parts) == 2 and parts[0].endswith("%"):
            pct[int(parts[0][:-1])] = float(parts[1]) / 1000
    failed = next(line for line in out.splitlines() if line.startswith("Failed requests"))
    assert failed.split()[-1] == "0", failed
    non_2xx = [line for line in out.splitlines() if line.startswith("Non-2xx responses")]
    assert not non_2xx, non_2xx  # e.g. 429s: the run would measure refusals, not the endpoint
    return n, pct[50], pct[95]


# Rate limits stay ON (every request counted, as deployed) with rates no benchmark client reaches: one
# address opening 20–50 connections would otherwise meet the "anon" limit and measure 429s.
UNREACHABLE_RATES = "anon=100000000/min,user=100000000/min"


def start_server(port, env=None):
    """gunicorn as `make demo` runs it, ready to answer."""
    env = env or dict(os.environ, GEOSIG_THROTTLE_RATES=UNREACHABLE_RATES)
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "geosig.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "3"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    for _ in range(100):
        try:
            http_worker(port)()()
            break
        except OSError:
            time.sleep(0.1)
    return server


def throttling_comparison(seconds, rounds, clients=50):
    """p50/p95 with the rate limits ON (counting every request, never refusing) vs OFF, alternating."""
    import shutil

    compiled = shutil.which("ab") is not None
    results = {"off": [], "on": []}
    for r in range(rounds):
        for side in ("off", "on"):
            env = dict(os.environ, GEOSIG_THROTTLE_ENABLED="true" if side == "on" else "false",
                       GEOSIG_THROTTLE_RATES=UNREACHABLE_RATES)
            port = free_port()
            server = start_server(port, env)
            try:
                run_clients(clients, 3, http_worker(port))  # warm-up
                if compiled:
                    res = ab_run(port, clients, seconds)
                else:
                    lat = run_clients(clients, seconds, http_worker(port))
                    res = (len(lat), percentile(lat, .5), percentile(lat, .95))
            finally:
                server.terminate()
                server.wait()
            results[side].append(res)
            print(f"  round {r + 1} throttling {side.upper():3}: n={res[0]}  p50 {res[1]*1000:.1f} ms  "
                  f"p95 {res[2]*1000:.1f} ms", flush=True)
    med = {side: (statistics.median(x[1] for x in v), statistics.median(x[2] for x in v))
           for side, v in results.items()}
    print(f"{clients} connections × {seconds:.0f} s × {rounds} rounds, GET {PATH}, "
          f"client: {'ab' if compiled else 'Python threads'}")
    for side in ("off", "on"):
        print(f"  throttling {side.upper():3}: median p50 {med[side][0]*1000:.1f} ms  median p95 {med[side][1]*1000:.1f} ms")
    print(f"  ratio p95 ON/OFF = {med['on'][1]/med['off'][1]:.3f}  (target ≤ 1.05)")
    print(f"  ratio p50 ON/OFF = {med['on'][0]/med['off'][0]:.3f}")


def pgbench_run(db, sql, clients, seconds):
    """pgbench with per-transaction log; returns (n, p50 s, p95 s)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "q.sql"
        script.write_text(sql.replace("\n", " ") + ";\n")
        subprocess.run(
            ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(int(seconds)), "-f", str(script),
             "-l", "--log-prefix", str(Path(tmp) / "log"),
             "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"], db["NAME"]],
            capture_output=True, text=True, check=True,
        )
        lat = []
        for f in Path(tmp).glob("log*"):
            lat += [int(line.split()[2]) / 1e6 for line in f.read_text().splitlines() if line.strip()]
    return len(lat), percentile(lat, 0.5), percentile(lat, 0.95)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--python-clients", action="store_true", help="use Python threads instead of ab/pgbench")
    ap.add_argument("--throttling", action="store_true", help="compare rate limits ON vs OFF at 50 connections")
    ap.add_argument("--rounds", type=int, default=3, help="OFF/ON rounds of --throttling")
    args = ap.parse_args()
    if args.throttling:
        throttling_comparison(args.seconds, args.rounds)
        return
    import shutil

    compiled = not args.python_clients and shutil.which("ab") and shutil.which("pgbench")

    db = connection.settings_dict
    dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} dbname={db['NAME']} user={db['USER']}"
    sql = captured_sql()
    body = queries.municipalities_geojson(simplified=True).encode()
    single = []
    w = sql_worker(dsn, sql)()
    for _ in range(50):
        t0 = time.perf_counter(); w(); single.append(time.perf_counter() - t0)

    build = []
    for _ in range(50):
        t0 = time.perf_counter(); queries.municipalities_geojson(simplified=True); build.append(time.perf_counter() - t0)

    port = free_port()
    server = start_server(port)
    try:
        # Warm-up: every worker imports the app lazily and builds the cached body on its first hit.
        run_clients(args.clients, 3, http_worker(port))
        if compiled:
            api = ab_run(port, args.clients, args.seconds)
        else:
            lat = run_clients(args.clients, args.seconds, http_worker(port))
            api = (len(lat), percentile(lat, .5), percentile(lat, .95))
    finally:
        server.terminate()
        server.wait()
    if compiled:
        floor = pgbench_run(db, sql, args.clients, args.seconds)
    else:
        lat = run_clients(args.clients, args.seconds, sql_worker(dsn, sql))
        floor = (len(lat), percentile(lat, .5), percentile(lat, .95))

    print(f"payload: {len(body):,} bytes ({len(gzip.compress(body)):,} gzip) for 42 municipalities; target ≤ 250 KB")
    print(f"bare SQL, 1 client: median {statistics.median(single)*1000:.1f} ms; "
          f"uncached service build (ORM + same SQL): median {statistics.median(build)*1000:.1f} ms "
          f"(ratio {statistics.median(build)/statistics.median(single):.2f}); the endpoint serves the build "
          f"cached per data version")
    print(f"{args.clients} clients × {args.seconds:.0f} s, clients: {'ab + pgbench' if compiled else 'Python threads'}")
    print(f"  API  GET {PATH}: n={api[0]}  p50 {api[1]*1000:.1f} ms  p95 {api[2]*1000:.1f} ms")
    print(f"  SQL  floor      : n={floor[0]}  p50 {floor[1]*1000:.1f} ms  p95 {floor[2]*1000:.1f} ms")
    print(f"  ratio p95 API/SQL = {api[2]/floor[2]:.2f}  (target ≤ 3)")
    print(f"  ratio p50 API/SQL = {api[1]/floor[1]:.2f}")


if __name__ == "__main__":
    main()
