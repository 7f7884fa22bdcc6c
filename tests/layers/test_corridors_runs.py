"""Corridor runs: parameters checked before anything is stored, the active-run cap under parallel requests,
results read back from disk."""
import json
import threading
import time
from pathlib import Path

import pytest
from django.db import connections

from geosig.errors import ConflictError, InvalidParameter, NotFound
from layers.corridors import runs
from layers.corridors.models import CorridorRun

BASE = {"cores": {"layer": "runap-centroides", "ids": [17, 216]}, "cell_size": 500, "width": 20000}


@pytest.mark.parametrize("key,value", [
    ("cell_size", -1), ("cell_size", 0), ("cell_size", 0.5), ("cell_size", "inf"), ("cell_size", "nan"),
    ("width", 0), ("width", "-Infinity"), ("point_radius", -1), ("max_link_cwd", 0), ("dispersal", "nan"),
    ("margin_m", -100), ("pinch", "quizás"), ("pinch", 2),
])
def test_bad_parameters_are_a_400_and_store_nothing(db, client, settings, make_user, key, value):
    client.force_login(make_user("analista", "Analista CVC"))
    settings.CORRIDORS_BACKGROUND = False  # had validation been left to the run, it would finish (failed) here
    r = client.post("/api/v1/corridors/", {**BASE, key: value}, content_type="application/json")
    assert r.status_code == 400, r.content
    assert r.json()["error"] == "invalid_parameter" and key in r.json()["detail"]
    assert not CorridorRun.objects.exists()


def test_normalise_accepts_the_edges_and_parses_booleans_strictly():
    p = runs.normalise({**BASE, "point_radius": 0, "margin_m": "0", "cell_size": "1.5"})
    assert (p["point_radius"], p["margin_m"], p["cell_size"], p["pinch"]) == (0.0, 0.0, 1.5, True)
    for raw, expected in ((False, False), ("false", False), ("FALSE", False), ("0", False), (0, False),
                          (True, True), ("true", True), (" True ", True), ("1", True), (1, True)):
        assert runs.normalise({**BASE, "pinch": raw})["pinch"] is expected, raw
    assert runs.normalise({**BASE, "pinch": "no"})["pinch"] is False  # sí/no as in every other parameter
    with pytest.raises(InvalidParameter, match="«pinch» debe ser verdadero o falso"):
        runs.normalise({**BASE, "pinch": "quizás"})


@pytest.mark.parametrize("body, text", [
    ({"cores": {"layer": ["x"]}}, "«cores.layer» debe ser un texto"),
    ({"cores": {"layer": {}}}, "«cores.layer» debe ser un texto"),
    ({"cores": {"layer": "x", "ids": [[1]]}}, "«cores.ids» debe ser un número entero"),
    ({"cores": {"layer": "x", "ids": list(range(6000))}}, "«cores.ids» admite como máximo 5000"),
    ({"cores": {"layer": "x", "otra": 1}}, "claves desconocidas: otra"),
    ({"cores": [1]}, "«cores» debe ser un objeto JSON"),
    ({"cores": {"geojson": "[1]"}}, "«cores.geojson» debe ser un objeto JSON"),
    ({"resistance": [{"layer": []}]}, "fuente n.º 1: Falta el parámetro «source»"),
    ({"resistance": [{"source": "slope", "layer": []}]}, "fuente n.º 1: «layer» debe ser un texto"),
    ({"resistance": [{"source": "proximity", "scale": 0}]}, "«scale» debe ser mayor que 0"),
    ({"resistance": [{"source": "slope", "data": "x"}]}, "claves desconocidas: data"),
    ({"resistance": [{"source": "landcover", "table": {"a": 1}}]}, r"«table \(clase\)» debe ser un número"),
    ({"resistance": 5}, "«resistance» debe ser «derivada» o una lista"),
    ({"resistance": {"a": 1}}, "claves desconocidas: a. Válidas: layer, raster, table"),
    ({"resistance": {"raster": {"file": "../../etc/passwd.tif"}}}, "la referencia que devolvió la subida"),
    ({"resistance": {"raster": "x.tif"}}, "«resistance.raster» debe ser un objeto JSON"),
    ({"cores": {"file": {"file": "/etc/passwd", "name": "x"}}}, "la referencia que devolvió la subida"),
    ({"project": ["x"]}, "«project» debe ser un texto"),
    ({"base": -1}, "«base» debe ser ≥ 0"),
    ({"resistance": "otra"}, "«resistance» no admite 'otra'"),
    ({"resistance": [{"source": "slope"}] * 21}, "como máximo 20 fuentes"),
    ({"area_field": ["x"]}, "«area_field» debe ser un texto"),
])
def test_malformed_cores_and_recipes_are_refused_by_name(body, text):
    with pytest.raises(InvalidParameter, match=text):
        runs.normalise({**BASE, **body})


