import pytest


@pytest.fixture
def client_(client, cities):
    return client


def test_balance_api_shape(client_):
    r = client_.get("/api/v1/cities/balance/?year=2018&basis=cabecera")
    assert r.status_code == 200
    d = r.json()
    assert set(d) >= {"meta", "measures", "rank_size", "lorenz", "theil", "tables", "links"}
    assert d["meta"]["year"] == 2018 and d["meta"]["basis"] == "cabecera" and d["meta"]["population_source"]
    gini = next(m for m in d["measures"] if m["key"] == "gini")
    assert gini["unit"] == "0–1" and 0 < gini["value"] < 1
    assert d["tables"]["municipios"]["rows"][0]["name"] == "Cali"
    assert {c["key"] for c in d["tables"]["subregiones"]["columns"]} >= {"population_share_pct", "area_share_pct",
                                                                          "intermediate_cities", "weighted_hansen"}
    assert d["rank_size"]["gabaix_ibragimov"]["n"] == 42
    assert len(d["lorenz"]["x"]) == 43


@pytest.mark.parametrize("q, msg", [("year=1990", "1990"), ("basis=x", "«basis» no admite 'x'. Valores válidos: cabecera, total"),
                                    ("year=dos", "entero"),
                                    ("basis=total&scenario=ninguno", "Escenario"),
                                    ("gravity_beta=-1", "gravity_beta")])
def test_balance_api_errors_are_400_json(client_, q, msg):
    r = client_.get("/api/v1/cities/balance/?" + q)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_parameter" and msg in r.json()["detail"]


def test_report_download_csv(client_):
    r = client_.get("/api/v1/cities/balance/report.csv?year=2018")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    r = client_.get("/api/v1/cities/balance/report.doc?year=2018")
    assert r.status_code == 400 and "válidos: html, pdf, csv, csv_es, xlsx, json" in r.json()["detail"]


def test_scenario_post_requires_staff(client_, django_user_model):
    assert client_.post("/api/v1/cities/scenarios/", {"name": "x", "kind": "trend", "horizon_year": 2030}).status_code in (401, 403)
    staff = django_user_model.objects.create_user("ana", password="x", is_staff=True)
    client_.force_login(staff)
    r = client_.post("/api/v1/cities/scenarios/", {"name": "opt", "kind": "optimistic", "horizon_year": 2030,
                                                   "adjustments": "norte=0.5"})
    assert r.status_code == 201
    assert client_.get("/api/v1/cities/scenarios/").json()[0]["adjustments"][0]["growth_pp"] == 0.5
    r = client_.get("/api/v1/cities/balance/?basis=total&scenario=opt")
    assert r.status_code == 200 and r.json()["meta"]["year"] == 2030


def test_page_renders_and_shows_errors(client_):
    r = client_.get("/ciudades/?year=2018&basis=cabecera")
    assert r.status_code == 200 and "Sistema de ciudades" in r.content.decode()
    r = client_.get("/ciudades/?year=1990")
    assert r.status_code == 400 and "1990" in r.content.decode()


