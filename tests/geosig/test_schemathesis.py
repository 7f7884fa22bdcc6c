"""Property-based API tests: schemathesis generates requests from the app's own OpenAPI schema
(/api/v1/schema/) and checks every answer, for four roles.

Time budget: ≤ 4 minutes for this whole file in CI on 2 cores (MAX_EXAMPLES below is sized for it).
Measured 2026-11-27 on the 2-core development machine, shared with other jobs (seconds vary with the load:
the same run took 3 min 40 s in pytest at its busiest, 3 min 57 s wall clock with start-up and database
creation; peak RSS 0.6 GB). Latest run, 54 operations, about 2 min in pytest:

    role       stateless cases  5xx   seconds      stateful steps  5xx  seconds
    anonymous        397         0      16              —
    planner          397         0      24             147           0     4
    reviewer         397         0      27              —
    analyst          397         0      25             143           0     3

(one case = one request; every operation × (5 positive + 3 negative) examples, fewer where the schema
admits fewer distinct values). A deeper hunt, GEOSIG_SCHEMATHESIS_SCALE=5 (about 2,270 cases per role),
found no 5xx either (planner, analyst: 8.5 min). The first runs found one: ``?matrix=%00`` on the city
balance (PostgreSQL refuses NUL in text: DataError → 500), fixed in geosig.params/cities by the parameter
work (``params.model_text`` refuses control characters); its regression test is
tests/geosig/test_schemathesis.py::test_nul_in_a_query_text_is_a_400. A scale-4 hunt (anonymous, reviewer:
about 1,500 cases each) found no 5xx but an undocumented status: a path value no URL converter accepts
(z=-1.5 on a tile) is the API's JSON 404, now declared on every operation with path parameters
(geosig.openapi.add_plain_views).

How it runs: the schema is fetched from /api/v1/schema/ and loaded with ``schemathesis.openapi.from_dict``; each
generated case is sent through the Django WSGI application (``case.call(app=...)``) in the test's own
thread, so it sees the test database (the territory, a POT plan with zones, one vector and one raster
layer). Each case runs inside a savepoint that is rolled back afterwards: every case meets the same data
whatever the previous one created or deleted (so deleting endpoints are exercised, not skipped).

Checks on every response: ``not_a_server_error`` (no 5xx), ``status_code_conformance`` (the status is
documented) and ``response_schema_conformance`` (the body matches the documented schema for that status
and media type). Data generation is deterministic (Hypothesis ``derandomize=True``): positive cases (valid
per the schema) and negative ones (invalid per the schema; they must get a 4xx, never a 5xx).

Stateful part (``test_stateful``): ``schema.as_state_machine()`` follows the links schemathesis infers
from the schema (69: ids in responses feeding path parameters), for the planner and the analyst.

Roles: anonymous; planner (a Planificador assigned to Cali, the fixture plan's municipality); reviewer (Revisor CVC);
plan_office (Oficina de planeación) and plan_entity (Entidad ejecutora, member of the fixture project's entity);
analyst (Analista CVC: uploads layers, runs corridors). Rate limits are switched off for the run
(GEOSIG_THROTTLE_ENABLED=False): thousands of requests a minute from one client are the point here.

Nothing is excluded: every operation of the schema (54 today: the DRF views and the plain tile views of the
layers and the context map), including
DELETE /api/v1/pot/plans/{id}/ (harmless here: every stateless case is rolled back). Corridor runs are
computed synchronously (CORRIDORS_BACKGROUND=False) so that no thread outlives the case; the fixture data has no DEM, so a valid run fails fast and is reported.
"""
from __future__ import annotations

import json
import os
import secrets
import string
import time
from collections import Counter, defaultdict

import pytest
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings as hsettings
from hypothesis.errors import Unsatisfiable

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance  # noqa: E402

pytestmark = pytest.mark.django_db

# Examples per operation and mode; GEOSIG_SCHEMATHESIS_SCALE=10 multiplies them for a deeper local hunt.
SCALE = float(os.environ.get("GEOSIG_SCHEMATHESIS_SCALE", "1"))
MAX_EXAMPLES = {GenerationMode.POSITIVE: round(5 * SCALE), GenerationMode.NEGATIVE: round(3 * SCALE)}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
ROLES = ("anonymous", "planner", "reviewer", "analyst", "plan_office", "plan_entity")


