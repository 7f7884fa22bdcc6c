"""Every entry point answers wrong input with a Spanish 4xx, never a 500 (issue #14).

A battery of wrong types (a list where a text is expected, an object where a number is, huge numbers,
NaN, negative ids, control characters, line breaks, over-long texts, non-object JSON bodies) is sent to
each API endpoint, anonymously and as a user with the right role; then the 500s found by hand are pinned
one by one, with the state checked unchanged. Throttling is off here so a 429 cannot hide an answer.
"""
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from tests.territorial.test_pot_fixtures import cabecera_m, cali_plan, fc, pot_users, square_feature  # noqa: F401

pytestmark = pytest.mark.django_db

SPANISH = re.compile(r"«|\b(de|la|el|debe|falta|faltan|no|un|una|en|es|los|las|solo|admite|envíe|ingrese|existe|"
                     r"desconocid[oa]s?|inexistentes?|máximo|válid[oa]s?)\b", re.IGNORECASE)
LONG = "x" * 3000
TEXT_BAD = ["%00", "a%0Ab", LONG]  # NUL (a database error before), a line break (headers), too long
NUMBER_BAD = ["abc", "nan", "inf", "-Infinity", "1e400", "[1]", "%00", "9" * 30]
INT_BAD = NUMBER_BAD + ["1.5"]
BOOL_BAD = ["quizá", "2", "nan", "%00"]


@pytest.fixture(autouse=True)
def no_throttle(settings):
    settings.GEOSIG_THROTTLE_ENABLED = False
    settings.CORRIDORS_BACKGROUND = False  # had a run slipped through, it would run (and fail) right here


def _assert_spanish_4xx(r, what):
    assert 400 <= r.status_code <= 429, f"{what}: {r.status_code} {r.content[:300]!r}"
    detail = r.json()["detail"]
    assert isinstance(detail, str) and SPANISH.search(detail), f"{what}: {detail!r}"


# ------------------------------------------------------------------ query strings (GET)
GETS = [
    ("/api/v1/municipalities/?", {"subregion": TEXT_BAD + ["marte"], "bbox": NUMBER_BAD + ["1,2,3", "3,2,1,0"],
                                  "simplified": BOOL_BAD}),
    ("/api/v1/indicators/?code=poblacion_total&", {"year": INT_BAD + ["-1", "0"]}),
    ("/api/v1/indicators/?", {"code": TEXT_BAD + ["nada"]}),
    ("/api/v1/locate/?lat=3.4&", {"lon": NUMBER_BAD + ["200", "-181", ""]}),
    ("/api/v1/locate/?lon=-76.5&", {"lat": NUMBER_BAD + ["91"]}),
    ("/api/v1/downloads/indicators.csv?", {"code": TEXT_BAD + ["nada"]}),
    ("/api/v1/identify/?lon=-76.5&lat=3.4&", {"zoom": NUMBER_BAD + ["23", "-1"],
                                              "layers": TEXT_BAD + [",".join(f"c{i}" for i in range(60))]}),
    ("/api/v1/identify/?lat=3.4&", {"lon": NUMBER_BAD}),
    ("/api/v1/layers/x/download.gpkg?", {"area": TEXT_BAD + ["marte:1", "municipio:%00"]}),
    ("/api/v1/pot/conflicts/?", {"plan": INT_BAD + ["-1", "0", "1%0Ax"], "municipality": TEXT_BAD,
                                 "modes": ["nada", ",".join(["internal"] * 2000)], "format": ["xml", "%00"],
                                 "buffer_m": NUMBER_BAD + ["-1", "5000"], "ronda_m": NUMBER_BAD + ["101"],
                                 "sliver_m2": NUMBER_BAD + ["-1"]}),
    ("/api/v1/pot/plans/?", {"municipality": TEXT_BAD}),
    ("/api/v1/pot/determinants/?", {"municipality": TEXT_BAD + ["nada"]}),
    ("/api/v1/corridors/options/?", {"layer": TEXT_BAD}),
    ("/api/v1/cities/balance/?", {"year": INT_BAD, "compare": INT_BAD, "basis": ["x", "%00"],
                                  "scenario": TEXT_BAD, "matrix": TEXT_BAD, "inventory": TEXT_BAD,
                                  "places": BOOL_BAD, "permutations": INT_BAD + ["-1", "100000000"],
                                  "seed": ["-1", "1e30"], "gravity_beta": NUMBER_BAD + ["-1", "11"],
                                  "graph_neighbours": ["0", "10" * 10]}),
    ("/api/v1/cities/balance/report.csv?", {"year": INT_BAD[:3], "places": BOOL_BAD[:1]}),
]
GET_CASES = [(prefix + f"{name}={value}", name) for prefix, fields in GETS for name, values in fields.items()
             for value in values]


