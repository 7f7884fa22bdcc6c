"""Benchmark: strong scaling of the Dask raster engine (issue #10, parts 4 and 7).

The stage Dask distributes in a corridor run — every core's cost-distance surface up to its cut-off — on the
synthetic 16 M-cell grid of ``bench_corridors.py`` (fractal resistance 1–400, nodata barriers, 10 disc cores),
run the same way with 1, 2, … Dask workers (one process, one thread each) and, as the named peer, in this
process on 1 and on N threads (the default engine). The Dask timings include writing the four shared COGs
(resistance, allocation, CWD and predecessors of the all-cores pass), the window reads on the workers and the
transfer of the results back. Every variant must give the same surfaces bit for bit (checked).

    .venv/bin/python bench/bench_dask_scaling.py [--n 4000] [--repeats 3] [--workers 1,2]
    .venv/bin/python bench/bench_dask_scaling.py --scheduler tcp://host:8786 --workers 1,2,4,8 \\
        --shared-dir /mnt/shared/geosig

Without ``--scheduler`` a LocalCluster of max(--workers) processes is started here; with it, the cluster's
first N workers are used for each N (tasks are pinned to them), so the same command measures a bigger machine
or a cluster. ``--shared-dir`` must be a path every worker sees (default: a temporary folder, fine locally).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_corridors import CELL, WIDTH, synthetic  # noqa: E402

from layers.corridors.corridor import _cutoffs, _per_core_surfaces, adjacency  # noqa: E402
from layers.corridors.costdistance import cost_distance, cost_distance_from_zone, validate_resistance  # noqa: E402
from layers.distributed import DaskExecutor  # noqa: E402


def warm_up() -> bool:
    """Load the compiled Dijkstra in a worker (numba's on-disk cache) so the first timed task does not pay it."""
    v = np.ones((20, 20))
    zone = np.zeros((20, 20), bool)
    zone[0, 0] = True
    full = cost_distance(v, zone.astype(np.int32), 1.0, predecessors=True, validated=True)
    cost_distance_from_zone(v, zone, full.dist, full.pred, 1.0, cutoff=5.0)
    return True


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, out


def same(a, b) -> bool:
    return a[0].keys() == b[0].keys() and all(np.array_equal(a[0][k], b[0][k]) and np.array_equal(a[1][k], b[1][k])
                                              for k in a[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=4000, help="grid side in cells (4000 = 16 M cells)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", default="1,2", help="worker counts to measure, e.g. 1,2,4")
    ap.add_argument("--scheduler", default="", help="tcp://host:8786 of an existing cluster (default: LocalCluster)")
    ap.add_argument("--shared-dir", default="", help="folder every worker sees (default: a temporary folder)")
    args = ap.parse_args()
    counts = sorted({int(x) for x in args.workers.split(",")})

    from distributed import Client, LocalCluster

    print(f"Machine: {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f} (shared with other jobs)")
    res, cores = synthetic(args.n)
    v = validate_resistance(res)
    warm_up()
    full = cost_distance(v, cores, CELL, allocation=True, predecessors=True, validated=True)
    adj = adjacency(full.alloc, full.dist, v, CELL)
    cutoff = _cutoffs(adj, WIDTH, None)
    print(f"Grid {args.n}×{args.n} ({args.n**2/1e6:.0f} M cells, {CELL:g} m), {len(cutoff)} cores; stage measured: "
          f"the per-core bounded CWD surfaces (median of {args.repeats})\n")

    def stage(threads=1, executor=None):
        return _per_core_surfaces(v, full, cutoff, CELL, threads, lambda p, m: None, lambda: False, executor, adj)

    rows = []
    ref = None
    for threads in sorted({1, max(counts)}):
        t, runs, out = timed(lambda: stage(threads=threads), args.repeats)
        ref = ref or out
        assert same(out, ref)
        rows.append((f"in-process, {threads} thread(s)", t, runs))
        print(f"  {rows[-1][0]:<34} median {t:6.2f} s  runs {[round(x, 2) for x in runs]}", flush=True)

    cluster = None if args.scheduler else LocalCluster(n_workers=max(counts), threads_per_worker=1, processes=True,
                                                        dashboard_address=":0", host="127.0.0.1")
    client = Client(args.scheduler or cluster, set_as_default=False)
    try:
        client.wait_for_workers(max(counts), timeout=120)
        client.run(warm_up)
        addresses = sorted(client.scheduler_info(n_workers=-1)["workers"])
        with tempfile.TemporaryDirectory(dir=args.shared_dir or None) as shared:
            for k in counts:
                ex = DaskExecutor(client, shared_dir=Path(shared), workers=addresses[:k])
                with ex:
                    t, runs, out = timed(lambda: stage(executor=ex), args.repeats)
                assert same(out, ref), "Dask result differs from the in-process one"
                rows.append((f"Dask, {k} worker(s)", t, runs))
                print(f"  {rows[-1][0]:<34} median {t:6.2f} s  runs {[round(x, 2) for x in runs]}", flush=True)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    base = {name: t for name, t, _ in rows}
    one = base["Dask, 1 worker(s)"] if 1 in counts else None
    peer = base[f"in-process, {max(counts)} thread(s)"]
    print("\nAll variants gave identical surfaces (np.array_equal).")
    print(f"{'variant':<34} {'median s':>9} {'speed-up vs 1 worker':>21} {'ratio to in-process threads':>28}")
    for name, t, _ in rows:
        vs1 = f"{one / t:.2f}×" if one else "—"
        print(f"{name:<34} {t:9.2f} {vs1:>21} {t / peer:>27.2f}")
    print(f"(peer: in-process, {max(counts)} threads — the engine's default path; ratio < 1 = Dask faster)")


if __name__ == "__main__":
    main()