_RAW_SCHEMA: dict = {}


@pytest.fixture
def api_schema(client):
    """The schema as the app serves it (generated once per run: it takes seconds)."""
    if not _RAW_SCHEMA:
        _RAW_SCHEMA.update(client.get("/api/v1/schema/", {"format": "json"}).json())
    return schemathesis.openapi.from_dict(_RAW_SCHEMA)


@pytest.fixture
def wsgi_app(settings):
    from django.core.wsgi import get_wsgi_application

    settings.GEOSIG_THROTTLE_ENABLED = False
    settings.CORRIDORS_BACKGROUND = False
    # As Django's test client does: a request must not close the test's connection (its transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _auth(client, user) -> dict:
    """``case.call`` arguments: ``user``'s session cookie + a CSRF token pair (DRF checks CSRF on
    session-authenticated writes); the WSGI client does not decompress, so ask for plain bodies."""
    headers = {"Accept-Encoding": "identity"}
    if user is None:
        return {"headers": headers, "cookies": {}}
    client.force_login(user)
    token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    return {"headers": {**headers, "X-CSRFToken": token},
            "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": token}}


def run_operations(schema, app, auth, data, only: str | None = None) -> dict:
    """Every operation (or those whose path contains ``only``) × generation mode; returns counts and
    failures (never raises on a failing case)."""
    stats = {"cases": 0, "by_status": Counter(), "failures": defaultdict(list), "server_errors": 0}

    for result in schema.get_all_operations():
        operation = result.ok()
        if only and only not in operation.path:
            continue
        for mode, n in MAX_EXAMPLES.items():
            strategy = pinned(operation.as_strategy(generation_mode=mode), operation, data)

            @hsettings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
                       suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                sid = transaction.savepoint()
                key = f"{operation.method.upper()} {operation.path}"
                try:
                    try:
                        response = case.call(app=app, **auth)
                    except Exception as exc:  # the app raised instead of answering: a 500 in production
                        stats["cases"] += 1
                        stats["server_errors"] += 1
                        stats["failures"][key].append(f"raised {type(exc).__name__}: {exc!s:.300} "
                                                      f"[{case.path_parameters} {case.query} {case.body!r:.300}]")
                        return
                    stats["cases"] += 1
                    stats["by_status"][response.status_code] += 1
                    if response.status_code >= 500:
                        stats["server_errors"] += 1
                    try:
                        case.validate_response(response, checks=CHECKS, headers=auth["headers"])
                    except (Exception, BaseExceptionGroup) as exc:  # a check failed: record it, keep going
                        stats["failures"][key].append(f"{type(exc).__name__}: {str(exc)[:1500]}")
                finally:
                    transaction.savepoint_rollback(sid)

            try:
                run()
            except Unsatisfiable:
                pass
    return stats


@pytest.mark.parametrize("role", ROLES)
def test_schemathesis(role, api_schema, wsgi_app, client, role_users, api_data):
    users = role_users
    started = time.monotonic()
    stats = run_operations(api_schema, wsgi_app, _auth(client, users[role]), api_data)
    seconds = time.monotonic() - started
    print(f"\n[schemathesis] role={role} cases={stats['cases']} 5xx={stats['server_errors']} "
          f"seconds={seconds:.1f} statuses={dict(sorted(stats['by_status'].items()))}")
    failures = {k: v[:2] for k, v in stats["failures"].items()}
    for k, v in failures.items():
        print("FAIL", k, len(stats["failures"][k]), "::", v[0][:600].replace("\n", " | "))
    assert not failures, json.dumps(failures, indent=1, ensure_ascii=False)


def test_the_harness_reports_a_server_error(api_schema, wsgi_app, client, api_data, monkeypatch):
    """The run above can fail: a view that crashes is counted and reported, not swallowed."""
    from territorial import api

    def crash(*args, **kwargs):
        raise RuntimeError("fallo simulado")

    monkeypatch.setattr(api.queries, "locate", crash)
    stats = run_operations(api_schema, wsgi_app, _auth(client, None), api_data, only="/locate/")
    assert stats["server_errors"] > 0 and "GET /api/v1/locate/" in stats["failures"]