@pytest.mark.parametrize("url, name", GET_CASES, ids=[u[:80] for u, _ in GET_CASES])
def test_query_string_battery(client, territory, url, name):
    _assert_spanish_4xx(client.get(url), url)


def test_query_string_battery_logged_in(client, territory, django_user_model):
    """The same battery as a superuser (who sees every plan and may run everything)."""
    client.force_login(django_user_model.objects.create_superuser("raiz", "r@example.com", "x"))
    for url, _name in GET_CASES[::3]:  # every third case: the parsing does not depend on who asks
        _assert_spanish_4xx(client.get(url), url)


def test_path_parameters(client, territory):
    for url in ("/api/v1/municipalities/%00/", "/api/v1/municipalities/" + "9" * 300 + "/",
                "/api/v1/pot/plans/99999999999999999999/", "/api/v1/corridors/99999999999999999999/",
                "/api/v1/pot/plans/9223372036854775808/versions/"):
        _assert_spanish_4xx(client.get(url), url)


# ------------------------------------------------------------------ JSON bodies (POST/PUT)
NOT_OBJECTS = [[1, 2], "texto", 5, None, True]
NO_TEXT = [[1], {"a": 1}, 1e308, True]  # for a text field: none is a string


def _send(client, method, url, body):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


def _bodies(base, fields):
    yield from ((None, b) for b in NOT_OBJECTS)
    for name, values in fields.items():
        for v in values:
            yield name, {**base, name: v}


def _battery(client, method, url, base, fields):
    for name, body in _bodies(base, fields):
        _assert_spanish_4xx(_send(client, method, url, body), f"{method} {url} {name}={str(body)[:80]}")


def test_cities_scenarios(client, territory, django_user_model):
    from cities.models import Scenario

    url, base = "/api/v1/cities/scenarios/", {"name": "malo", "kind": "optimistic", "horizon_year": 2030}
    fields = {"name": NO_TEXT + ["Mal Nombre", "x" * 61], "kind": NO_TEXT + ["otro"],
              "horizon_year": ["abc", [1], 1e308, 1.5, "nan", None],
              "adjustments": [5, {"a": 1}, [7], [{"target_type": "x"}], ["sur=abc"], ["sur=1"] * 60,
                              [{"target_type": "subregion", "target_code": ["sur"], "growth_pp": 1}],
                              [{"target_type": "subregion", "target_code": "sur", "growth_pp": 11}]],
              "description": [[1], LONG], "replace": ["quizá", [1]]}
    _battery(client, "post", url, base, fields)  # anonymous: refused first
    client.force_login(django_user_model.objects.create_user("jefa", password="x", is_staff=True))
    _battery(client, "post", url, base, fields)
    assert not Scenario.objects.exists()


