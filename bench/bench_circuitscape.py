"""Benchmark: Circuitscape-compatible pairwise mode — one factorisation reused across the pairs of a run vs
one solve from scratch per pair (the same engine's pinch_points, which assembles and factors each pair).

Synthetic resistance (fixed seed): smooth noise mapped to 1–100 with 10 % nodata cells, on an N × N grid;
K single-cell focal points (fixed seed), 8 neighbours, averaging of resistances, no maps (resistances only),
solver SuperLU for both (below 200 000 nodes) and, with --amg, AMG + CG for both. Both give the same matrix
of effective resistances (checked: max relative difference printed). Julia/Circuitscape.jl is not installed
on this machine, so the peer measured in the same run is the per-pair baseline.

    .venv/bin/python bench/bench_circuitscape.py [--size 300] [--points 10] [--repeats 3] [--amg]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layers.corridors import circuitscape as cs  # noqa: E402
from layers.corridors.circuit import pinch_points  # noqa: E402


def landscape(n: int, k: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    coarse = rng.random((n // 10 + 2, n // 10 + 2))
    fine = np.kron(coarse, np.ones((10, 10)))[:n, :n] + 0.3 * rng.random((n, n))
    res = 1 + 99 * (fine - fine.min()) / (fine.max() - fine.min())
    res[rng.random((n, n)) < 0.10] = np.nan
    cells = np.argwhere(np.isfinite(res))
    pick = cells[rng.choice(len(cells), k, replace=False)]
    pts = np.column_stack([pick, np.arange(1, k + 1)])
    return res, pts


def per_pair(res, pts, solver):
    k = len(pts)
    out = -np.ones((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            a = np.zeros(res.shape, bool)
            b = np.zeros(res.shape, bool)
            a[tuple(pts[i, :2])] = True
            b[tuple(pts[j, :2])] = True
            try:
                out[i, j] = out[j, i] = pinch_points(res, a, b, connectivity=8, solver=solver, tol=1e-10).resistance
            except Exception:  # no path between the two: −1, like Circuitscape
                pass
    np.fill_diagonal(out, 0)
    return out


def timed(fn, repeats):
    times, value = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=300)
    ap.add_argument("--points", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--amg", action="store_true")
    a = ap.parse_args()
    res, pts = landscape(a.size, a.points)
    solver = "amg" if a.amg else "direct"
    ls = cs.Landscape(res, True, points=pts)
    opts = cs.Options(connectivity=8, averaging="resistance", solver=solver, tol=1e-10)
    t_reuse, r = timed(lambda: cs.compute(ls, opts), a.repeats)
    t_pair, base = timed(lambda: per_pair(res, pts, solver), a.repeats)
    ours = r.resistances[1:, 1:]
    both = (ours > 0) & (base > 0)
    rel = float(np.max(np.abs(ours[both] - base[both]) / base[both])) if both.any() else float("nan")
    print(f"grid {a.size}×{a.size} ({np.isfinite(res).sum():,} nodes), {a.points} points "
          f"({a.points * (a.points - 1) // 2} pairs), solver {solver}, median of {a.repeats}")
    print(f"  one factorisation per component: {t_reuse:8.3f} s  ({r.factorisations} factorisation(s), "
          f"{r.solves} solves)")
    print(f"  one solve from scratch per pair: {t_pair:8.3f} s")
    print(f"  ratio reuse / per-pair: {t_reuse / t_pair:.3f}   max relative difference: {rel:.2e}")


if __name__ == "__main__":
    main()