@pytest.mark.parametrize("url", [
    "/api/v1/cities/balance/?matrix=%00", "/api/v1/cities/balance/?scenario=a%00b",
    "/api/v1/cities/balance/?inventory=%00", "/api/v1/cities/balance/report.csv?matrix=%00",
    "/api/v1/pot/plans/?municipality=%00", "/api/v1/pot/determinants/?municipality=76%0001",
    "/api/v1/pot/conflicts/?municipality=%00", "/api/v1/indicators/?code=%00",
    "/api/v1/municipalities/?subregion=%00", "/api/v1/identify/?lon=-76.5&lat=3.4&layers=%00",
    "/api/v1/corridors/options/?layer=%00", "/api/v1/downloads/indicators.csv?code=%00",
])
def test_nul_in_a_query_text_is_a_400(client, territory, url):
    """Regression (found by this file's first run): PostgreSQL refuses NUL in text, so a NUL that reached
    a query was a DataError → 500. Every text parameter is refused with a Spanish 400 first."""
    r = client.get(url)
    assert r.status_code == 400, (url, r.status_code, r.content[:300])
    assert r.json()["error"] == "invalid_parameter"


@pytest.fixture
def api_data(territory, settings, tmp_path):
    """What the generated requests can find: a Cali plan with two zones (v2), one vector and one raster
    layer, a finished and a pending corridor run. Returns the values path parameters are pinned to."""
    import geopandas as gpd
    import numpy as np

    from layers.corridors.models import CorridorRun
    from layers.services.importing import import_layer
    from territorial.models import Municipality
    from territorial.pot.services import plans as P
    from tests.layers.conftest import square_9377, synthetic_raster, to_4326, write_vector
    from tests.territorial.test_pot_fixtures import cabecera_m, fc, square_feature

    settings.MEDIA_ROOT = tmp_path / "media"
    polys = gpd.GeoDataFrame({"clase": ["A", "B"]}, crs=4326,
                             geometry=to_4326([square_9377(0, 0, 10_000), square_9377(-4000, 1000, 2000)]))
    import_layer(write_vector(tmp_path / "cob.geojson", polys, "GeoJSON"), theme="ecosistemas",
                 metadata={"title": "Coberturas", "source": "prueba", "licence": "CC BY"})
    import_layer(synthetic_raster(tmp_path / "alt.tif", np.arange(400.0).reshape(20, 20)), metadata={"unit": "m"})
    return {"layers": ("cob", "alt"), "runs": _runs(settings.MEDIA_ROOT), "plan": _plan(P, Municipality, cabecera_m,
                                                                                         fc, square_feature),
            "portfolio": _portfolio(), "connectivity": _connectivity(settings.MEDIA_ROOT)}


def _connectivity(media_root):
    """A finished public Omniscape run over Cali (10 × 10 cells of 1 km, real result files) and a queued one."""
    import numpy as np
    from affine import Affine

    from jobs import services as jobs
    from jobs.models import Job
    from layers.connectivity import analysis
    from layers.connectivity.models import ConnectivityRun
    from layers.connectivity.omniscape import OmniscapeParams, classify_normalized, run_omniscape
    from layers.corridors.grid import Grid

    res = np.linspace(1, 10, 100).reshape(10, 10)
    grid = Grid(res, Affine(1000, 0, 4_600_000, 0, -1000, 1_950_000), "EPSG:9377", np.nan)
    result = run_omniscape(res, None, OmniscapeParams(radius=2, source_from_resistance=True, calc_flow_potential=True,
                                                      calc_normalized_current=True))
    folder = media_root / "connectivity" / "st"
    folder.mkdir(parents=True)
    maps = analysis._write_maps(folder, grid, result, classify_normalized(result.normalized))
    report = {"maps": maps, "grid": {"bounds_4326": [-76.6, 3.3, -76.4, 3.5]}, "classes": [], "notes": [],
              "files": [m["file"] for m in maps.values()]}
    done_job = jobs.enqueue("connectivity", {"run": 0})
    Job.objects.filter(pk=done_job.pk).update(state="done", progress=100)
    done = ConnectivityRun.objects.create(cache_key="st-done", params={"radius": 2}, job=done_job,
                                          result_dir="connectivity/st", report=report)
    queued = ConnectivityRun.objects.create(cache_key="st-queued", params={"radius": 2},
                                            job=jobs.enqueue("connectivity", {"run": 0}))
    return {"done": done.pk, "queued": queued.pk}