def test_layers_overlay_and_clip(client, territory):
    area = {"kind": "municipio", "code": "76001"}
    fields = {"layers": [5, {"a": 1}, [[1]], [f"c{i}" for i in range(60)], ["x" * 200], ["nada"]],
              "area": [{"kind": [1], "code": "1"}, {"kind": "municipio", "code": "\x00"}, {"kind": "x", "code": "1"},
                       {"kind": "municipio", "code": {"a": 1}}],
              "geometry": ["[" * 10000, 5, [1], {"type": "Point", "coordinates": [1]}, "{",
                           {"type": "Polygon", "coordinates": [[[-76.6, 3.4], [1e308, 3.4], [-76.5, 3.5], [-76.6, 3.4]]]},
                           {"type": "Polygon", "coordinates": [[[-200, 3.4], [-76.5, 3.4], [-76.5, 3.5], [-200, 3.4]]]}]}
    layers = {"layers": fields.pop("layers")}
    _battery(client, "post", "/api/v1/overlay/", {"area": area}, layers)
    _battery(client, "post", "/api/v1/overlay/", {}, fields)  # "area" wins over "geometry": one at a time
    _battery(client, "post", "/api/v1/layers/nada/download.gpkg", {}, fields)


def test_corridor_runs(client, territory, make_user):
    from layers.corridors.models import CorridorRun

    base = {"cores": {"layer": "runap-centroides", "ids": [17, 216]}, "cell_size": 500, "width": 20000}
    fields = {"cores": [[1], "x", {"layer": ["x"]}, {"layer": {}}, {"ids": "a"}, {"layer": "x", "ids": [[1]]},
                        {"geojson": "[1]"}, {"layer": "x", "ids": list(range(6000))}],
              "resistance": [[1], {"a": 1}, [{"layer": []}], "otra", [{"source": "slope", "weight": "x"}]],
              "cell_size": ["abc", "nan", [1], 0, -1, 1e308], "width": [{"a": 1}, "inf", 0],
              "pinch": ["quizá", [1]], "area_field": [[1], "x" * 300], "otro": [1]}
    _battery(client, "post", "/api/v1/corridors/", base, fields)
    client.force_login(make_user("analista", "Analista CVC"))
    _battery(client, "post", "/api/v1/corridors/", base, fields)
    assert not CorridorRun.objects.exists()


def test_pot_writes(client, pot_users, cali_plan):
    x, y = cabecera_m(pot_users["cali"])
    good = square_feature(x, y, x + 1000, y + 1000, "urbano")
    pk = cali_plan.pk
    plans = {
        ("post", "/api/v1/pot/plans/"): ({"municipality": "76001", "name": "n"},
                                         {"municipality": [[1], {"a": 1}, "\x00", "x" * 20],
                                          "name": NO_TEXT + [1, "x" * 201, "a\nb"]}),
        ("put", f"/api/v1/pot/plans/{pk}/zones/"): (
            fc(good) | {"version": 1},
            {"features": [5, "x", [1], [{**good, "properties": [1]}], [{**good, "properties": "x"}],
                          [{**good, "properties": {"soil_class": []}}],
                          [{**good, "properties": {"soil_class": "urbano", "name": []}}],
                          [{**good, "properties": {"soil_class": "urbano", "name": "x" * 201}}],
                          [{**good, "properties": {"soil_class": "urbano", "use_category": {}}}],
                          [{**good, "properties": {"soil_class": "urbano", "notes": [1]}}]],
             "version": ["abc", [1], None]}),
        ("post", f"/api/v1/pot/plans/{pk}/merge/"): ({"zone_ids": [1, 2], "version": 1},
                                                     {"zone_ids": [5, "abc", [[1]], [-1, 2], [1.5], list(range(2000))]}),
        ("post", f"/api/v1/pot/plans/{pk}/split/"): ({"zone_id": 1, "version": 1, "line": {"type": "LineString"}},
                                                     {"zone_id": ["abc", [1], -1, 1e308]}),
        ("post", f"/api/v1/pot/plans/{pk}/transition/"): ({"action": "enviar", "version": 1},
                                                          {"action": [[], [1], {"a": 1}, 1, "otra", None],
                                                           "note": [[1], LONG]}),
        ("post", f"/api/v1/pot/plans/{pk}/comments/"): ({"text": "t", "parent": 1},
                                                        {"text": NO_TEXT + ["x" * 6000], "parent": ["abc", [1], -1]}),
        ("post", f"/api/v1/pot/plans/{pk}/versions/1/restore/"): ({"version": 1}, {"version": ["abc", [1]]}),
    }
    before = (cali_plan.version, cali_plan.zones.count(), cali_plan.versions.count())
    for (method, url), (base, fields) in plans.items():
        _battery(client, method, url, base, fields)
    client.force_login(pot_users["planner"])
    for (method, url), (base, fields) in plans.items():
        _battery(client, method, url, base, fields)
    cali_plan.refresh_from_db()
    assert (cali_plan.version, cali_plan.zones.count(), cali_plan.versions.count()) == before
    assert cali_plan.__class__.objects.count() == 1  # no plan created by a bad POST


