"""Circuitscape compatibility: Circuitscape.jl's own raster test cases are the spec.

Fixtures (tests/layers/fixtures/circuitscape, MIT, see its README): every raster .ini of Circuitscape.jl's
test suite that its ``runtests`` runs — pairwise 1–17, one-to-all 1–13, all-to-one 1–12, advanced 1–6 — with
the expected outputs. Compared as Circuitscape.jl compares them (test/test_utils.jl): every resistance within
√1e-6 = 1e-3, every map we write must exist among the expected outputs with Σ(difference²) < 1e-6.

Expected maps we do not write are allowed only for a reason Circuitscape.jl has too (its comparison loop runs
over the files IT writes; the expected folder also holds maps written by the older Python Circuitscape):
the map kind is switched off in the .ini, the pair has no solve (same node: R = 0; excluded or disconnected:
R = −1), the point has no partner left after the included-pairs file, or the old name ``curmap_max``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from geosig import readers
from geosig.errors import DataFileError, InvalidParameter
from layers.corridors import circuitscape as cs
from layers.corridors.circuitscape_files import read_ini, run_config

FIX = Path(__file__).parent / "fixtures" / "circuitscape"
VERIFY = FIX / "output_verify"
CASES = ([f"pairwise/{i}/sgVerify{i}" for i in range(1, 18)]
         + [f"one_to_all/{i}/oneToAllVerify{i}" for i in range(1, 14)]
         + [f"all_to_one/{i}/allToOneVerify{i}" for i in range(1, 13)]
         + [f"advanced/{i}/mgVerify{i}" for i in range(1, 7)])
RES_TOL = math.sqrt(1e-6)  # Circuitscape.jl check_resistances
MAP_TOL = 1e-6  # Circuitscape.jl compare_aagrid: sum of squared differences


def asc(path: Path) -> np.ndarray:
    return np.loadtxt(path, skiprows=6, ndmin=2)


def _allowed_missing(name: str, stem: str, cfg: dict, table) -> bool:
    on = lambda k: cfg.get(k, "False") in ("True", "true", "1")  # noqa: E731
    kind, _, tail = name.removesuffix(".asc").partition("_")
    if kind == "curmap" and tail == "max":
        return True  # the Python Circuitscape's old name of max_curmap
    if kind == "voltmap" and not on("write_volt_maps"):
        return True
    if kind == "curmap" and not (on("write_cur_maps") or on("write_cum_cur_map_only")):
        return True
    if kind in ("cum", "max") and not (on("write_cur_maps") or on("write_cum_cur_map_only")):
        return True
    if table is None or not tail:
        return False
    ids = [int(x) for x in tail.split("_")]
    t = np.asarray(table)
    if len(ids) == 2:  # pairwise: no solve for a pair in one node (0) or excluded/disconnected (−1)
        i, j = (int(np.flatnonzero(t[0, 1:] == k)[0]) + 1 for k in ids)
        return t[i, j] in (0.0, -1.0)
    row = np.flatnonzero(t[:, 0] == ids[0])
    return len(row) == 1 and t[row[0], 1] == -1 and on("use_included_pairs")


@pytest.mark.parametrize("case", CASES, ids=[c.split("/")[-1] for c in CASES])
def test_circuitscape_jl_raster_case(case, tmp_path):
    ini = FIX / "input" / "raster" / f"{case}.ini"
    stem = ini.stem
    report = run_config(ini, base_dir=FIX, output_dir=tmp_path)
    expected_res = VERIFY / f"{stem}_resistances.out"
    if stem.startswith("mg"):
        assert report["resistances"] is None
    else:
        x = np.loadtxt(expected_res, ndmin=2)
        r = np.asarray(report["resistances"])
        assert r.shape == x.shape
        np.testing.assert_allclose(r, x, rtol=0, atol=RES_TOL)
        written = np.loadtxt(tmp_path / f"{stem}_resistances.out", ndmin=2)  # the file says the same
        np.testing.assert_allclose(written, x, rtol=0, atol=RES_TOL)
    cfg = read_ini(ini)
    ours = sorted(p.name for p in tmp_path.glob(f"{stem}_*.asc"))
    if any(cfg.get(k) == "True" for k in ("write_cur_maps", "write_volt_maps", "write_cum_cur_map_only")):
        assert ours, "the .ini asks for maps"
    for name in ours:
        ref = VERIFY / name
        assert ref.exists(), f"{name}: Circuitscape.jl writes no such map"
        a, b = asc(tmp_path / name), asc(ref)
        assert a.shape == b.shape
        assert ((a - b) ** 2).sum() < MAP_TOL, name
    for ref in VERIFY.glob(f"{stem}_*.asc"):
        if ref.name not in ours:
            assert _allowed_missing(ref.name[len(stem) + 1:], stem, cfg, report["resistances"]), ref.name


AMG_CASES = ["pairwise/4/sgVerify4", "pairwise/9/sgVerify9", "one_to_all/3/oneToAllVerify3",
             "all_to_one/4/allToOneVerify4", "advanced/2/mgVerify2"]


@pytest.mark.parametrize("case", AMG_CASES, ids=[c.split("/")[-1] for c in AMG_CASES])
def test_amg_solver_agrees_on_circuitscape_cases(case, tmp_path, monkeypatch):
    """The AMG + CG path (used above 200 000 nodes) on the same cases, forced: same answers."""
    from layers.corridors import circuitscape_files
    monkeypatch.setitem(circuitscape_files.SOLVERS, "cg+amg", "amg")
    monkeypatch.setitem(circuitscape_files.SOLVERS, "cholmod", "amg")
    ini = FIX / "input" / "raster" / f"{case}.ini"
    report = run_config(ini, base_dir=FIX, output_dir=tmp_path)
    if report["resistances"] is not None:
        x = np.loadtxt(VERIFY / f"{ini.stem}_resistances.out", ndmin=2)
        np.testing.assert_allclose(np.asarray(report["resistances"]), x, rtol=0, atol=RES_TOL)
    maps = list(tmp_path.glob("*.asc"))
    assert maps
    for p in maps:
        assert ((asc(p) - asc(VERIFY / p.name)) ** 2).sum() < MAP_TOL, p.name


def test_write_as_tif_writes_the_same_maps_as_geotiff(tmp_path):
    import rasterio
    src = (FIX / "input/raster/pairwise/5/sgVerify5.ini").read_text()
    ini = tmp_path / "sgVerify5.ini"
    ini.write_text(src + "\nwrite_as_tif = True\n")
    run_config(ini, base_dir=FIX, output_dir=tmp_path / "out")
    tifs = sorted((tmp_path / "out").glob("*.tif"))
    assert len(tifs) == len(list(VERIFY.glob("sgVerify5_*map*.asc")))
    for t in tifs:
        with rasterio.open(t) as ds:
            assert ds.nodata == -9999
            assert ((ds.read(1) - asc(VERIFY / (t.stem + ".asc"))) ** 2).sum() < MAP_TOL


def test_unreadable_inputs_and_unwritable_outputs_are_spanish_errors(tmp_path):
    src = (FIX / "input/raster/pairwise/5/sgVerify5.ini").read_text()
    ini = tmp_path / "c.ini"
    ini.write_text(src.replace("input/raster/pairwise/5/cellmap5x5.asc", str(tmp_path / "roto.asc.gz")))
    (tmp_path / "roto.asc.gz").write_bytes(b"no es gzip")
    with pytest.raises(DataFileError, match="No se pudo descomprimir «roto.asc.gz»"):
        run_config(ini, base_dir=FIX, output_dir=tmp_path / "out")
    blocker = tmp_path / "archivo"
    blocker.write_text("x")
    with pytest.raises(DataFileError, match="No se pudieron escribir las salidas"):
        run_config(FIX / "input/raster/pairwise/5/sgVerify5.ini", base_dir=FIX, output_dir=blocker / "sub")


# ------------------------------------------------------------------------------------------------ by hand


def strip_landscape(w, l, r=1.0):
    hab = np.full((w, l), r)
    pts = [(i, 0, 1) for i in range(w)] + [(i, l - 1, 2) for i in range(w)]
    return cs.Landscape(hab, True, points=np.array(pts))


def test_strip_between_two_focal_regions_is_l_minus_1_over_w():
    w, l = 5, 21
    res = cs.compute(strip_landscape(w, l), cs.Options(connectivity=4, averaging="resistance"))
    assert res.resistances[1, 2] == pytest.approx((l - 1) / w, rel=1e-12)
    assert res.resistances[0, 1:].tolist() == [1, 2]


def test_series_chain_resistance_and_conductance_averaging():
    """1×n chain of conductances c: resistance averaging gives Σ (1/c_i + 1/c_{i+1})/2, conductance averaging
    Σ 2/(c_i + c_{i+1}) — computed here by hand from the definition."""
    rng = np.random.default_rng(3)
    c = rng.uniform(0.5, 4.0, 12)
    ls = cs.Landscape(c[None, :], False, points=np.array([[0, 0, 1], [0, 11, 2]]))
    by_res = cs.compute(ls, cs.Options(averaging="resistance")).resistances[1, 2]
    by_cond = cs.compute(ls, cs.Options(averaging="conductance")).resistances[1, 2]
    assert by_res == pytest.approx(np.sum((1 / c[:-1] + 1 / c[1:]) / 2), rel=1e-10)
    assert by_cond == pytest.approx(np.sum(2 / (c[:-1] + c[1:])), rel=1e-10)


def test_short_circuit_polygon_removes_its_resistance():
    """A polygon over cells 3–6 of a 1×10 unit chain: R = 9 − 3 (three resistors inside it are shorted)."""
    hab = np.ones((1, 10))
    poly = np.zeros((1, 10), int)
    poly[0, 3:7] = 5
    ls = cs.Landscape(hab, True, polygons=poly, points=np.array([[0, 0, 1], [0, 9, 2]]))
    assert cs.compute(ls, cs.Options()).resistances[1, 2] == pytest.approx(6.0, rel=1e-12)


def test_focal_region_cells_show_the_total_current_and_cumulative_sums_pairs():
    maps = {}
    ls = strip_landscape(4, 9)
    cs.compute(ls, cs.Options(connectivity=4, write_cur_maps=True, write_volt_maps=True),
               lambda name, grid: maps.__setitem__(name, grid))
    cur = maps["curmap_1_2"]
    np.testing.assert_allclose(cur[:, 0], 1.0)  # every cell of a focal region: the region's total, 1 A
    np.testing.assert_allclose(cur[:, 4], 0.25)  # 1 A over 4 rows
    np.testing.assert_allclose(maps["voltmap_1_2"][:, 0], 0.0)  # first point of the pair at 0 V
    np.testing.assert_allclose(maps["voltmap_1_2"][:, -1], 8 / 4)  # the second at R
    np.testing.assert_allclose(maps["cum_curmap"], cur)  # one pair: cumulative = that pair


def test_disconnected_points_are_minus_one():
    hab = np.ones((3, 7))
    hab[:, 3] = np.nan
    ls = cs.Landscape(hab, True, points=np.array([[1, 0, 1], [1, 6, 2], [0, 1, 3]]))
    t = cs.compute(ls, cs.Options()).resistances
    assert t[1, 2] == -1 and t[2, 3] == -1 and t[1, 3] > 0


def test_pairwise_reuses_one_factorisation_per_component():
    hab = np.random.default_rng(1).uniform(1, 9, (30, 30))
    pts = np.array([[r, c, k + 1] for k, (r, c) in enumerate([(0, 0), (29, 29), (0, 29), (29, 0), (15, 15)])])
    res = cs.compute(cs.Landscape(hab, True, points=pts), cs.Options())
    assert res.factorisations == 1 and res.solves == 10


@pytest.mark.parametrize("solver", ["direct", "amg"])
def test_one_to_all_voltage_over_strength(solver):
    """One-to-all on a chain: the others are grounded, so R_1 = the series resistance to the nearest one."""
    hab = np.ones((1, 9))
    ls = cs.Landscape(hab, True, points=np.array([[0, 0, 1], [0, 4, 2], [0, 8, 3]]))
    t = cs.compute(ls, cs.Options(mode="one-to-all", solver=solver, tol=1e-12)).resistances
    np.testing.assert_allclose(t[:, 1], [4.0, 2.0, 4.0], rtol=1e-8)  # middle: 4 Ω each side in parallel


def test_modes_and_values_are_checked_first_with_the_valid_ones():
    ls = strip_landscape(2, 3)
    with pytest.raises(InvalidParameter, match="pairwise, one-to-all, all-to-one, advanced"):
        cs.compute(ls, cs.Options(mode="todos"))
    with pytest.raises(InvalidParameter, match="resistance, conductance"):
        cs.compute(ls, cs.Options(averaging="media"))
    with pytest.raises(InvalidParameter, match="4, 8"):
        cs.compute(ls, cs.Options(connectivity=6))
    with pytest.raises(InvalidParameter, match="resistencia 0"):
        cs.compute(cs.Landscape(np.zeros((2, 3)), True, points=ls.points), cs.Options())


# ------------------------------------------------------------------------------------------------ files, command


def test_asc_opens_only_as_an_ascii_grid(tmp_path):
    fake = tmp_path / "x.asc"
    fake.write_text("<VRTDataset><VRTRasterBand/></VRTDataset>")
    with pytest.raises(DataFileError):
        readers.open_raster(fake, drivers=readers.GRID_DRIVERS)
    with pytest.raises(InvalidParameter):  # layer uploads keep GeoTIFF only
        readers.open_raster(FIX / "input/raster/pairwise/1/cellmap.asc")


def test_unknown_key_is_refused_listing_the_supported_ones(tmp_path):
    ini = tmp_path / "x.ini"
    ini.write_text("[Circuitscape mode]\nscenario = pairwise\nmagic_option = True\n")
    with pytest.raises(InvalidParameter, match="magic_option.*habitat_file"):
        run_config(ini)
    ini.write_text("scenario = pairwise\ndata_type = network\n")
    with pytest.raises(InvalidParameter, match="raster"):
        run_config(ini)


def test_command_runs_an_ini_and_reports_in_spanish(tmp_path, capsys):
    ini = FIX / "input/raster/pairwise/5/sgVerify5.ini"
    call_command("circuitscape", str(ini), "--base-dir", str(FIX), "--output-dir", str(tmp_path))
    out = capsys.readouterr().out
    assert "sgVerify5_resistances.out" in out and "pairwise" in out
    assert (tmp_path / "sgVerify5_cum_curmap.asc").exists()
    bad = tmp_path / "bad.ini"
    bad.write_text("scenario = todos\n")
    with pytest.raises(CommandError, match="scenario «todos» no válido; use uno de"):
        call_command("circuitscape", str(bad))


# ------------------------------------------------------------------------------------------------ corridors API


def test_corridor_runs_take_circuitscape_circuit_options():
    from layers.corridors import runs
    base = {"cores": {"layer": "runap-centroides", "ids": [17, 216]}, "cell_size": 500, "width": 20000}
    assert "circuit" not in runs.normalise(base)  # absent: the engine's defaults, and the same hash as before
    p = runs.normalise({**base, "circuit": {"connectivity": 4, "averaging": "conductance"}})
    assert p["circuit"] == {"connectivity": 4, "averaging": "conductance", "combine": "max"}
    for bad, text in (({"connectivity": 6}, "4, 8"), ({"averaging": "media"}, "resistance, conductance"),
                      ({"combine": "sum"}, "max, cumulative"), ({"solver": "x"}, "solver")):
        with pytest.raises(InvalidParameter, match=text):
            runs.normalise({**base, "circuit": bad})


def test_bad_circuit_option_is_a_400_and_stores_nothing(db, client, settings, make_user):
    from layers.corridors.models import CorridorRun
    client.force_login(make_user("analista", "Analista CVC"))
    settings.CORRIDORS_BACKGROUND = False
    body = {"cores": {"layer": "runap-centroides", "ids": [17, 216]}, "cell_size": 500, "width": 20000,
            "circuit": {"averaging": "armónico"}}
    r = client.post("/api/v1/corridors/", body, content_type="application/json")
    assert r.status_code == 400 and "circuit.averaging" in r.json()["detail"]
    assert not CorridorRun.objects.exists()


@pytest.mark.parametrize("combine,at_middle_core", [("max", 1.0), ("cumulative", 2.0)])
def test_pinch_points_over_links_max_or_cumulative(combine, at_middle_core):
    """Three cores in a 5×9 strip (columns 0, 4, 8), links 1–2 and 2–3: each link carries 1 A, so every cell
    of the middle core shows 1 A per link — the maximum over links is 1, Circuitscape's cumulative map 2;
    interior cells carry 1/5 A (5 rows in parallel) from one link only."""
    from types import SimpleNamespace

    from layers.corridors.services import _pinch_points
    res = np.ones((5, 9))
    labels = np.zeros(res.shape, int)
    labels[:, 0], labels[:, 4], labels[:, 8] = 1, 2, 3
    cwd = {k: np.zeros(res.shape) for k in (1, 2, 3)}
    links = [SimpleNamespace(a=1, b=2, lcd=0.0, status="ok"), SimpleNamespace(a=2, b=3, lcd=0.0, status="ok")]
    result = SimpleNamespace(cwd=cwd, width=1.0, links=links)
    rows = [{}, {}]
    cur = _pinch_points(res, result, SimpleNamespace(labels=labels), rows, lambda p, m: None, lambda: False,
                        {"connectivity": 4, "averaging": "resistance", "combine": combine})
    np.testing.assert_allclose(cur[:, 4], at_middle_core, rtol=1e-6)
    np.testing.assert_allclose(cur[:, [0, 8]], 1.0, rtol=1e-6)
    np.testing.assert_allclose(cur[:, [2, 6]], 0.2, rtol=1e-6)
    assert rows[0]["effective_resistance"] == pytest.approx(4 / 5)  # 4 unit resistors in series, 5 rows


def test_focal_modes_factor_each_component_once():
    """One-to-all on 6 points of one component: 1 factorisation (6 solves for the focal block + 2 per point),
    and the same resistances as grounding each point's partners by hand with a fresh solve."""
    hab = np.random.default_rng(5).uniform(1, 9, (20, 20))
    cells = [(0, 0), (19, 19), (0, 19), (19, 0), (10, 10), (5, 14)]
    pts = np.array([[r, c, k + 1] for k, (r, c) in enumerate(cells)])
    out = cs.compute(cs.Landscape(hab, True, points=pts), cs.Options(mode="one-to-all", connectivity=4))
    assert out.factorisations == 1 and out.solves == 6 + 2 * 6
    net = cs.network(cs.conductances(cs.Landscape(hab, True)), None, cs.Options(connectivity=4))
    lap = net.laplacian().toarray()
    nodes = [net.node[r, c] for r, c in cells]
    for i, n in enumerate(nodes):  # by hand: delete the grounded rows/columns, inject 1 A at the source
        keep = [k for k in range(net.n) if k not in set(nodes) - {n}]
        v = np.linalg.solve(lap[np.ix_(keep, keep)], np.eye(len(keep))[keep.index(n)])
        assert out.resistances[i, 1] == pytest.approx(v[keep.index(n)], rel=1e-9)


def test_log_transform_and_null_currents_on_pair_maps():
    """log_transform_maps: log10 of the current where > 0, −9999 elsewhere; set_null_currents_to_nodata: −9999
    on cells with no habitat. A 1×5 chain with a gap: 1 A through cells 0–2 (log10 1 = 0)."""
    hab = np.array([[1.0, 1.0, 1.0, np.nan, 1.0]])
    ls = cs.Landscape(hab, True, points=np.array([[0, 0, 1], [0, 2, 2], [0, 4, 3]]))
    maps = {}
    cs.compute(ls, cs.Options(write_cur_maps=True, log_transform=True, null_currents_to_nodata=True),
               lambda name, grid: maps.__setitem__(name, grid))
    np.testing.assert_allclose(maps["curmap_1_2"], [[0.0, 0.0, 0.0, -9999, -9999]])
    assert "curmap_1_3" not in maps  # disconnected: −1 and no map