def _portfolio():
    """The plan follow-up (plan app): one published project of the entity «st-ent» with a report carrying
    evidence, and one goal, so that generated requests meet real rows."""
    import datetime as dt

    from django.core.files.base import ContentFile

    from plan.models import Entity, Goal, Program, ProgramLine, ProgressReport, Project

    entity, _ = Entity.objects.get_or_create(code="st-ent", defaults={"name": "Entidad de prueba"})
    program = Program.objects.create(line=ProgramLine.objects.order_by("order").first(), code="st-prog", name="Programa")
    project = Project.objects.create(code="ST-1", name="Proyecto", program=program, entity=entity, term="corto",
                                     published=True, start_date=dt.date(2025, 1, 1), end_date=dt.date(2027, 1, 1))
    report = ProgressReport(project=project, value=10, date=dt.date(2025, 6, 1))
    report.evidence_file.save("acta.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"), save=False)
    report.save()
    goal = Goal.objects.create(code="ST-M", name="Meta", program=program, entity=entity, indicator="i", unit="%",
                               baseline_value=1, baseline_year=2023, baseline_source="prueba", target_value=2,
                               target_year=2027, published=True)
    return {"project": project.pk, "goal": goal.pk, "report": report.pk}


def _plan(P, Municipality, cabecera_m, fc, square_feature):
    from django.contrib.auth import get_user_model

    cali = Municipality.objects.get(divipola="76001")
    from django.contrib.auth.models import Group

    owner = get_user_model().objects.create_user("st_autora", password=None)
    owner.groups.add(Group.objects.get_or_create(name="Planificador")[0])
    from territorial.pot.models import PlannerAssignment

    PlannerAssignment.objects.create(user=owner, municipality=cali)
    plan = P.create_plan(owner, cali, "Plan de prueba")
    x, y = cabecera_m(cali)
    P.save_zones(owner, plan, fc(square_feature(x, y, x + 1000, y + 1000, "urbano"),
                                 square_feature(x, y + 1000, x + 1000, y + 2000, "rural")), 1)
    return plan.pk


def _runs(media_root):
    from layers.corridors.models import CorridorRun

    done = CorridorRun.objects.create(inputs_hash="st-done", status=CorridorRun.Status.DONE, result_dir="corr/st",
                                      report={"files": ["resumen.csv"]}, params={"cell_size": 100, "width": 1000})
    folder = media_root / "corr" / "st"
    folder.mkdir(parents=True)
    (folder / "mapa.json").write_text('{"corridors": {"type": "FeatureCollection", "features": []}}')
    (folder / "resumen.csv").write_text("a,b\n1,2\n")
    pending = CorridorRun.objects.create(inputs_hash="st-pending", params={"cell_size": 100, "width": 1000})
    return {"done": done.pk, "pending": pending.pk}


CALI_TILE = {"z": 10, "x": 294, "y": 502}  # the z10 tile over Cali's centre (−76.52, 3.44)


def pins(path: str, data: dict) -> dict:
    """Known-good path parameters for ``path``: random ids and slugs would almost always be 404s."""
    out = {"divipola": "76001", "number": 1, "name": "resumen.csv", **CALI_TILE}
    if path.startswith("/api/v1/corridors/"):
        out["id"] = data["runs"]["pending" if path.endswith("/cancel/") else "done"]
    elif path.startswith("/api/v1/connectivity/"):
        out["id"] = data["connectivity"]["queued" if path.endswith("/cancel/") else "done"]
        out.update(name="cum_currmap.tif", map="corriente")
    elif path.startswith("/api/v1/plan/"):
        kind = "goal" if "/goals/" in path else "report" if "/evidence/" in path else "project"
        out["id"] = data["portfolio"][kind]
        out["kind"] = "projects"
    else:
        out["id"] = data["plan"]
    raster = path.endswith(".png") or "download" in path
    out["slug"] = data["layers"][1] if raster and "download" not in path else data["layers"][0]
    return out