def _geojson_file():
    return SimpleUploadedFile("zonas.geojson", b'{"type": "FeatureCollection", "features": []}')


def test_multipart_forms(client, pot_users, cali_plan, make_user, django_user_model):
    from layers.models import Layer

    client.force_login(pot_users["planner"])
    for field, value in [("mapping", "[1]"), ("mapping", "1"), ("mapping", '"x"'), ("mapping", "{"),
                         ("mapping", '{"a": [1]}'), ("mapping", "[" * 50_000), ("class_field", "x" * 200),
                         ("layer", "a\nb"), ("use_field", "\x00")]:
        r = client.post(f"/api/v1/pot/plans/{cali_plan.pk}/import/",
                        {"file": _geojson_file(), "version": "1", field: value})
        _assert_spanish_4xx(r, f"import {field}={value[:20]!r}")
    cali_plan.refresh_from_db()
    assert cali_plan.version == 1

    client.force_login(make_user("editora", "Editor de capas"))
    for field, value in [("title", "t" * 201), ("theme", "otro_x"), ("srid", "abc"), ("srid", "-1"), ("srid", "nan"),
                         ("invalid", "x"), ("encoding", "x" * 100), ("licence", "l" * 201), ("data_date", "d" * 61),
                         ("layer", "a\nb")]:
        r = client.post("/api/v1/layers/upload/", {"file": _geojson_file(), field: value})
        _assert_spanish_4xx(r, f"upload {field}")
        assert field not in ("title",) or "«title» tiene 201 caracteres; el máximo es 200" in r.json()["detail"]
    assert not Layer.objects.exists()

    client.force_login(make_user("importador", "Analista CVC"))  # holds cities.import_city_data
    csv = lambda: SimpleUploadedFile("a.csv", b"a,b\n")  # noqa: E731
    for url, field, value in [("/api/v1/cities/matrices/", "name", "x" * 61),
                              ("/api/v1/cities/matrices/", "kind", "otro"),
                              ("/api/v1/cities/matrices/", "source", "s" * 301),
                              ("/api/v1/cities/functions/", "name", "x" * 61),
                              ("/api/v1/cities/functions/", "demo", "quizá"),
                              ("/api/v1/cities/attributes/", "source", "s" * 301)]:
        r = client.post(url, {"file": csv(), field: value})
        assert r.status_code == 400 and f"«{field}»" in r.json()["detail"], (url, field, r.content)  # not a 403


# ------------------------------------------------------------------ the 500s found by hand, one by one
def test_locate_far_away_is_an_answer_not_a_500(client, territory):
    """(10°E, 0°) is outside EPSG:9377's domain (PROJ failed): the distance is now measured on the spheroid."""
    from pyproj import Geod

    from territorial.models import Municipality

    r = client.get("/api/v1/locate/?lon=10&lat=0")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["inside"] is False and "fuera del Valle del Cauca" in body["detail"]
    # independent bound: the geodesic distance to the nearest cabecera is an upper bound of the distance to
    # that municipality, and no municipality's edge is 200 km closer than its cabecera
    geod = Geod(ellps="GRS80")
    to_cabeceras = min(geod.inv(10, 0, m.cabecera.x, m.cabecera.y)[2] for m in Municipality.objects.all()) / 1000
    assert to_cabeceras - 200 < body["nearest"]["distance_km"] <= to_cabeceras


