"""Benchmark: the whole city-system balance (issue 3) vs a straightforward pandas/loop implementation.

Systems:
  * Valle: 42 municipalities (2018 urban population), the real 42×42 travel matrix, 527 other centros
    poblados — read from data/raw (no database); plus the full ``balance_report`` with its database reads
    when the cities are loaded in DATABASE_URL's database.
  * Country: synthetic 1,122 municipalities, 10,000 centros poblados, full 1,122×1,122 travel matrix.

For each: median wall time of ``compute_balance`` (rank-size OLS + Gabaix–Ibragimov, primacy, Gini, Lorenz,
Theil + decomposition + 99 permutations, HHI, entropy, gravity, Hansen, nearest intermediate city, city
graph + betweenness/closeness, centro access, per-subregion balance), peak Python memory (tracemalloc, a
separate run), the same for the naive peer, their ratio, and a check that both give the same numbers.
Targets: Valle < 1 s, country < 5 s.

    .venv/bin/python bench/bench_city_balance.py [--repeats 5] [--naive-repeats 1]
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geosig.settings")

import django  # noqa: E402

django.setup()

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from django.conf import settings  # noqa: E402

from cities.services.balance import BalanceParams, compute_balance  # noqa: E402
from cities_synthetic import country, valle  # noqa: E402


# ---------------------------------------------------------------- the naive peer
def naive_balance(d, p: BalanceParams) -> dict:
    """The same indicators written the obvious way: Python loops over cities and pairs, pandas groupby
    for groups, networkx for every graph measure."""
    pop = [float(x) for x in d.population]
    n = len(pop)
    t = [[float(v) for v in row] for row in d.travel_h]
    total = sum(pop)
    out = {}
    # rank-size (both fits) by hand
    srt = sorted(pop, reverse=True)
    for name, shift in (("ols", 0.0), ("gi", 0.5)):
        xs = [math.log(s) for s in srt if s >= p.rank_size_min]
        ys = [math.log(r + 1 - shift) for r in range(len(xs))]
        xm, ym = sum(xs) / len(xs), sum(ys) / len(ys)
        b = sum((x - xm) * (y - ym) for x, y in zip(xs, ys)) / sum((x - xm) ** 2 for x in xs)
        out[f"zipf_{name}"] = -b
    out["primacy_2"] = srt[0] / srt[1]
    out["primacy_4"] = srt[0] / sum(srt[1:4])
    # Gini as mean absolute difference
    mad = 0.0
    for a in pop:
        for b in pop:
            mad += abs(a - b)
    out["gini"] = mad / (2 * n * n * (total / n))
    out["theil"] = sum((s / total) * math.log(n * s / total) for s in pop)
    df = pd.DataFrame({"pop": pop, "g": list(d.subregion)})

    def between(frame):
        gsum = frame.groupby("g")["pop"].agg(["sum", "count"])
        return sum((r["sum"] / total) * math.log((r["sum"] / total) / (r["count"] / n)) for _, r in gsum.iterrows())

    bg = between(df)
    out["theil_between"] = bg
    rng = np.random.default_rng(p.seed)
    hits = 0
    for _ in range(p.permutations):
        sh = df.copy()
        sh["pop"] = rng.permutation(sh["pop"].to_numpy())
        hits += between(sh) >= bg - 1e-12
    out["theil_p"] = (1 + hits) / (p.permutations + 1)
    out["hhi"] = sum((s / total) ** 2 for s in pop)
    out["entropy"] = -sum((s / total) * math.log(s / total) for s in pop) / math.log(n)
    # gravity and Hansen, pair by pair
    grav = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i != j:
                grav[i][j] = pop[i] * pop[j] / max(t[i][j], p.min_travel_h) ** p.gravity_beta
    out["gravity_sum"] = sum(map(sum, grav))
    out["hansen"] = [sum(pop[j] * math.exp(-p.hansen_decay * t[i][j]) for j in range(n)) for i in range(n)]
    inter = [j for j in range(n) if pop[j] >= p.intermediate_min]
    near = [min(t[i][j] for j in inter) for i in range(n)]
    out["nearest"] = near
    # city graph: k nearest neighbours by time, then networkx for both centralities
    g = nx.Graph()
    g.add_nodes_from(range(n))
    for i in range(n):
        nbrs = sorted((j for j in range(n) if j != i), key=lambda j: t[i][j])[: p.graph_neighbours]
        for j in nbrs:
            g.add_edge(i, j, weight=max(t[i][j], p.min_travel_h))
    bet = nx.betweenness_centrality(g, weight="weight", normalized=True)
    clo = nx.closeness_centrality(g, distance="weight")
    out["closeness"] = [clo[i] for i in range(n)]
    out["betweenness"] = [bet[i] for i in range(n)]
    # centros poblados
    ok = 0
    for muni, km in zip(d.centre_municipality, d.centre_km):
        ok += km * p.local_detour / p.local_speed_kmh + near[int(muni)] <= p.access_threshold_h
    out["centres_with_access_pct"] = 100 * ok / max(len(d.centre_km), 1)
    # per-subregion balance
    df["area"] = list(d.area_km2)
    df["near"] = near
    df["hansen"] = out["hansen"]
    df["inter"] = [p.intermediate_min <= s < p.metropolis_min for s in pop]
    rows = []
    for gname, gr in df.groupby("g"):
        w = gr["pop"] / gr["pop"].sum()
        rows.append({"g": gname, "pop_share": gr["pop"].sum() / total, "area_share": gr["area"].sum() / df["area"].sum(),
                     "inter": int(gr["inter"].sum()), "wtime": float((w * gr["near"]).sum()),
                     "whansen": float((w * gr["hansen"]).sum())})
    out["subregions"] = rows
    return out


def compare(fast, naive, d) -> list[str]:
    """Names of the indicators where the two implementations disagree (should be empty)."""
    m = {x.key: x.value for x in fast.measures}
    bad = []
    checks = {"gini": (m["gini"], naive["gini"]), "theil": (m["theil"], naive["theil"]),
              "theil_between": (m["theil_between"], naive["theil_between"]), "hhi": (m["hhi"], naive["hhi"]),
              "entropy": (m["entropy"], naive["entropy"]), "zipf_gi": (m["zipf_gi"], naive["zipf_gi"]),
              "zipf_ols": (m["zipf_ols"], naive["zipf_ols"]), "primacy_2": (m["primacy_2"], naive["primacy_2"]),
              "primacy_4": (m["primacy_4"], naive["primacy_4"]),
              "centres_with_access": (m["centres_with_access"], naive["centres_with_access_pct"])}
    for k, (a, b) in checks.items():
        # the report rounds percentages to 0.1 and indices to 4 decimals
        if not math.isclose(a, b, rel_tol=1e-3, abs_tol=0.05 if k == "centres_with_access" else 1e-3):
            bad.append(f"{k}: {a} vs {b}")
    rows = {r["code"]: r for r in fast.table("municipios").rows}
    codes = [str(c) for c in d.codes]
    for key, naive_vals, tol in (("hansen", naive["hansen"], 1.0), ("closeness", naive["closeness"], 1e-4),
                                 ("time_to_intermediate_h", naive["nearest"], 0.01),
                                 ("betweenness", naive["betweenness"], 1e-4)):
        fast_vals = [rows[c][key] for c in codes]
        if not np.allclose(fast_vals, naive_vals, rtol=1e-3, atol=tol):
            bad.append(key)
    return bad


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t0)
    return res, times


def peak_mb(fn):
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2 ** 20


def run(label, data, repeats, naive_repeats, target):
    p = BalanceParams()
    compute_balance(data, p)  # warm-up: imports, first-call costs
    fast, ft = timed(lambda: compute_balance(data, p), repeats)
    naive, nt = timed(lambda: naive_balance(data, p), naive_repeats)
    fmem = peak_mb(lambda: compute_balance(data, p))
    nmem = peak_mb(lambda: naive_balance(data, p))
    med, nmed = statistics.median(ft), statistics.median(nt)
    p95 = float(np.percentile(ft, 95))
    bad = compare(fast, naive, data)
    print(f"\n== {label}: {len(data.codes):,} municipalities, {len(data.centre_km):,} centros, "
          f"matrix {data.travel_h.shape[0]}×{data.travel_h.shape[1]}")
    print(f"  compute_balance : median {med:.3f} s, p95 {p95:.3f} s ({repeats} runs), peak {fmem:.1f} MiB"
          f"  [target < {target} s: {'OK' if med < target else 'MISSED'}]")
    print(f"  naive peer      : median {nmed:.3f} s ({naive_repeats} runs), peak {nmem:.1f} MiB")
    print(f"  ratio naive/ours: {nmed / med:.1f}× faster; memory {nmem / max(fmem, 1e-9):.1f}×")
    print("  same numbers    : " + ("yes (Gini, Theil, between, HHI, entropy, Zipf ×2, primacy ×2, Hansen, "
                                    "closeness, betweenness, time to intermediate, centro access)" if not bad else f"NO: {bad}"))
    print(f"  betweenness     : ours {fast.meta['centrality_engine']}, peer networkx (exact in both)")
    return med


def run_db(repeats):
    """The full service with its database reads (cities must be loaded in DATABASE_URL's database)."""
    from cities.models import City
    from cities.services.report import balance_report

    try:
        if City.objects.count() == 0:
            print("\n(balance_report con base de datos: omitido, ejecute load_cities en DATABASE_URL)")
            return
    except Exception as exc:  # no database reachable: the pure benchmark still stands
        print(f"\n(balance_report con base de datos: omitido: {exc})")
        return
    balance_report(2018, "cabecera")
    _, times = timed(lambda: balance_report(2018, "cabecera"), repeats)
    print(f"\n== Valle, full balance_report(2018, 'cabecera') incl. database reads: median "
          f"{statistics.median(times):.3f} s ({repeats} runs)")


def cold_start():
    """First country-size computation in a fresh process (imports + numba loading its on-disk cache, or
    compiling when there is none)."""
    import subprocess

    code = ("import os,sys,time; sys.path[:0]=[%r,%r]; os.environ.setdefault('DJANGO_SETTINGS_MODULE','geosig.settings');"
            "import django; django.setup(); from cities_synthetic import country;"
            "from cities.services.balance import compute_balance; d=country(); t=time.perf_counter();"
            "compute_balance(d); print(time.perf_counter()-t)") % (str(ROOT), str(ROOT / "bench"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    if out.returncode == 0:
        print(f"\n== Country, first call in a fresh process: {float(out.stdout.strip().splitlines()[-1]):.3f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--naive-repeats", type=int, default=1)
    a = ap.parse_args()
    run("Valle del Cauca (real data, 2018 urban population)", valle(Path(settings.GEOSIG_RAW_DIR)), a.repeats,
        max(a.naive_repeats, 3), 1.0)
    run("Synthetic country", country(), a.repeats, a.naive_repeats, 5.0)
    cold_start()
    run_db(a.repeats)


if __name__ == "__main__":
    main()
