"""Benchmark: Omniscape engine on the whole Valle at 90 m, radius 100 cells, block 9 (issue #10 part 7).

Grids (EPSG:9377, 90 m, the department's bounding box; cells outside the department are nodata):

* ``valle`` — the corridors engine's «resistencia derivada» (1 + 0.2·slope° + 2·km below 1 500 m + 5·exp(−d_roads/500)
  + 10·exp(−d_centres/1 000)) from the SRTM DEM, national roads and DANE populated centres. The DEM covers only
  the department SOUTH OF 4°N, so this grid has data on that part only (the rest is nodata, no targets).
* ``synthetic`` — the same department mask (≈ 2.5 M cells) filled with fractal resistance 1–100 (fixed seed),
  so the whole-department size the target is stated for is measured too.

Sources from resistance (1/R, every cell a source), as Omniscape users commonly do without a habitat layer.
For each grid: per-window time (cumulative current + flow potential; the correction array is computed once),
share of assembly / setup (a window's factorisation with its own solve, one PARDISO call; the flow potential's
factorisation, the same for every full window, once per worker) / solve (with a kept factor: the flow potentials
of a batch's full windows in one multi-right-hand-side call) / currents, peak memory,
strong scaling with 1 and 2 workers (threads in-process, or Dask workers with ``--scheduler local|tcp://…``), and
the time of the whole run — measured when ``--full`` is given, otherwise extrapolated from a sample of target batches spread over the grid
(``--sample``; the output says which). Peer: a straightforward per-window solve (scipy.sparse assembly +
``spsolve``, SuperLU/COLAMD; what a first Python port of Omniscape.jl's loop would do) on a sample of the same
windows: ratio of per-window times. Omniscape.jl itself cannot run here (no Julia).

    .venv/bin/python bench/bench_omniscape.py [--grid valle|synthetic|both] [--workers 1,2]
        [--scheduler local|tcp://host:8786] [--sample 24] [--full] [--peer-windows 6]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geosig.settings")

import django  # noqa: E402

django.setup()

import scipy.sparse as sp  # noqa: E402
from rasterio.features import rasterize  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402
from scipy.sparse.linalg import spsolve  # noqa: E402

from geosig.readers import open_raster, read_vector  # noqa: E402
from layers.connectivity import omniscape as om  # noqa: E402
from layers.corridors.grid import Grid  # noqa: E402
from layers.corridors.resistance import DERIVED_RECIPE, build_resistance  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CELL, RADIUS, BLOCK = 90.0, 100, 9
TARGET_S = 600.0


def department_grid():
    dept = read_vector(DATA / "boundaries" / "valle_departamento_mgn2021.geojson", to_srid=9377)
    x0, y0, x1, y1 = dept.total_bounds
    cols, rows = int(np.ceil((x1 - x0) / CELL)), int(np.ceil((y1 - y0) / CELL))
    transform = from_origin(x0, y1, CELL, CELL)
    inside = rasterize([(g, 1) for g in dept.geometry], out_shape=(rows, cols), transform=transform) > 0
    return transform, inside


def valle_resistance(transform, inside):
    target = Grid(np.zeros(inside.shape), transform, "EPSG:9377")
    with open_raster(DATA / "environment" / "valle_dem_srtm3_lat3to4_partial.tif") as ds:
        arr = ds.read(1, masked=True).astype(float).filled(np.nan)
        dem = Grid(arr, ds.transform, ds.crs)
    layers = {"red-vial-nacional": DATA / "network" / "valle_red_vial_nacional_travelmapping.geojson",
              "centros-poblados": DATA / "network" / "valle_centros_poblados_divipola2017.geojson"}
    entries = []
    for e in DERIVED_RECIPE:
        e = dict(e)
        e["data"] = read_vector(layers[e["layer"]]) if "layer" in e else dem
        entries.append(e)
    res = build_resistance(entries, target).array
    res[~inside] = np.nan
    return res


def synthetic_resistance(inside, seed=7):
    rng = np.random.default_rng(seed)
    h, w = inside.shape
    total = np.zeros((h, w))
    for octave in range(7):  # fractal noise: sum of upsampled random grids
        k = 2 ** (octave + 2)
        small = rng.standard_normal((h // k + 2, w // k + 2))
        total += np.kron(small, np.ones((k, k)))[:h, :w] * k
    res = 1 + 99 * (total - total.min()) / (total.max() - total.min())
    res[~inside] = np.nan
    return res


def sample_batches(batches, n, seed=0):
    """``n`` batches spread over the grid (a random sample: the per-window cost depends on where it is)."""
    if n >= len(batches):
        return batches
    idx = np.random.default_rng(seed).choice(len(batches), n, replace=False)
    return [batches[i] for i in sorted(idx)]


def make_executor(workers, scheduler):
    if not scheduler:
        return om.LocalExecutor(workers)
    from distributed import Client

    from layers.distributed import DaskExecutor, get_client, local_cluster
    if scheduler == "local":
        return DaskExecutor(client=Client(local_cluster(workers), set_as_default=False))
    return DaskExecutor(client=get_client(scheduler))


def timed_run(inputs, params, batches, workers, scheduler):
    """Wall time and summed stage times of solving ``batches`` on ``workers``."""
    ex = make_executor(workers, scheduler)
    try:
        shared = ex.share(inputs) if hasattr(ex, "share") else inputs
        fn = lambda b: om.solve_targets(shared, params, b)  # noqa: E731
        if scheduler:
            import functools
            fn = functools.partial(om.solve_targets, shared, params)
        # warm-up: the correction array and the numba/solver setup (each worker thread's symbolic analysis and
        # flow-potential factorisation), outside the timing; the executor keeps its threads for the timed map
        list(ex.map(fn, [b[:1] for b in batches[:2 * max(1, workers)]]))
        t0 = time.perf_counter()
        stages = dict.fromkeys(om.TIMING_KEYS, 0.0)
        n = 0
        for part in ex.map(fn, batches):
            n += part.targets
            for k in stages:
                stages[k] += part.timings[k]
        return time.perf_counter() - t0, n, stages
    finally:
        ex.close()


def peer_window(inputs, params, t):
    """The straightforward way: scipy.sparse COO assembly of the circle window + spsolve, cum and flow potential."""
    row, col, amps = int(t[0]), int(t[1]), t[2]
    b = om._window_bounds(row, col, inputs.shape, params.dist)
    sub = inputs.window(*b)
    src = om._source_window(sub, t, b, inputs.shape, params)
    gr, gc = row - b[0], col - b[2]
    t0 = time.thread_time()
    for cond in (sub.conductance, np.ones(sub.conductance.shape)):
        h, w = cond.shape
        yy, xx = np.mgrid[0:h, 0:w]
        ok = np.isfinite(cond) & (((yy - gr) ** 2 + (xx - gc) ** 2 <= params.dist ** 2) | (cond is not sub.conductance))
        idx = -np.ones(h * w, int)
        idx[ok.ravel()] = np.arange(ok.sum())
        us, vs, gs = [], [], []
        for dr, dc, wt in om._OFFSETS[params.connectivity]:
            a = (slice(0, h - dr), slice(max(0, -dc), w - max(0, dc)))
            bb = (slice(dr, h), slice(max(0, dc), w - max(0, -dc)))
            m = ok[a] & ok[bb]
            cell = np.arange(h * w).reshape(h, w)
            us.append(idx[cell[a][m]])
            vs.append(idx[cell[bb][m]])
            gs.append(wt * 0.5 * (cond[a][m] + cond[bb][m]))
        u, v, g = np.concatenate(us), np.concatenate(vs), np.concatenate(gs)
        n = int(ok.sum())
        deg = np.bincount(u, g, n) + np.bincount(v, g, n)
        lap = sp.coo_matrix((np.r_[-g, -g, deg], (np.r_[u, v, np.arange(n)], np.r_[v, u, np.arange(n)])), (n, n)).tocsr()
        keep = np.ones(n, bool)
        keep[idx[gr * w + gc]] = False
        x = spsolve(lap[keep][:, keep].tocsc(), np.where(ok, src, 0).ravel()[ok.ravel()][keep])
        np.abs(g * 0)  # currents: the same bincount as the corridors' circuit (not timed apart)
        del x
    return time.thread_time() - t0


def peak_rss_gb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024 ** 2


def bench_grid(name, res, args):
    params = om.OmniscapeParams(radius=RADIUS, block_size=BLOCK, source_from_resistance=True,
                                calc_flow_potential=True, calc_normalized_current=True, batch_size=args.batch)
    inputs = om.prepare_inputs(res, None, params)
    targets = om.plan_targets(inputs.source, params)
    batches = om.make_batches(targets, params)
    cells = int(np.isfinite(res).sum())
    print(f"\n== {name}: grid {res.shape[0]}×{res.shape[1]}, {cells:,} cells with data; radius {RADIUS}, block {BLOCK}:"
          f" {len(targets):,} target windows in {len(batches)} batches of ≤ {args.batch}")
    run = batches if args.full else sample_batches(batches, args.sample)
    what = "whole run" if args.full else f"sample of {sum(len(b) for b in run)} windows ({len(run)} batches)"
    # windows cut by the grid edge cost more (the flow potential's matrix is factorised for each): say how many
    # the sample holds against the whole run, since the extrapolation assumes the sample's mix
    d, (nr, nc) = params.dist, res.shape
    cut = lambda t: ((t[:, 0] < d) | (t[:, 0] >= nr - d) | (t[:, 1] < d) | (t[:, 1] >= nc - d)).mean()  # noqa: E731
    print(f"  windows cut by the grid edge: {100 * cut(np.concatenate(run)):.1f} % of the timed windows, "
          f"{100 * cut(targets):.1f} % of the run")
    per, cpu = {}, {}
    load = os.getloadavg()[0]
    for w in args.workers:
        wall, n, stages = timed_run(inputs, params, run, w, args.scheduler)
        per[w] = wall / n
        cpu[w] = sum(stages.values()) / n  # CPU seconds of the worker threads per window
        share = ", ".join(f"{k} {100 * v / sum(stages.values()):.0f} %" for k, v in stages.items())
        full_wall = per[w] * len(targets)
        full_cpu = cpu[w] * len(targets) / w  # the same work on w otherwise idle cores
        print(f"  {w} worker(s) [{args.scheduler or 'threads'}], {what}: wall {wall:.1f} s = {1000 * per[w]:.0f} ms per "
              f"window; CPU {1000 * cpu[w]:.0f} ms per window ({share}). Whole run "
              f"{'measured' if args.full else 'extrapolated'}: {full_wall / 60:.1f} min at this load (ratio to the "
              f"{TARGET_S / 60:.0f}-min target {full_wall / TARGET_S:.2f}); {full_cpu / 60:.1f} min on {w} free core(s) "
              f"(ratio {full_cpu / TARGET_S:.2f})")
    print(f"  machine load average during the runs: {load:.1f} on {os.cpu_count()} cores")
    if len(per) > 1:
        lo, hi = min(per), max(per)
        print(f"  strong scaling {lo}→{hi} workers (wall): speed-up {per[lo] / per[hi]:.2f} (ideal {hi / lo:.0f})")
    peer = [peer_window(inputs, params, t) for t in sample_batches(list(targets), args.peer_windows, seed=1)]
    ours1 = cpu[min(cpu)]
    print(f"  peer (scipy assembly + spsolve per window, CPU, {len(peer)} windows): median {statistics.median(peer):.2f} s"
          f" per window; ours {1000 * ours1:.0f} ms → ratio ours/peer {ours1 / statistics.median(peer):.3f}")
    print(f"  peak memory (max RSS of this process or a worker): {peak_rss_gb():.2f} GB")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", default="both", choices=("valle", "synthetic", "both"))
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts for strong scaling")
    ap.add_argument("--scheduler", default=None, help="Dask: «local» (LocalCluster) or tcp://address; none = threads")
    ap.add_argument("--sample", type=int, default=24, help="batches timed when not --full")
    ap.add_argument("--batch", type=int, default=16, help="targets per batch")
    ap.add_argument("--full", action="store_true", help="run every target (long)")
    ap.add_argument("--peer-windows", type=int, default=4)
    args = ap.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]
    transform, inside = department_grid()
    print(f"Valle del Cauca at {CELL:g} m: {inside.shape[0]}×{inside.shape[1]} grid, {int(inside.sum()):,} cells inside "
          f"the department; solver {om.linsolve.resolve('auto')}")
    if args.grid in ("valle", "both"):
        bench_grid("valle (resistencia derivada; DEM only south of 4°N)", valle_resistance(transform, inside), args)
    if args.grid in ("synthetic", "both"):
        bench_grid("synthetic fractal resistance on the whole department", synthetic_resistance(inside), args)


if __name__ == "__main__":
    main()
