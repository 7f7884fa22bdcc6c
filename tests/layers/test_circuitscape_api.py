"""Circuitscape's raster scenarios through the API (/api/v1/corridors/circuitscape/): every option of
``manage.py circuitscape CONFIG.ini``, inputs uploaded with POST /api/v1/corridors/inputs/, run as a job.

The spec is Circuitscape.jl's own published outputs (tests/layers/fixtures/circuitscape, as in
test_circuitscape_compat.py): each .ini is turned into an API body key by key (its files uploaded), run through
the API, and the downloaded ``_resistances.out`` and maps are compared with Circuitscape.jl's expected files
with its tolerances — and with what the command writes for the same .ini (the same numbers, byte for byte).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from jobs.models import Job
from layers.corridors import circuitscape_runs as cs_runs
from layers.corridors.circuitscape_files import _file, _flag, read_ini, run_config
from tests.layers.strip import strip_files

pytestmark = pytest.mark.django_db

FIX = Path(__file__).parent / "fixtures" / "circuitscape"
VERIFY = FIX / "output_verify"
RES_TOL = math.sqrt(1e-6)  # Circuitscape.jl check_resistances
MAP_TOL = 1e-6  # Circuitscape.jl compare_aagrid
URL = "/api/v1/corridors/circuitscape/"
SCENARIO = {"one-to-all": "one-to-all", "one_to_all": "one-to-all", "all-to-one": "all-to-one",
            "all_to_one": "all-to-one", "advanced": "advanced", "pairwise": "pairwise"}
# every one-to-all, all-to-one and advanced case of Circuitscape.jl (but those with .gz inputs, which the
# upload does not take) and pairwise cases with text point lists, included pairs and polygons
CASES = ([f"one_to_all/{i}/oneToAllVerify{i}" for i in range(1, 14)]
         + [f"all_to_one/{i}/allToOneVerify{i}" for i in range(1, 13)]
         + [f"advanced/{i}/mgVerify{i}" for i in (1, 2, 4, 5, 6)]
         + [f"pairwise/{i}/sgVerify{i}" for i in (1, 5, 13, 17)])


def asc(path: Path) -> np.ndarray:
    return np.loadtxt(path, skiprows=6, ndmin=2)


def upload(client, path: Path, kind: str | None = None):
    kind = kind or ("list" if path.suffix == ".txt" else "grid")
    with open(path, "rb") as fh:
        return client.post("/api/v1/corridors/inputs/", {"kind": kind, "file": fh})


def body_from_ini(client, ini: Path) -> dict:
    """The API body of a Circuitscape .ini: its keys as they are, each file it uses uploaded."""
    cfg = read_ini(ini)
    scenario = SCENARIO[cfg["scenario"]]
    body = {"scenario": scenario, "output_file": ini.stem}
    body.update({k: _flag(cfg, k, str(d)) for k, d in cs_runs.FLAGS.items() if k in cfg})
    body.update({k: cfg[k] for k in cs_runs.CHOICES if cfg.get(k) not in (None, "not entered")})
    for key, (_kinds, scenarios, switch) in cs_runs.FILES.items():
        path = _file(cfg, key, FIX)
        if scenario not in scenarios or path is None or (switch and not _flag(cfg, switch)):
            continue
        assert path.suffix != ".gz"
        r = upload(client, path)
        assert r.status_code == 201, r.content
        body[key] = r.json()
    return body


@pytest.fixture
def analyst(client, make_user, settings):
    settings.CORRIDORS_BACKGROUND = False  # the job runs inline, through the worker's code
    client.force_login(make_user("analista", "Analista CVC"))
    return client


@pytest.mark.parametrize("case", CASES, ids=[c.split("/")[-1] for c in CASES])
def test_api_run_matches_circuitscape_jl_and_the_command(case, analyst, tmp_path):
    ini = FIX / "input" / "raster" / f"{case}.ini"
    stem = ini.stem
    body = body_from_ini(analyst, ini)
    r = analyst.post(URL, body, content_type="application/json")
    assert r.status_code == 202, r.content
    run = analyst.get(r.json()["urls"]["self"]).json()
    assert run["state"] == "done", run
    downloads = run["downloads"]
    command = run_config(ini, base_dir=FIX, output_dir=tmp_path)  # the command on the same .ini
    assert sorted(downloads) == sorted(Path(f).name for f in command["files"])
    got = {}
    for name, url in downloads.items():
        resp = analyst.get(url)
        assert resp.status_code == 200 and resp["Content-Type"].startswith("text/plain"), name
        assert f'filename="{name}"' in resp["Content-Disposition"]
        got[name] = b"".join(resp.streaming_content)
        assert got[name] == (tmp_path / name).read_bytes(), f"{name} differs from the command's"
        (tmp_path / f"api-{name}").write_bytes(got[name])
    if stem.startswith("mg"):  # advanced: no resistance table, as Circuitscape
        assert f"{stem}_resistances.out" not in got
    else:
        expected = np.loadtxt(VERIFY / f"{stem}_resistances.out", ndmin=2)
        ours = np.loadtxt(tmp_path / f"api-{stem}_resistances.out", ndmin=2)
        assert ours.shape == expected.shape
        np.testing.assert_allclose(ours, expected, rtol=0, atol=RES_TOL)
        np.testing.assert_allclose(np.asarray(run["report"]["resistances"]), expected, rtol=0, atol=RES_TOL)
    maps = [n for n in got if n.endswith(".asc")]
    if any(body.get(k) for k in ("write_cur_maps", "write_volt_maps", "write_cum_cur_map_only")):
        assert maps
    for name in maps:
        ref = VERIFY / name
        assert ref.exists(), f"{name}: Circuitscape.jl writes no such map"
        assert ((asc(tmp_path / f"api-{name}") - asc(ref)) ** 2).sum() < MAP_TOL, name


def test_one_to_all_and_all_to_one_runs_are_jobs_and_cached(analyst):
    ini = FIX / "input/raster/all_to_one/1/allToOneVerify1.ini"
    body = body_from_ini(analyst, ini)
    first = analyst.post(URL, body, content_type="application/json")
    assert first.status_code == 202, first.content.decode()
    job = Job.objects.get(pk=first.json()["id"])
    assert job.kind == "circuitscape" and job.state == "done" and job.owner.username == "analista"
    assert job.params["options"]["scenario"] == "all-to-one"
    again = analyst.post(URL, body, content_type="application/json")
    assert again.status_code == 200 and again.json()["cached"] and again.json()["id"] == job.pk
    listed = analyst.get(URL).json()["runs"]
    assert [r["id"] for r in listed] == [job.pk]
    other = analyst.post(URL, {**body, "scenario": "one-to-all"}, content_type="application/json")
    assert other.status_code == 202 and other.json()["id"] != job.pk
    assert other.json()["downloads"]  # a one-to-all run of the same inputs


# ------------------------------------------------------------------------------------------------ 4xx


def _small_body(client) -> dict:
    ini = FIX / "input/raster/one_to_all/1/oneToAllVerify1.ini"
    return body_from_ini(client, ini)


def test_bad_mode_lists_the_valid_ones(analyst):
    body = _small_body(analyst)
    r = analyst.post(URL, {**body, "scenario": "todos-contra-todos"}, content_type="application/json")
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "«scenario»" in detail and all(m in detail for m in ("pairwise", "one-to-all", "all-to-one", "advanced"))
    r = analyst.post(URL, {k: v for k, v in body.items() if k != "scenario"}, content_type="application/json")
    assert r.status_code == 400 and "Falta el parámetro «scenario»" in r.json()["detail"]


@pytest.mark.parametrize("change, status, text", [
    ({"connect_four_neighbors_only": "quizá"}, 400, "debe ser verdadero o falso"),
    ({"remove_src_or_gnd": "todo"}, 400, "keepall, rmvsrc, rmvgnd, rmvall"),
    ({"solver": "magia"}, 400, "cg+amg"),
    ({"output_file": "../fuera"}, 400, "sin carpetas"),
    ({"use_polygons": True}, 400, "claves desconocidas: use_polygons"),
    ({"point_file": None}, 400, "El modo one-to-all necesita «point_file»"),
    ({"source_file": "0" * 32 + ".asc"}, 400, "«source_file» no se usa en el modo one-to-all"),
    ({"habitat_file": "../../etc/passwd"}, 400, "referencia que devolvió la subida"),
    ({"habitat_file": "0" * 32 + ".txt"}, 400, "«habitat_file» admite .asc, .tif, .tiff"),
    ({"habitat_file": "0" * 32 + ".asc"}, 404, "ya no está en el servidor"),
])
def test_bad_options_are_spanish_4xx_and_start_nothing(analyst, change, status, text):
    body = {**_small_body(analyst), **change}
    r = analyst.post(URL, {k: v for k, v in body.items() if v is not None}, content_type="application/json")
    assert r.status_code == status and text in r.json()["detail"], r.content.decode()
    assert not Job.objects.filter(kind="circuitscape").exists()


def test_inputs_that_do_not_fit_the_habitat_are_4xx_before_a_job(analyst, tmp_path):
    body = _small_body(analyst)
    small = tmp_path / "puntos.asc"
    small.write_text("ncols 2\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 1\nNODATA_value -9999\n1 0\n0 2\n")
    pts = upload(analyst, small).json()
    r = analyst.post(URL, {**body, "point_file": pts}, content_type="application/json")
    assert r.status_code == 400 and "«puntos.asc» tiene 2×2 celdas" in r.json()["detail"], r.content.decode()
    lst = tmp_path / "lista.txt"
    lst.write_text("1 1.5 1.5\n")  # one point only (the habitat's lower-left cell)
    r = analyst.post(URL, {**body, "point_file": upload(analyst, lst).json()}, content_type="application/json")
    assert r.status_code == 400 and "al menos dos puntos focales" in r.json()["detail"]
    lst.write_text("1 1.5 1.5\n2 0.5 0.5\n")  # the habitat starts at x = y = 1
    r = analyst.post(URL, {**body, "point_file": upload(analyst, lst).json()}, content_type="application/json")
    assert r.status_code == 400 and "punto focal cae fuera del mapa de hábitat" in r.json()["detail"]
    assert not Job.objects.filter(kind="circuitscape").exists()


def test_bad_circuitscape_files_are_refused_at_upload(analyst, tmp_path):
    cases = []
    (tmp_path / "falso.asc").write_text("esto no es una cuadrícula")
    cases.append((upload(analyst, tmp_path / "falso.asc"), 422, "no es una cuadrícula ASCII de ESRI"))
    (tmp_path / "vacia.asc").write_text("ncols 2\nnrows 1\nxllcorner 0\nyllcorner 0\ncellsize 1\n"
                                        "NODATA_value -9999\n-9999 -9999\n")
    cases.append((upload(analyst, tmp_path / "vacia.asc"), 422, "ninguna celda con dato"))
    (tmp_path / "lista.txt").write_text("1 2 3\n2 x 4\n")
    cases.append((upload(analyst, tmp_path / "lista.txt"), 422, "línea 2: «x» no es un número"))
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00\x01")
    cases.append((upload(analyst, tmp_path / "bin.txt"), 422, "no es un texto UTF-8"))
    cases.append((upload(analyst, tmp_path / "lista.txt", "grid"), 400, "extensiones válidas .asc, .tif, .tiff"))
    for resp, status, text in cases:
        assert resp.status_code == status and text in resp.json()["detail"], (status, resp.content.decode())


def test_roles_anonymous_and_users_without_the_role_start_nothing(client, make_user, settings):
    settings.CORRIDORS_BACKGROUND = False
    body = {"scenario": "one-to-all", "habitat_file": "0" * 32 + ".asc"}
    r = client.post(URL, body, content_type="application/json")
    assert r.status_code == 403 and "Analista CVC" in r.json()["detail"]
    assert client.get(URL).status_code == 403
    client.force_login(make_user("sin-rol"))
    r = client.post(URL, body, content_type="application/json")
    assert r.status_code == 403 and "no tiene el rol" in r.json()["detail"]
    assert not Job.objects.filter(kind="circuitscape").exists()


def test_a_run_is_visible_to_its_owner_only_and_files_by_name_only(analyst, make_user, client):
    body = _small_body(analyst)
    run = analyst.post(URL, body, content_type="application/json").json()
    base = run["urls"]["self"]
    assert analyst.get(base + "files/..%2Finforme.json").status_code == 404
    r = analyst.get(base + "files/otro_resistances.out")
    assert r.status_code == 404 and "oneToAllVerify1_resistances.out" in r.json()["detail"]
    assert analyst.post(run["urls"]["cancel"]).status_code == 409  # already finished
    analyst.logout()
    assert analyst.get(base).status_code == 403
    analyst.force_login(make_user("otra", "Analista CVC"))
    assert analyst.get(base).status_code == 404
    assert analyst.get(base + "files/oneToAllVerify1_resistances.out").status_code == 404
    corridor_job = Job.objects.create(kind="corridors", params={"run": 1}, owner=run_owner(run["id"]))
    analyst.force_login(corridor_job.owner)
    assert analyst.get(f"{URL}{corridor_job.pk}/").status_code == 404  # another kind of job


def run_owner(pk):
    return Job.objects.get(pk=pk).owner


# ------------------------------------------------------------------------------------------------ between cores


def _strip_inputs(client, tmp_path, rows=4, cols=9, r=5.0, cell=100.0):
    """The strip of ``strip_files`` uploaded: references named as a corridor run names them."""
    gpkg, tif = strip_files(tmp_path, rows, cols, r, cell)
    refs = [upload(client, gpkg, "cores").json(), upload(client, tif, "resistance").json()]
    return [{"file": ref["file"], "name": ref["name"]} for ref in refs]


@pytest.mark.parametrize("scenario", ["one-to-all", "all-to-one"])
def test_one_to_all_and_all_to_one_between_cores(scenario, analyst, tmp_path):
    """Between the cores of a corridor run, on its resistance: a strip of w rows × l columns of resistance r with
    the cores over its end columns (4 neighbours, resistance averaging) is l − 1 series stages of w parallel
    resistors r, so R = r (l − 1)/w, and 1 A crosses it split evenly: 1/w per cell and solve (two solves)."""
    rows, cols, r = 4, 9, 5.0
    cores, raster = _strip_inputs(analyst, tmp_path, rows, cols, r)
    body = {"scenario": scenario, "cores": {"file": cores, "name_field": "nombre"}, "resistance": {"raster": raster},
            "connect_four_neighbors_only": True, "connect_using_avg_resistances": True, "write_cur_maps": True,
            "write_as_tif": True, "output_file": "franja"}
    resp = analyst.post(URL, body, content_type="application/json")
    assert resp.status_code == 202, resp.content
    run = analyst.get(resp.json()["urls"]["self"]).json()
    assert run["state"] == "done", run
    table = np.asarray(run["report"]["resistances"])
    assert table[:, 0].tolist() == [1, 2]
    expected = r * (cols - 1) / rows if scenario == "one-to-all" else 0.0  # all-to-one writes 0 (Circuitscape)
    np.testing.assert_allclose(table[:, 1], expected, rtol=1e-9)
    notes = " ".join(run["report"]["notes"])
    assert "Región focal 1 = núcleo «Oeste»" in notes and "Región focal 2 = núcleo «Este»" in notes
    import rasterio

    cum = analyst.get(run["downloads"]["franja_cum_curmap.tif"])
    assert cum.status_code == 200 and cum["Content-Type"] == "image/tiff"
    (tmp_path / "cum.tif").write_bytes(b"".join(cum.streaming_content))
    with rasterio.open(tmp_path / "cum.tif") as ds:
        assert ds.crs.to_epsg() == 9377
        np.testing.assert_allclose(ds.read(1)[:, 1:-1], 2 / rows, rtol=1e-9)


def test_between_cores_bad_combinations_are_400(analyst, tmp_path):
    cores, raster = _strip_inputs(analyst, tmp_path)
    base = {"scenario": "one-to-all", "cores": {"file": cores}, "resistance": {"raster": raster}}
    cases = [
        ({**base, "scenario": "advanced"}, "«cores» no se usa en el modo advanced"),
        ({**base, "habitat_map_is_resistances": False}, "habitat_map_is_resistances debe ser verdadero"),
        ({**base, "mask_file": "0" * 32 + ".asc"}, "«mask_file» no se combina con «cores»"),
        ({**base, "resistance": "derivada"}, "Falta el parámetro «cell_size»"),
        ({"scenario": "one-to-all", "cell_size": 100}, "solo se usan con «cores»"),
        ({**base, "cores": {"layer": 7}}, "«cores.layer» debe ser un texto"),
    ]
    for body, text in cases:
        r = analyst.post(URL, body, content_type="application/json")
        assert r.status_code == 400 and text in r.json()["detail"], (text, r.content.decode())
    assert not Job.objects.filter(kind="circuitscape").exists()


def test_the_page_in_spanish_and_english_and_locked_for_visitors(client, settings):
    """/corredores/circuitscape/: every .ini key has its control; a visitor sees it locked with the login link;
    the English catalogue translates it."""
    html = client.get("/corredores/circuitscape/").content.decode()
    for key in (*cs_runs.FILES, *cs_runs.FLAGS, *cs_runs.CHOICES, "scenario", "output_file"):
        assert f"<code>{key}</code>" in html, key
    assert 'id="cs-login-hint"' in html and "Uno a todos (one-to-all)" in html
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/corredores/circuitscape/").content.decode()
    assert "Circuitscape: raster modes" in html and "Short-circuit polygons (optional)" in html
    assert "Mapas de voltaje" not in html


def test_queued_run_cancels_and_the_cap_is_shared_with_corridor_runs(client, make_user, settings):
    """A queued job (the worker would run it) is cancelled at once by its owner; while it waits, the cap
    CORRIDORS_MAX_ACTIVE (corridor and Circuitscape runs together) refuses another run with a 409."""
    settings.CORRIDORS_BACKGROUND = True
    settings.CORRIDORS_MAX_ACTIVE = 1
    client.force_login(make_user("analista", "Analista CVC"))
    body = _small_body(client)
    r = client.post(URL, body, content_type="application/json")
    assert r.status_code == 202 and r.json()["state"] == "queued"
    other = client.post(URL, {**body, "scenario": "all-to-one"}, content_type="application/json")
    assert other.status_code == 409 and "máximo 1" in other.json()["detail"]
    same = client.post(URL, body, content_type="application/json")  # the identical run in progress
    assert same.status_code == 200 and same.json()["cached"] and same.json()["id"] == r.json()["id"]
    c = client.post(r.json()["urls"]["cancel"])
    assert c.status_code == 200 and c.json()["state"] == "cancelled"
    assert client.get(r.json()["urls"]["self"] + "files/oneToAllVerify1_resistances.out").status_code == 404
    assert client.post(URL, {**body, "scenario": "all-to-one"}, content_type="application/json").status_code == 202


def test_downloads_use_the_registered_formats():
    """Circuitscape's outputs (.asc maps, .out tables, .tif maps) are served with geosig.formats' own entries,
    not formats made up by the API."""
    from geosig import formats
    from layers.corridors import api

    assert set(api.CS_FORMATS) == {".asc", ".out", ".tif"}
    assert all(formats.FORMATS.get(key) is not None for key in api.CS_FORMATS.values())
    assert api.CS_DOWNLOAD_TYPES == sorted({formats.FORMATS[k].content_type for k in api.CS_FORMATS.values()})
