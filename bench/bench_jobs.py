"""Benchmark: job-queue overhead — enqueue → start latency of a trivial job through ``jobs`` (Procrastinate,
one ``geosig_worker`` process) against the floor of any PostgreSQL queue: a hand-written LISTEN/NOTIFY consumer
that claims the row with ``SELECT … FOR UPDATE SKIP LOCKED`` (same database, same machine, same run).

One job at a time (the next is enqueued when the worker is idle again), so the figure is the queue's own
overhead, not waiting behind other jobs. Latency = the job row's ``started_at − created_at`` (both written by
Python on this machine); the floor's is ``started − created`` of its row (database clock).

    .venv/bin/python bench/bench_jobs.py [--jobs 100]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geosig.settings")


def register_noop():
    from jobs.registry import register

    register("bench-noop", label="Benchmark (sin trabajo)", retries=0)(lambda ctx, params: {})


def p95(values):
    return statistics.quantiles(values, n=20)[-1]


def bench_jobs(n: int) -> list[float]:
    from jobs import services
    from jobs.models import Job
    from procrastinate.contrib.django.models import ProcrastinateJob

    worker = subprocess.Popen([sys.executable, __file__, "--worker"], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        time.sleep(6)  # Django + Procrastinate start-up, LISTEN established
        out = []
        for _ in range(n + 5):
            job = services.enqueue("bench-noop", {})
            # wait until the worker is idle again: the job finished and its queue entry was deleted
            while Job.objects.filter(pk=job.pk, state__in=Job.ACTIVE).exists() or \
                    ProcrastinateJob.objects.filter(pk=job.queue_job_id).exists():
                time.sleep(0.002)
            job.refresh_from_db()
            out.append((job.started_at - job.created_at).total_seconds() * 1000)
        Job.objects.filter(kind="bench-noop").delete()
        return out[5:]  # the first few warm the worker's connections
    finally:
        worker.terminate()
        worker.wait(30)


def bench_floor(n: int) -> list[float]:
    """The bare minimum: INSERT + NOTIFY in one transaction; a listener wakes, claims with SKIP LOCKED."""
    import psycopg
    from procrastinate.contrib.django.utils import connector_params

    params = connector_params()
    setup = psycopg.connect(**params, autocommit=True)
    setup.execute("DROP TABLE IF EXISTS bench_floor_queue")
    setup.execute("CREATE UNLOGGED TABLE bench_floor_queue (id serial PRIMARY KEY, "
                  "created timestamptz NOT NULL DEFAULT clock_timestamp(), started timestamptz)")
    stop = threading.Event()

    def consume():
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute("LISTEN bench_floor")
            while not stop.is_set():
                # (the notifies generator holds the connection: read the wake-up first, then claim)
                if list(conn.notifies(timeout=0.5, stop_after=1)):
                    with conn.transaction():
                        conn.execute("UPDATE bench_floor_queue SET started = clock_timestamp() WHERE id = ("
                                     "SELECT id FROM bench_floor_queue WHERE started IS NULL ORDER BY id "
                                     "FOR UPDATE SKIP LOCKED LIMIT 1)")

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    time.sleep(1)
    out = []
    try:
        with psycopg.connect(**params) as prod:
            for _ in range(n + 5):
                with prod.transaction():
                    row_id = prod.execute("INSERT INTO bench_floor_queue DEFAULT VALUES RETURNING id").fetchone()[0]
                    prod.execute("NOTIFY bench_floor")
                while True:
                    ms = prod.execute("SELECT extract(epoch FROM started - created) * 1000 FROM bench_floor_queue "
                                      "WHERE id = %s AND started IS NOT NULL", [row_id]).fetchone()
                    prod.commit()
                    if ms:
                        out.append(float(ms[0]))
                        break
                    time.sleep(0.002)
    finally:
        stop.set()
        t.join(5)
        setup.execute("DROP TABLE IF EXISTS bench_floor_queue")
        setup.close()
    return out[5:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    import django

    django.setup()
    register_noop()
    if args.worker:
        from django.core.management import call_command

        call_command("geosig_worker")
        return
    floor = bench_floor(args.jobs)
    jobs = bench_jobs(args.jobs)
    print(f"enqueue → start latency, {args.jobs} trivial jobs one at a time, one worker (ms)")
    print(f"{'':32}{'median':>10}{'p95':>10}")
    print(f"{'jobs (Procrastinate worker)':32}{statistics.median(jobs):10.1f}{p95(jobs):10.1f}")
    print(f"{'floor (LISTEN/NOTIFY+SKIP LOCKED)':32}{statistics.median(floor):10.1f}{p95(floor):10.1f}")
    print(f"ratio jobs / floor: median {statistics.median(jobs) / statistics.median(floor):.1f}×, "
          f"p95 {p95(jobs) / p95(floor):.1f}×")


if __name__ == "__main__":
    main()