def pinned(strategy, operation, data: dict):
    """Half the cases (decided by Hypothesis, so deterministic) get known-good path parameters."""
    from hypothesis import strategies as st

    names = {p.name for p in operation.path_parameters}
    if not names:
        return strategy
    good = {k: v for k, v in pins(operation.path, data).items() if k in names}

    def apply(pair):
        case, use = pair
        if use and case.path_parameters is not None:
            case.path_parameters = {**case.path_parameters, **good}
        return case

    return st.tuples(strategy, st.booleans()).map(apply)


@pytest.fixture
def role_users(territory, make_user):
    from territorial.models import Municipality
    from territorial.pot.models import PlannerAssignment

    planner = make_user("st_planificadora", "Planificador")
    PlannerAssignment.objects.create(user=planner, municipality=Municipality.objects.get(divipola="76001"))
    return {
        "anonymous": None,
        "planner": planner,
        "reviewer": make_user("st_revisor", "Revisor CVC"),
        "analyst": make_user("st_analista", "Analista CVC"),
        "plan_office": make_user("st_oficina", "Oficina de planeación"),
        "plan_entity": _entity_member(make_user("st_entidad", "Entidad ejecutora")),
    }


def _entity_member(user):
    from plan.models import Entity

    Entity.objects.get_or_create(code="st-ent", defaults={"name": "Entidad de prueba"})[0].members.add(user)
    return user


STATEFUL_EXAMPLES = max(1, round(20 * SCALE))


@pytest.mark.parametrize("role", ["planner", "analyst"])
def test_stateful(role, api_schema, wsgi_app, client, role_users, api_data):
    """Sequences of calls along the links schemathesis infers from the schema (e.g. POST /pot/plans/ →
    GET/PUT/DELETE /pot/plans/{id}/…, POST /corridors/ → /corridors/{id}/), as a planner (plans) and a
    CVC analyst (layers, corridor runs).

    Unlike the stateless part, what one step creates stays for the next steps of the scenario (a 5xx step
    is rolled back to its savepoint so the test transaction stays usable)."""
    auth = _auth(client, role_users[role])
    stats = {"steps": 0, "server_errors": 0, "by_status": Counter(), "failures": defaultdict(list)}
    machine = api_schema.as_state_machine()

    class Workflow(machine):
        def get_call_kwargs(self, case):
            return {"app": wsgi_app, **auth}

        def call(self, case, **kwargs):
            sid = transaction.savepoint()
            response = case.call(**kwargs)
            stats["steps"] += 1
            stats["by_status"][response.status_code] += 1
            if response.status_code >= 500:
                stats["server_errors"] += 1
                transaction.savepoint_rollback(sid)
            else:
                transaction.savepoint_commit(sid)
            return response

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                case.validate_response(response, checks=CHECKS, headers=auth["headers"])
            except (Exception, BaseExceptionGroup) as exc:
                stats["failures"][f"{case.method} {case.path}"].append(f"{type(exc).__name__}: {exc!s:.1500}")

    started = time.monotonic()
    Workflow.run(settings=hsettings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=6, derandomize=True,
                                    database=None, deadline=None, phases=[Phase.generate],
                                    suppress_health_check=list(HealthCheck)))
    seconds = time.monotonic() - started
    links = api_schema.statistic.transitions.total
    print(f"\n[schemathesis] stateful role={role} links={links} steps={stats['steps']} "
          f"5xx={stats['server_errors']} seconds={seconds:.1f} statuses={dict(sorted(stats['by_status'].items()))}")
    for k, v in stats["failures"].items():
        print("FAIL", k, len(v), "::", v[0][:600].replace("\n", " | "))
    assert links > 0 and stats["steps"] > 0
    assert not stats["failures"], json.dumps({k: v[:2] for k, v in stats["failures"].items()}, indent=1,
                                             ensure_ascii=False)