@pytest.mark.django_db(transaction=True)
def test_parallel_starts_cannot_exceed_the_active_cap(settings, monkeypatch):
    settings.CORRIDORS_MAX_ACTIVE = 1
    monkeypatch.setattr(runs, "execute", lambda pk: None)  # runs stay pending: only the cap is under test
    create = CorridorRun.objects.create

    def slow_create(**kw):
        time.sleep(0.5)  # widen the gap between the count and the insert, as a loaded server would
        return create(**kw)

    monkeypatch.setattr(CorridorRun.objects, "create", slow_create)
    start = threading.Barrier(2, timeout=10)
    outcome = []

    def post(width):
        try:
            start.wait()
            runs.start_run({**BASE, "width": width}, background=False)
            outcome.append("started")
        except ConflictError:
            outcome.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(w,)) for w in (20000, 25000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcome) == ["conflict", "started"]
    assert CorridorRun.objects.filter(status=CorridorRun.Status.PENDING).count() == 1


def test_read_results_returns_the_map_and_current_overlay(db, media):
    run = CorridorRun.objects.create(inputs_hash="r" * 64, params={}, status=CorridorRun.Status.DONE,
                                     result_dir="corridors/7")
    out = Path(media) / "corridors" / "7"
    out.mkdir(parents=True)
    mapa = {"cores": {"type": "FeatureCollection", "features": []}}
    (out / "mapa.json").write_text(json.dumps(mapa), encoding="utf-8")
    assert runs.read_results(run) == (mapa, None)  # a run without pinch points has no overlay
    (out / "corriente.json").write_text(json.dumps({"bounds": [[3.3, -76.7], [3.5, -76.5]]}))
    assert runs.read_results(run) == (mapa, {"bounds": [[3.3, -76.7], [3.5, -76.5]]})
    CorridorRun.objects.filter(pk=run.pk).update(status=CorridorRun.Status.FAILED)
    run.refresh_from_db()
    with pytest.raises(NotFound, match="no tiene resultados"):
        runs.read_results(run)


@pytest.mark.django_db
def test_circuitscape_jobs_in_progress_count_against_the_corridor_cap(settings, monkeypatch):
    """CORRIDORS_MAX_ACTIVE caps corridor and Circuitscape runs together, from both sides: a Circuitscape job
    queued or running takes a place a corridor run then cannot have (the reverse: test_circuitscape_api)."""
    from jobs.models import Job

    settings.CORRIDORS_MAX_ACTIVE = 1
    monkeypatch.setattr(runs, "execute", lambda pk: None)
    Job.objects.create(kind="circuitscape", state=Job.State.RUNNING)
    with pytest.raises(ConflictError, match="máximo 1"):
        runs.start_run(BASE, background=True)
    assert not CorridorRun.objects.exists()
    Job.objects.filter(kind="circuitscape").update(state=Job.State.DONE)
    run, cached = runs.start_run(BASE, background=True)
    assert not cached and run.status == CorridorRun.Status.PENDING