def test_scenario_post_with_a_json_list_body_is_400(client, territory, django_user_model):
    client.force_login(django_user_model.objects.create_user("jefa", password="x", is_staff=True))
    r = _send(client, "post", "/api/v1/cities/scenarios/", [{"name": "x"}])
    assert r.status_code == 400 and "Envíe un objeto JSON" in r.json()["detail"]


def test_transition_with_a_list_action_is_400(client, pot_users, cali_plan):
    client.force_login(pot_users["planner"])
    r = _send(client, "post", f"/api/v1/pot/plans/{cali_plan.pk}/transition/", {"action": [], "version": 1})
    assert r.status_code == 400 and "«action» no admite []" in r.json()["detail"]
    cali_plan.refresh_from_db()
    assert cali_plan.status == "borrador" and cali_plan.version == 1


def test_zone_properties_must_be_an_object(client, pot_users, cali_plan):
    x, y = cabecera_m(pot_users["cali"])
    feature = {**square_feature(x, y, x + 1000, y + 1000, "urbano"), "properties": [1]}
    client.force_login(pot_users["planner"])
    r = _send(client, "put", f"/api/v1/pot/plans/{cali_plan.pk}/zones/", fc(feature) | {"version": 1})
    assert r.status_code == 400 and "Zona n.º 1: «properties» debe ser un objeto JSON" in r.json()["detail"]
    assert cali_plan.zones.count() == 0


def test_plan_name_must_be_a_text_within_the_model(client, pot_users):
    from territorial.pot.models import Plan

    client.force_login(pot_users["planner"])
    for name, text in ((1, "«name» debe ser un texto"), ("x" * 201, "«name» tiene 201 caracteres; el máximo es 200")):
        r = _send(client, "post", "/api/v1/pot/plans/", {"municipality": "76001", "name": name})
        assert r.status_code == 400 and text in r.json()["detail"]
    assert not Plan.objects.exists()


def test_pot_import_mapping_must_be_an_object(client, pot_users, cali_plan):
    client.force_login(pot_users["planner"])
    r = client.post(f"/api/v1/pot/plans/{cali_plan.pk}/import/", {"file": _geojson_file(), "version": "1",
                                                                 "mapping": "[1]"})
    assert r.status_code == 400 and "«mapping» debe ser un objeto JSON" in r.json()["detail"]


def test_corridor_core_layer_must_be_a_text(client, territory, make_user):
    client.force_login(make_user("analista", "Analista CVC"))
    r = _send(client, "post", "/api/v1/corridors/", {"cores": {"layer": ["x"]}, "cell_size": 500, "width": 100})
    assert r.status_code == 400 and "«cores.layer» debe ser un texto" in r.json()["detail"]


def test_a_line_break_in_the_conflict_scope_never_reaches_a_header(client, pot_users, cali_plan):
    client.force_login(pot_users["analyst"])
    r = client.get(f"/api/v1/pot/conflicts/?plan={cali_plan.pk}%0AX-Inyectada:%201&format=csv")
    assert r.status_code == 400 and "«plan» debe ser un número entero" in r.json()["detail"]
    r = client.get("/api/v1/pot/conflicts/?municipality=76001%0D%0AX:1&format=csv")
    assert r.status_code == 400 and "saltos de línea" in r.json()["detail"]


def test_indicator_without_values(client, territory):
    from territorial.models import Indicator

    Indicator.objects.create(code="sin_datos", name="Sin datos", unit="%", source="prueba")
    r = client.get("/api/v1/indicators/?code=sin_datos")
    assert r.status_code == 404 and r.json()["detail"] == "El indicador sin_datos no tiene valores cargados."


