"""Synthetic city systems for bench_city_balance.py: a country-size system (1,122 municipalities,
10,000 centros poblados, full travel-time matrix) and the real Valle read straight from the raw files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


def country(n=1122, m=10_000, groups=33, seed=1):
    """Municipalities scattered over a 1,000 × 1,400 km box, Pareto populations, travel time = road-like
    km (euclidean × 1.3) ÷ 50 km/h; centros poblados around their municipality's seat."""
    from cities.services.balance import SystemData

    rng = np.random.default_rng(seed)
    xy = rng.uniform([0, 0], [1000, 1400], size=(n, 2))
    pop = np.round((rng.pareto(1.05, n) + 1) * 3_000)
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    t = d * 1.3 / 50.0
    gx = np.clip((xy[:, 0] / 1000 * 5).astype(int), 0, 4)
    gy = np.clip((xy[:, 1] / 1400 * 7).astype(int), 0, 6)
    grp = np.array([f"D{(a * 7 + b) % groups:02d}" for a, b in zip(gx, gy)])
    cm = rng.integers(0, n, m)
    ckm = rng.gamma(2.0, 6.0, m)
    return SystemData(
        codes=np.array([f"{i:05d}" for i in range(n)]), names=[f"M{i}" for i in range(n)], subregion=grp,
        subregion_names={g: g for g in np.unique(grp)}, area_km2=rng.uniform(50, 3000, n), population=pop,
        travel_h=t, lon=xy[:, 0], lat=xy[:, 1], centre_municipality=cm, centre_km=ckm,
        meta={"system_name": "País sintético"})


def valle(raw: Path):
    """The Valle's 42 cabeceras (2018 urban population), real matrix and 527 centros poblados, from the
    raw files (no database), as the balance computation sees them."""
    from pyproj import Transformer

    from cities.services.balance import SystemData

    facts = pd.read_csv(raw / "facts/valle_municipios_facts.csv", dtype={"divipola": str}).sort_values("divipola")
    sub = pd.read_csv(raw / "facts/valle_subregiones.csv", dtype={"divipola": str}).set_index("divipola")
    mat = pd.read_csv(raw / "network/valle_travel_time_hours_matrix.csv", dtype={"from_divipola": str})
    mat = mat.set_index("from_divipola")
    codes = facts["divipola"].tolist()
    t = mat.loc[codes, codes].to_numpy(float)
    feats = json.loads((raw / "network/valle_centros_poblados_divipola2017.geojson").read_text())["features"]
    others = [f["properties"] for f in feats if not f["properties"]["is_cabecera_municipal"]]
    idx = {c: i for i, c in enumerate(codes)}
    cm = np.array([idx[p["divipola"]] for p in others])
    tr = Transformer.from_crs(4326, 9377, always_xy=True)
    cx, cy = tr.transform([p["lon"] for p in others], [p["lat"] for p in others])
    hx, hy = tr.transform(facts["cabecera_lon"].to_numpy()[cm], facts["cabecera_lat"].to_numpy()[cm])
    return SystemData(
        codes=np.array(codes), names=facts["nombre_mgn2021"].tolist(),
        subregion=sub.loc[codes, "subregion_dane2005"].to_numpy(),
        subregion_names={}, area_km2=facts["area_km2_mgn2021_official"].to_numpy(float),
        population=facts["pop2018_adj_cabecera"].to_numpy(float), travel_h=t,
        lon=facts["cabecera_lon"].to_numpy(), lat=facts["cabecera_lat"].to_numpy(),
        centre_municipality=cm, centre_km=np.hypot(np.array(cx) - hx, np.array(cy) - hy) / 1000,
        meta={"system_name": "Valle del Cauca"})
