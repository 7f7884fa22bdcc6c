"""Benchmark: ecological corridors engine vs GRASS r.cost (issue 6).

Synthetic but realistic 4,000 × 4,000 resistance (100 m cells, EPSG:9377, 16 M cells): fractal noise
(8 octaves, fixed seed) mapped to 1–100, "urban" blobs of resistance 400, and three 3-cell-wide nodata
barriers (highways/rivers) with a few crossings; 10 disc cores (radius 8 cells, fixed seed).

1. Cost distance from one core, whole raster: our numba Dijkstra vs GRASS 8 ``r.cost`` (8 neighbours, no
   knight's move, run in a temporary location) and vs ``skimage.graph.MCP_Geometric``; agreement (GRASS
   counts cost in cells, ×100 m), ratio (target ≤ 0.5 × GRASS). Also the same run with the corridor cut-off.
2. Full corridor run (allocation, 10 per-core bounded CWDs in 2 threads, links, LCPs, NLCC mosaic), in a
   fresh subprocess so its peak RSS is its own (target ≤ 30 s, ≤ 4 GB).
3. Pinch points: circuit on a 1,000 × 1,000 (1 M-cell) window between two cores, pyamg classical AMG + CG
   (default) and smoothed aggregation (target ≤ 30 s; goal ≤ 1.5 s per circuit), the same grounded Laplacian
   factorised by PARDISO, and every pair of 6 cores of the window with one factorisation (``CorePairs``:
   Schur complement onto the cores' boundary cells), 1 and 2 MKL threads, setup/solve split.
4. Growth from 1 M to 16 M cells (cost distance and the full corridor run).

    .venv/bin/python bench/bench_corridors.py [--repeats 3] [--skip-grass] [--part pinch]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layers.corridors.circuit import pinch_points  # noqa: E402
from layers.corridors.corridor import corridors  # noqa: E402
from layers.corridors.costdistance import cost_distance, validate_resistance  # noqa: E402

CELL = 100.0
X0, Y0 = 4_600_000.0, 2_000_000.0  # EPSG:9377 origin of the synthetic raster (somewhere in Valle)
WIDTH = 200_000.0  # corridor width in cost units (= 2 km at resistance 1)


def fractal(n: int, seed: int) -> np.ndarray:
    from scipy.ndimage import zoom

    rng = np.random.default_rng(seed)
    out = np.zeros((n, n))
    amp = 1.0
    for octave in range(8):
        k = 4 * 2**octave
        small = rng.standard_normal((k + 1, k + 1))
        out += amp * zoom(small, n / (k + 1), order=1, prefilter=False)[:n, :n]
        amp *= 0.55
    out = (out - out.min()) / (out.max() - out.min())
    return out


def synthetic(n: int, seed: int = 42, ncores: int = 10):
    rng = np.random.default_rng(seed)
    f = fractal(n, seed)
    res = 1.0 + 99.0 * f**2  # skewed: most of the land is cheap, ridges are costly
    # Urban blobs.
    yy, xx = np.mgrid[0:n, 0:n]
    for _ in range(6):
        cy, cx, rad = rng.integers(0, n), rng.integers(0, n), rng.integers(n // 80, n // 30)
        res[(yy - cy) ** 2 + (xx - cx) ** 2 < rad**2] = 400.0
    del yy, xx
    # Three barrier polylines (random walks across the raster), 3 cells wide, with 4 gaps each.
    for b in range(3):
        horizontal = b % 2 == 0
        pos = rng.integers(n // 5, 4 * n // 5)
        steps = rng.integers(-1, 2, n).cumsum() + pos
        steps = np.clip(steps, 2, n - 3)
        gaps = set()
        for g in rng.integers(0, n - 20, 4):
            gaps.update(range(g, g + 15))
        for i in range(n):
            if i in gaps:
                continue
            j = steps[i]
            if horizontal:
                res[j - 1 : j + 2, i] = np.nan
            else:
                res[i, j - 1 : j + 2] = np.nan
    cores = np.zeros((n, n), np.int32)
    r = max(3, 8 * n // 4000)
    placed = []
    while len(placed) < ncores:
        cy, cx = rng.integers(r + 5, n - r - 5, 2)
        if any((cy - py) ** 2 + (cx - px) ** 2 < (n // 8) ** 2 for py, px in placed):
            continue
        win = (slice(cy - r, cy + r + 1), slice(cx - r, cx + r + 1))
        if not np.isfinite(res[win]).all():
            continue
        ys, xs = np.ogrid[-r : r + 1, -r : r + 1]
        disc = ys**2 + xs**2 <= r * r
        cores[win][disc] = len(placed) + 1
        res[win][disc] = 1.0
        placed.append((cy, cx))
    return res, cores


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, out


def write_tif(path, arr, nodata=None, dtype="float32"):
    import rasterio
    from affine import Affine

    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1, dtype=dtype,
                       crs="EPSG:9377", transform=Affine(CELL, 0, X0, 0, -CELL, Y0), nodata=nodata,
                       tiled=True, compress="NONE") as dst:
        dst.write(arr.astype(dtype), 1)


def grass_rcost(res, core_mask, repeats, workdir):
    """r.cost in a temporary GRASS location; returns (median seconds of r.cost alone, runs, cost × CELL)."""
    import rasterio

    write_tif(workdir / "res.tif", np.where(np.isfinite(res), res, -9999), nodata=-9999)
    write_tif(workdir / "start.tif", np.where(core_mask, 1, 0), nodata=0, dtype="uint8")
    script = workdir / "run.sh"
    script.write_text(
        "set -e\n"
        f"r.in.gdal input={workdir}/res.tif output=res --q\n"
        f"r.in.gdal input={workdir}/start.tif output=start --q\n"
        "g.region raster=res\n"
        + "".join(
            "t0=$(date +%s.%N)\n"
            "r.cost --o input=res output=cost start_raster=start --q\n"
            f"t1=$(date +%s.%N)\necho \"RCOST $t0 $t1\"\n"
            for _ in range(repeats)
        )
        + f"r.out.gdal -c -f input=cost output={workdir}/cost.tif type=Float64 --q\n"
    )
    out = subprocess.run(["grass", "--tmp-location", "EPSG:9377", "--exec", "bash", str(script)],
                         capture_output=True, text=True, check=False)
    times = [float(b) - float(a) for _, a, b in (ln.split() for ln in out.stdout.splitlines() if ln.startswith("RCOST"))]
    if not times:
        raise RuntimeError("GRASS r.cost failed:\n" + out.stdout[-2000:] + out.stderr[-2000:])
    with rasterio.open(workdir / "cost.tif") as src:
        g = src.read(1, masked=True).filled(np.nan)
    return statistics.median(times), times, g * CELL


def part_corridor(n: int, threads: int) -> dict:
    res, cores = synthetic(n)
    v = validate_resistance(res)
    cost_distance(v[:50, :50], np.eye(50, dtype=np.int32), 1.0, validated=True)  # JIT warm-up (cached)
    t = time.perf_counter()
    marks = {}

    def progress(pct, msg):
        marks.setdefault(pct if pct in (2, 82, 95) else "cwd", time.perf_counter() - t)

    out = corridors(v, cores, CELL, WIDTH, threads=threads, validated=True, progress=progress)
    dt = time.perf_counter() - t
    kept = [lk for lk in out.links if lk.status == "ok"]
    return {
        "n": n, "cells": n * n, "seconds": dt, "peak_rss_gb": peak_rss_gb(),
        "links": len(out.links), "kept": len(kept), "dropped": {s: sum(lk.status == s for lk in out.links) for s in
                                                               {lk.status for lk in out.links}},
        "corridor_cells": int(out.truncated().sum()),
        "stages": {"allocation+first per-core CWD": round(marks.get("cwd", 0), 2),
                   "all per-core CWDs": round(marks.get(82, 0), 2), "links+LCPs+NLCC mosaic": round(dt - marks.get(82, 0), 2)},
        "cutoff_reach": [round(float(np.isfinite(d).mean()), 2) for d in out.cwd.values()],
    }


def direct_pardiso(sub, src, gnd, repeats):
    """The same grounded Laplacian factorised by MKL PARDISO (layers.connectivity.linsolve, nested dissection):
    why a single pinch-point circuit keeps AMG at 10⁶ nodes. This factor depends on the pair (its cores are
    shorted); ``all_pairs`` below factorises the window once for every pair instead."""
    from layers.connectivity import linsolve
    from layers.corridors import circuit

    if not linsolve.available("pardiso"):
        print("  (PARDISO not installed: direct comparison skipped)")
        return
    res, s, g, passable = circuit._check_inputs(sub, src, gnd, None, 8, "auto")
    u, v, w = circuit._edges(passable, res, 8)
    red, _ = circuit._grounded_laplacian(circuit._node_numbers(passable, s, g), u, v, w)
    b = np.zeros(red.shape[0])
    b[0] = 1.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        up = sp.triu(red, format="coo")
        pat = linsolve.Pattern(red.shape[0], up.row, up.col)
        data = np.empty(len(up.data))
        data[pat.position] = up.data
        f = linsolve.Factor(pat, "pardiso")
        t1 = time.perf_counter()
        f.factor(data)
        t2 = time.perf_counter()
        x = f.solve(b)
        t3 = time.perf_counter()
        print(f"  PARDISO direct: pattern {t1 - t0:.2f} s, factorisation {t2 - t1:.2f} s, solve {t3 - t2:.2f} s, "
              f"{int(f._pd.iparm[17]):,} factor non-zeros, R_eff {x[0]:.6g}")
        f.release()


def part_pinch(n: int, repeats: int) -> None:
    print("\n(3) Pinch points on a 1,000 × 1,000 window (1 M cells), pyamg Ruge–Stüben AMG + CG; smoothed aggregation for comparison")
    w = 1000
    # The fractal surface without the barrier lines, so all 10⁶ cells are one connected circuit.
    sub = (1.0 + 99.0 * fractal(n, 42) ** 2)[1500:1500 + w, 1500:1500 + w].copy()
    src = np.zeros(sub.shape, bool)
    gnd = np.zeros(sub.shape, bool)
    src[480:520, 20:40] = True
    gnd[480:520, 960:980] = True
    sub[src | gnd] = 1.0
    cell = np.arange(100).reshape(10, 10)
    pinch_points(np.ones((10, 10)), cell < 10, cell >= 90)  # compile the numba assembly once (cached on disk)
    for solver in ("amg", "amg-sa"):
        pt, pruns, pp = timed(lambda: pinch_points(sub, src, gnd, connectivity=8, solver=solver, tol=1e-6), repeats)
        print(f"  {solver:6s} {pp.nodes:,} nodes: median {pt:.2f} s per circuit (assembly + AMG setup + CG solve), "
              f"runs {[round(x, 2) for x in pruns]}, {pp.iterations} CG iterations, R_eff {pp.resistance:.6g}; "
              f"last run split {{{', '.join(f'{k} {v:.2f}' for k, v in pp.timings.items())}}} s")
    direct_pardiso(sub, src, gnd, repeats)

    all_pairs(sub, repeats)


def all_pairs(sub, repeats):
    """Every pair of 6 cores of the same window with one factorisation (circuit.CorePairs: Schur complement onto
    the cores' boundary cells, PARDISO), 1 and 2 MKL threads; per circuit = (setup + all pairs) / pairs. The
    peer is the AMG circuit above (one hierarchy per pair); R(1, 2) is checked against AMG at tol 1e-10."""
    from layers.corridors.circuit import CorePairs

    cores = np.zeros(sub.shape, np.int32)
    for k, (r, c) in enumerate([(480, 20), (480, 960), (100, 300), (100, 700), (860, 300), (860, 700)], 1):
        cores[r:r + 40, c:c + 20] = k
    sub = sub.copy()
    sub[cores > 0] = 1.0
    print(f"  all pairs of 6 cores (40 × 20 cells) in the window, one Schur-complement factorisation (load "
          f"{os.getloadavg()[0]:.2f}):")
    for threads in (1, 2):
        for _ in range(repeats):
            t0 = time.perf_counter()
            cp = CorePairs(sub, cores, threads=threads)
            t1 = time.perf_counter()
            out = dict(cp.all_pairs())
            t2 = time.perf_counter()
            split = {k: sum(r.timings[k] for r in out.values()) for k in ("reduced_solve", "interior", "currents")}
            print(f"    {threads} thread(s): setup {t1 - t0:.2f} s ({', '.join(f'{k} {v:.2f}' for k, v in cp.timings.items())}; "
                  f"{len(cp.bcells)} boundary cells, {cp.schur.factor_nnz:,} factor non-zeros), {len(out)} pairs "
                  f"{t2 - t1:.2f} s ({', '.join(f'{k} {v:.2f}' for k, v in split.items())}) → "
                  f"{(t2 - t0) / len(out):.2f} s per circuit; R(1,2) {out[1, 2].resistance:.6g}", flush=True)
            cp.release()
            del out
    ref = pinch_points(sub, cores == 1, cores == 2, solver="amg", tol=1e-10)
    print(f"  AMG check of R(1,2) with the six cores in place: {ref.resistance:.6g}; load {os.getloadavg()[0]:.2f}")


def peak_rss_gb() -> float:
    """VmHWM of this process. (ru_maxrss would carry over the parent's peak across fork+exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run_sub(n, threads):
    out = subprocess.run([sys.executable, __file__, "--part", "corridor", "--n", str(n), "--threads", str(threads)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-grass", action="store_true")
    ap.add_argument("--part", default="all")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.part == "corridor":
        print(json.dumps(part_corridor(args.n, args.threads)))
        return
    if args.part == "pinch":
        print(f"Machine: {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f}")
        part_pinch(4000, args.repeats)
        print(f"Load average at the end: {os.getloadavg()[0]:.2f}")
        return

    n = 4000
    print(f"Machine: {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f} (shared with other jobs)")
    print(f"Synthetic resistance {n}×{n} ({n*n/1e6:.0f} M cells, {CELL:g} m), 10 disc cores; building...", flush=True)
    res, cores = synthetic(n)
    v = validate_resistance(res)
    print(f"  resistance 1–400, nodata barriers {np.isinf(v).mean()*100:.2f} % of cells")
    core1 = cores == 1
    cost_distance(v[:50, :50], core1[:50, :50].astype(np.int32) + 1, 1.0, validated=True)  # JIT warm-up

    print("\n(1) Cost distance from core 1 over the whole raster")
    ours_t, ours_runs, ours = timed(lambda: cost_distance(v, core1.astype(np.int32), CELL, validated=True).dist, args.repeats)
    print(f"  numba Dijkstra (4-ary heap):  median {ours_t:.2f} s  runs {[round(x, 2) for x in ours_runs]}")
    from skimage.graph import MCP_Geometric

    sk_in = np.where(np.isfinite(res), res, np.inf)
    t = time.perf_counter()
    sk, _ = MCP_Geometric(sk_in, fully_connected=True, sampling=(CELL, CELL)).find_costs(np.argwhere(core1))
    sk_t = time.perf_counter() - t
    fin = np.isfinite(ours)
    print(f"  skimage MCP_Geometric:        {sk_t:.2f} s (1 run); ratio ours/skimage {ours_t/sk_t:.2f}; "
          f"max |Δ|/value {np.max(np.abs(sk[fin]-ours[fin])/np.maximum(ours[fin],1)):.1e}")
    del sk, sk_in
    if not args.skip_grass and shutil.which("grass"):
        with tempfile.TemporaryDirectory() as tmp:
            g_t, g_runs, g = grass_rcost(res, core1, args.repeats, Path(tmp))
        both = fin & np.isfinite(g)
        rel = np.abs(g[both] - ours[both]) / np.maximum(ours[both], 1.0)
        print(f"  GRASS r.cost:                 median {g_t:.2f} s  runs {[round(x, 2) for x in g_runs]}")
        print(f"  RATIO ours / GRASS = {ours_t / g_t:.3f}  (target ≤ 0.5)")
        print(f"  agreement: {both.sum():,} cells both finite, reachable-set mismatch {(fin != np.isfinite(g)).sum()} cells, "
              f"max rel diff {rel.max():.2e}, median {np.median(rel):.1e}")
        del g
    else:
        print("  GRASS r.cost: skipped (--skip-grass, or grass-core not installed: apt-get install grass-core)")
    cut = float(np.percentile(ours[fin], 25))
    ct, _, cd = timed(lambda: cost_distance(v, core1.astype(np.int32), CELL, cutoff=cut, validated=True), args.repeats)
    print(f"  with a cost cut-off at the 25th percentile of CWD ({np.isfinite(cd.dist).mean()*100:.0f} % of cells): "
          f"median {ct:.2f} s")
    del ours

    print("\n(2) Full corridor run (fresh subprocess, 2 threads)")
    full = run_sub(n, 2)
    print(f"  {full['cells']/1e6:.0f} M cells: {full['seconds']:.2f} s, peak RSS {full['peak_rss_gb']:.2f} GB "
          f"(targets ≤ 30 s, ≤ 4 GB); links {full['links']} ({full['dropped']}), corridor cells {full['corridor_cells']:,}")
    print(f"  stage clock (s from start): {full['stages']}; share of cells each core's bounded CWD reached: "
          f"{full['cutoff_reach']}")

    part_pinch(n, args.repeats)

    print("\n(4) Growth with raster size")
    print("  cells   cost-distance(s)  corridor-run(s)  peak RSS(GB)")
    for m in (1000, 2000, 3000, 4000):
        r2, c2 = synthetic(m)
        v2 = validate_resistance(r2)
        ct2, _, _ = timed(lambda: cost_distance(v2, (c2 == 1).astype(np.int32), CELL, validated=True), args.repeats)
        run = full if m == n else run_sub(m, 2)
        print(f"  {m*m/1e6:5.0f} M  {ct2:12.2f}  {run['seconds']:14.2f}  {run['peak_rss_gb']:10.2f}", flush=True)
    print(f"Load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