def test_matrix_upload_validates_and_saves_nothing_on_error(client_, importer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cities.models import TravelMatrix

    client_.force_login(importer)
    n = TravelMatrix.objects.count()
    bad = SimpleUploadedFile("m.csv", b"codigo,76001,76020\n76001,0,1\n76020,1,0\n")
    r = client_.post("/api/v1/cities/matrices/", {"file": bad, "name": "dos", "source": "x"})
    assert r.status_code == 400 and "faltan municipios" in r.json()["detail"]
    assert TravelMatrix.objects.count() == n


def test_functions_upload_marks_demo(client_, importer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client_.force_login(importer)
    f = SimpleUploadedFile("f.csv", "codigo,funcion,cantidad\n76001,aeropuerto,1\n76109,puerto marítimo,1\n".encode())
    r = client_.post("/api/v1/cities/functions/", {"file": f, "name": "demo", "source": "ejemplo", "demo": "1"})
    assert r.status_code == 201 and r.json() == {"name": "demo", "version": 1, "items": 2, "demo": True}
    page = client_.get("/ciudades/?year=2018").content.decode()
    assert "DEMO" in page and "Escalograma" in page


def test_import_templates(client_):
    r = client_.get("/api/v1/cities/templates/funciones.csv")
    assert r.status_code == 200 and r.content.decode().strip() == "codigo,funcion,cantidad,fuente"
    assert client_.get("/api/v1/cities/templates/otra.csv").status_code == 400


def test_attributes_upload_and_shown_with_places(client_, importer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client_.force_login(importer)
    f = SimpleUploadedFile("a.csv", b"codigo,atributo,anio,valor,unidad,fuente\n76001001,poblacion,2018,1500,hab,censo local\n")
    assert client_.post("/api/v1/cities/attributes/", {"file": f}).status_code == 201
    d = client_.get("/api/v1/cities/balance/?year=2018&places=1").json()
    place = next(p for p in d["places"] if p["code"] == "76001001")
    assert place["attributes"]["poblacion"] == {"value": 1500.0, "unit": "hab", "year": 2018}
    assert len(d["places"]) == 527


@pytest.mark.parametrize("q, msg", [("permutations=100000000", "permutations"), ("seed=-1", "seed"),
                                    ("gravity_beta=nan", "gravity_beta"), ("gravity_beta=1000", "gravity_beta")])
def test_balance_api_rejects_unbounded_numbers(client_, q, msg):
    r = client_.get("/api/v1/cities/balance/?" + q)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_parameter" and msg in r.json()["detail"]


@pytest.mark.parametrize("entry, msg", [
    (7, "#1"),
    ({"target_type": "subregion", "target_code": "norte"}, "growth_pp"),
    ({"target_type": "subregion", "target_code": "norte", "growth_pp": "mucho"}, "mucho"),
    ({"target_type": "subregion", "target_code": "norte", "growth_pp": None}, "#1"),
])
def test_scenario_post_bad_adjustment_is_400_and_saves_nothing(client_, django_user_model, entry, msg):
    from cities.models import Scenario

    client_.force_login(django_user_model.objects.create_user("ivo", password="x", is_staff=True))
    body = {"name": "malo", "kind": "optimistic", "horizon_year": 2030, "adjustments": [entry]}
    r = client_.post("/api/v1/cities/scenarios/", body, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"] == "invalid_parameter"
    assert msg in r.json()["detail"]
    assert not Scenario.objects.filter(name="malo").exists()


@pytest.mark.parametrize("url, what", [("/api/v1/cities/matrices/", "matriz"),
                                       ("/api/v1/cities/functions/", "inventario"),
                                       ("/api/v1/cities/attributes/", "atributos")])
def test_uploads_share_role_check_and_missing_file_error(client_, django_user_model, importer, url, what):
    from cities import api

    client_.force_login(django_user_model.objects.create_user("noe", password="x"))
    assert client_.post(url, {"name": "x", "source": "y"}).status_code == 403
    client_.force_login(django_user_model.objects.create_user("ema", password="x", is_staff=True))  # admin access
    r = client_.post(url, {"name": "x", "source": "y"})
    assert r.status_code == 403 and "Analista CVC" in r.json()["detail"]
    client_.force_login(importer)
    r = client_.post(url, {"name": "x", "source": "y"})
    assert r.status_code == 400 and "'file'" in r.json()["detail"] and what in r.json()["detail"]
    # one helper does it for all three endpoints (no repeated staff check + lookup + error)
    assert callable(api._staff_upload)


def test_scenario_post_adjustments_not_a_list_is_400(client_, django_user_model):
    client_.force_login(django_user_model.objects.create_user("uma", password="x", is_staff=True))
    r = client_.post("/api/v1/cities/scenarios/", {"name": "malo", "kind": "optimistic", "horizon_year": 2030,
                                                   "adjustments": 5}, content_type="application/json")
    assert r.status_code == 400 and "adjustments" in r.json()["detail"]