def test_overlay_layers_repeated_20000_times_is_400(client, territory):
    area = {"kind": "municipio", "code": "76001"}
    r = _send(client, "post", "/api/v1/overlay/", {"area": area, "layers": ["nada"] * 20_000})
    assert r.status_code == 400 and "«layers» admite como máximo 50 valores distintos" in r.json()["detail"]
    r = client.get("/api/v1/identify/?lon=-76.5&lat=3.4&layers=" + ",".join(["nada"] * 20_000))
    assert r.status_code == 400 and "«layers» admite como máximo 50" in r.json()["detail"]


def test_si_is_true_in_cities_and_territorial_alike(client, territory):
    plain = client.get("/api/v1/municipalities/?simplified=sí")
    assert plain.status_code == 200
    assert client.get("/api/v1/municipalities/?simplified=true").content == plain.content
    from cities.services.report import balance_request, report_from_query  # noqa: F401

    from geosig import params
    assert params.boolean("sí", "places") is True


# ------------------------------------------------------------------ management commands
def test_commands_refuse_bad_parameters_in_spanish(territory, tmp_path):
    cases = [
        (("corridors", "--cores", "runap-centroides", "--ids", "1,x", "--cell-size", "500", "--output", str(tmp_path)),
         "«cores.ids» debe ser un número entero"),
        (("corridors", "--cores", "runap-centroides", "--cell-size", "nan", "--output", str(tmp_path)),
         "«cell_size» debe ser un número finito"),
        (("city_balance_report", "--param", "gravity_beta=nan", "--output", str(tmp_path / "r.html")),
         "«gravity_beta» debe ser un número finito"),
        (("city_balance_report", "--param", "gravedad=2", "--output", str(tmp_path / "r.html")),
         "--param 'gravedad=2': use NOMBRE=VALOR"),
        (("pot_conflicts", "--plan", "-1"), "«plan» debe ser ≥ 1"),
        (("pot_conflicts", "--ronda", "500"), "«ronda_m» debe ser ≤ 100"),
        (("import_layer", str(tmp_path / "x.geojson"), "--title", "t" * 201), "«title» tiene 201 caracteres"),
        (("import_city_data", "matrix", __file__, "--source", "s", "--tolerance", "nan"),
         "«--tolerance» debe ser un número finito"),
        (("import_city_data", "attributes", __file__, "--source", "s" * 301), "«--source» tiene 301 caracteres"),
        (("load_pot", "--slope-threshold", "nan"), "«--slope-threshold» debe ser un número finito"),
    ]
    for args, text in cases:
        with pytest.raises(CommandError, match=re.escape(text)):
            call_command(*args)


def test_pages_answer_bad_input_with_a_400_page(client, territory, make_user):
    for url in ("/ciudades/?year=abc", "/ciudades/?matrix=%00", "/ciudades/?basis=x",
                "/ciudades/?permutations=1e400"):
        r = client.get(url)
        assert r.status_code == 400 and "<html" in r.content.decode().lower(), url
    client.force_login(make_user("editora", "Editor de capas"))
    r = client.post("/capas/subir/", {"file": _geojson_file(), "title": "t" * 201})
    assert r.status_code == 400 and "«title» tiene 201 caracteres" in r.content.decode()


def test_declared_crs_of_a_zone_collection(client, pot_users, cali_plan):
    x, y = cabecera_m(pot_users["cali"])
    body = fc(square_feature(x, y, x + 1000, y + 1000, "urbano")) | {"version": 1}
    client.force_login(pot_users["planner"])
    for crs, text in (({"properties": [1]}, "«crs.properties» debe ser un objeto JSON"),
                      ({"properties": {"name": [1]}}, "«crs» debe ser un texto"),
                      ({"type": "name"}, "Falta el parámetro «crs»"),
                      ("EPSG:" + "9" * 300, "«crs» tiene 305 caracteres")):
        r = _send(client, "put", f"/api/v1/pot/plans/{cali_plan.pk}/zones/", body | {"crs": crs})
        assert r.status_code == 400 and text in r.json()["detail"], r.content
    assert cali_plan.zones.count() == 0
