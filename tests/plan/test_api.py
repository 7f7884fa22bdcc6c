"""The plan follow-up API against independent answers: municipalities derived from a geometry (shares computed
with geopandas/shapely on the raw DANE file), the per-entity report permission, the weighted roll-up (computed
by hand), whole-file imports, visibility, versions and the semaphore."""
import datetime as dt
import json

import geopandas as gpd
import pytest
from django.conf import settings
from shapely.geometry import box, mapping

pytestmark = pytest.mark.django_db
RAW_MUNIS = settings.GEOSIG_RAW_DIR / "boundaries" / "valle_municipios_mgn2021.geojson"


def _square_on_shared_limit(a: str, b: str, half_m: float = 2000):
    """A square (EPSG:4326) of side 2·half_m centred on the middle of the limit between a and b (raw file)."""
    munis = gpd.read_file(RAW_MUNIS).to_crs(9377).set_index("divipola")
    shared = munis.loc[a].geometry.boundary.intersection(munis.loc[b].geometry.boundary)
    from shapely.ops import linemerge

    line = linemerge(shared) if shared.geom_type == "MultiLineString" else shared
    if line.geom_type == "MultiLineString":
        line = max(line.geoms, key=lambda g: g.length)
    c = line.interpolate(0.5, normalized=True)
    square = gpd.GeoSeries([box(c.x - half_m, c.y - half_m, c.x + half_m, c.y + half_m)], crs=9377)
    shares = munis.geometry.intersection(square.iloc[0]).area / square.iloc[0].area
    return mapping(square.to_crs(4326).iloc[0]), set(shares[shares >= 0.01].index)


def _project_body(structure, geometry=None, **extra):
    body = {"code": extra.pop("code", "P-1"), "name": "Vía de prueba", "program": structure["program"].code,
            "entity": structure["a"].code, "term": "corto", "published": True}
    if geometry is not None:
        body["geometry"] = geometry
    return {**body, **extra}


def test_a_polygon_across_two_municipalities_gets_both(client, office, structure):
    geometry, expected = _square_on_shared_limit("76001", "76892")  # Cali | Yumbo
    assert {"76001", "76892"} <= expected  # the independent overlay sees both
    client.force_login(office)
    r = client.post("/api/v1/plan/projects/", _project_body(structure, geometry), content_type="application/json")
    assert r.status_code == 201, r.content
    props = r.json()["properties"]
    assert {m["divipola"] for m in props["municipalities"]} == expected
    assert {s["code"] for s in props["subregions"]} == {"sur"}  # both are in the Sur subregion (DANE table)
    assert props["municipalities_edited"] is False


def test_a_point_gets_the_municipality_that_contains_it(client, office, structure):
    client.force_login(office)
    point = {"type": "Point", "coordinates": [-76.52, 3.44]}  # Cali's centre (/api/v1/locate/ says 76001)
    located = client.get("/api/v1/locate/", {"lon": -76.52, "lat": 3.44}).json()
    r = client.post("/api/v1/plan/projects/", _project_body(structure, point), content_type="application/json")
    assert [m["name"] for m in r.json()["properties"]["municipalities"]] == [located["municipality"]["name"]]


def test_municipalities_can_be_edited_by_hand_and_outside_valle_is_refused(client, office, structure):
    client.force_login(office)
    body = _project_body(structure, {"type": "Point", "coordinates": [-76.52, 3.44]},
                         municipalities=["76001", "76109"])
    r = client.post("/api/v1/plan/projects/", body, content_type="application/json")
    assert r.status_code == 201
    props = r.json()["properties"]
    assert [m["divipola"] for m in props["municipalities"]] == ["76001", "76109"] and props["municipalities_edited"]
    far = _project_body(structure, {"type": "Point", "coordinates": [-74.08, 4.6]}, code="P-2")  # Bogotá
    r = client.post("/api/v1/plan/projects/", far, content_type="application/json")
    assert r.status_code == 422 and r.json()["error"] == "outside_valle"
    from plan.models import Project

    assert not Project.objects.filter(code="P-2").exists()


def _project(structure, entity="a", **kw):
    from plan.models import Project

    return Project.objects.create(code=kw.pop("code", "P-X"), name="Proyecto", program=kw.pop("program", structure["program"]),
                                  entity=structure[entity], term="corto", **{"published": True, **kw})


def test_an_entity_reports_only_on_its_own_projects(client, structure, reporters, office):
    project = _project(structure, entity="a")
    url = f"/api/v1/plan/projects/{project.pk}/reports/"
    client.force_login(reporters["b"])
    r = client.post(url, {"value": 30, "date": "2026-01-15"}, content_type="application/json")
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    project.refresh_from_db()
    assert project.progress == 0 and project.reports.count() == 0
    client.force_login(reporters["a"])
    r = client.post(url, {"value": 30, "date": "2026-01-15"}, content_type="application/json")
    assert r.status_code == 201, r.content
    client.force_login(office)
    r = client.post(url, {"value": 45, "date": "2026-02-15", "evidence_url": "https://example.org/acta.pdf"},
                    content_type="application/json")
    assert r.status_code == 201
    project.refresh_from_db()
    assert project.progress == 45 and project.reports.count() == 2
    history = client.get(f"/api/v1/plan/projects/{project.pk}/").json()["history"]
    assert [(h["action"], h["author"]) for h in history] == [("reportar avance", "reporta_a"),
                                                             ("reportar avance", "oficina")]
    client.logout()
    assert client.post(url, {"value": 50}, content_type="application/json").status_code == 403


def test_an_entity_cannot_write_the_portfolio(client, structure, reporters):
    client.force_login(reporters["a"])
    r = client.post("/api/v1/plan/projects/", _project_body(structure), content_type="application/json")
    assert r.status_code == 403


def test_evidence_must_be_what_its_extension_says(client, structure, reporters):
    from django.core.files.uploadedfile import SimpleUploadedFile

    project = _project(structure)
    client.force_login(reporters["a"])
    url = f"/api/v1/plan/projects/{project.pk}/reports/"
    fake = SimpleUploadedFile("acta.pdf", b"<html>no soy un PDF</html>", content_type="application/pdf")
    r = client.post(url, {"value": "10", "date": "2026-01-01", "evidence": fake})
    assert r.status_code == 400 and "PDF" in r.json()["detail"]
    assert project.reports.count() == 0
    pdf = SimpleUploadedFile("acta.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    r = client.post(url, {"value": "10", "date": "2026-01-01", "evidence": pdf})
    assert r.status_code == 201, r.content
    got = client.get(r.json()["evidence_file"])
    assert got.status_code == 200 and b"".join(got.streaming_content).startswith(b"%PDF-")


def test_rollup_to_a_dimension_is_the_nested_weighted_mean(client, structure):
    """Hand computation. Dimension «social» ← L1 (w 1) and L2 (w 3).
    L1 ← P1 (w 1) ← projects 20 % (w 1), 80 % (w 3): P1 = (20 + 240) / 4 = 65 → L1 = 65.
    L2 ← P2 (w 2) ← 50 % (w 1); P3 (w 1) ← 10 %, 40 % (w 1 each) = 25 → L2 = (100 + 25) / 3 = 41.667.
    Social = (65·1 + 41.667·3) / 4 = (65 + 125) / 4 = 47.5."""
    from plan.models import Dimension, Program, ProgramLine

    social = Dimension.objects.get(code="social")
    l1 = ProgramLine.objects.create(code="l1", name="L1", dimension=social, weight=1)
    l2 = ProgramLine.objects.create(code="l2", name="L2", dimension=social, weight=3)
    p1 = Program.objects.create(line=l1, code="p1", name="P1", weight=1)
    p2 = Program.objects.create(line=l2, code="p2", name="P2", weight=2)
    p3 = Program.objects.create(line=l2, code="p3", name="P3", weight=1)
    for i, (prog, progress, weight) in enumerate([(p1, 20, 1), (p1, 80, 3), (p2, 50, 1), (p3, 10, 1), (p3, 40, 1)]):
        _project(structure, code=f"R-{i}", program=prog, progress=progress, weight=weight)
    data = client.get("/api/v1/plan/progress/").json()
    dim = next(d for d in data["dimensions"] if d["code"] == "social")
    assert dim["progress"] == pytest.approx(47.5)
    lines = {ln["code"]: ln["progress"] for ln in dim["lines"]}
    assert lines == {"l1": pytest.approx(65), "l2": pytest.approx(41.67, abs=0.005)}
    assert dim["projects"] == 5
    # a dimension without projects has no progress (not 0 %)
    assert next(d for d in data["dimensions"] if d["code"] == "politico")["progress"] is None


def test_anonymous_sees_only_published_items(client, structure, office):
    _project(structure, code="PUB")
    _project(structure, code="BORRADOR", published=False)
    codes = [f["properties"]["code"] for f in client.get("/api/v1/plan/projects/").json()["features"]]
    assert codes == ["PUB"]
    hidden = _project(structure, code="OTRO", published=False)
    assert client.get(f"/api/v1/plan/projects/{hidden.pk}/").status_code == 404
    client.force_login(office)
    assert len(client.get("/api/v1/plan/projects/").json()["features"]) == 3


def test_a_stale_version_is_a_409_and_changes_nothing(client, office, structure):
    client.force_login(office)
    pid = client.post("/api/v1/plan/projects/", _project_body(structure), content_type="application/json").json()["id"]
    r = client.patch(f"/api/v1/plan/projects/{pid}/", {"name": "Nuevo", "version": 1}, content_type="application/json")
    assert r.status_code == 200 and r.json()["properties"]["version"] == 2
    r = client.patch(f"/api/v1/plan/projects/{pid}/", {"name": "Pisado", "version": 1}, content_type="application/json")
    assert r.status_code == 409
    assert client.get(f"/api/v1/plan/projects/{pid}/").json()["properties"]["name"] == "Nuevo"


def test_goal_semaphore_follows_the_thresholds(client, office, structure):
    """Baseline 40 (2023) → target 60 (2027). A value of 46 on 2025-12-31: progress (46−40)/20 = 30 %;
    expected = 731 / 1461 days (2023-12-31 → 2025-12-31, 2024 is a leap year) = 50.03 %; ratio 0.5996 →
    «rezagado» with thresholds 0.9/0.7, «en riesgo» at 0.9/0.55."""
    from plan.models import PlanSettings

    client.force_login(office)
    body = {"code": "M-1", "name": "Cobertura", "program": structure["program"].code, "entity": "ent-a",
            "indicator": "Cobertura de acueducto", "unit": "%", "baseline_value": 40, "baseline_year": 2023,
            "baseline_source": "prueba", "target_value": 60, "target_year": 2027, "published": True}
    gid = client.post("/api/v1/plan/goals/", body, content_type="application/json").json()["id"]
    client.post(f"/api/v1/plan/goals/{gid}/reports/", {"value": 46, "date": "2025-12-31"}, content_type="application/json")
    g = client.get(f"/api/v1/plan/goals/{gid}/").json()
    assert g["progress_pct"] == pytest.approx(30.0)
    assert g["expected_pct"] == pytest.approx(100 * 731 / 1461, abs=0.01)
    assert g["semaphore"] == "rezagado"
    PlanSettings.objects.update(at_risk_min=0.55)
    assert client.get(f"/api/v1/plan/goals/{gid}/").json()["semaphore"] == "en_riesgo"


CSV_HEADER = "codigo,nombre,programa,entidad,plazo,avance,municipios,geometria,publicado\n"


def test_an_import_with_one_bad_row_writes_nothing(client, office, structure):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from plan.models import Project, Revision

    rows = ("I-1,Uno,prog-prueba,ent-a,corto,10,76001,,sí\n"
            "I-2,Dos,prog-prueba,ent-a,mediano,150,76109,,sí\n"  # progress 150 > 100: row 3, column «avance»
            "I-3,Tres,prog-prueba,ent-a,largo,5,,POINT(-76.52 3.44),sí\n")
    client.force_login(office)
    before = Revision.objects.count()
    f = SimpleUploadedFile("proyectos.csv", (CSV_HEADER + rows).encode())
    r = client.post("/api/v1/plan/import/", {"kind": "projects", "file": f})
    assert r.status_code == 400, r.content
    body = r.json()
    assert "fila 3" in body["detail"] and "«avance»" in body["detail"]
    assert body["context"]["errors"] == [{"row": 3, "column": "avance", "detail": body["context"]["errors"][0]["detail"]}]
    assert not Project.objects.filter(code__startswith="I-").exists() and Revision.objects.count() == before
    good = rows.replace(",150,", ",15,")
    r = client.post("/api/v1/plan/import/", {"kind": "projects", "file": SimpleUploadedFile("p.csv", (CSV_HEADER + good).encode())})
    assert r.status_code == 200 and r.json()["written"] == 3
    assert list(Project.objects.get(code="I-3").municipalities.values_list("divipola", flat=True)) == ["76001"]


def test_an_xlsx_import_with_decimal_comma_and_a_bad_header(client, office, structure):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from openpyxl import Workbook

    def xlsx(header, *rows):
        wb = Workbook()
        ws = wb.active
        ws.append(header)
        for row in rows:
            ws.append(row)
        out = io.BytesIO()
        wb.save(out)
        return SimpleUploadedFile("p.xlsx", out.getvalue())

    client.force_login(office)
    r = client.post("/api/v1/plan/import/", {"kind": "projects", "file": xlsx(["codigo", "nombre", "color"], ["X", "Y", "z"])})
    assert r.status_code == 400 and "Fila 1" in r.json()["detail"] and "color" in r.json()["detail"]
    r = client.post("/api/v1/plan/import/", {"kind": "projects", "file": xlsx(
        ["codigo", "nombre", "programa", "entidad", "plazo", "avance"], ["X-1", "Equis", "prog-prueba", "ent-a", "corto", "12,5"])})
    assert r.status_code == 200, r.content
    from plan.models import Project

    assert Project.objects.get(code="X-1").progress == 12.5


def test_templates_and_structure(client, structure):
    from plan import seed

    r = client.get("/api/v1/plan/templates/projects.csv")
    assert r.status_code == 200 and r.content.decode("utf-8-sig").startswith("codigo,nombre,descripcion,programa")
    s = client.get("/api/v1/plan/structure/").json()
    assert [d["code"] for d in s["dimensions"]] == [c for c, _n in seed.DIMENSIONS]
    names = {ln["name"] for ln in s["unassigned_lines"]}
    assert {n for _c, n in seed.LINES} <= names  # the plan does not say which dimension: seeded unassigned
    assert len(s["objectives"]) == 5 and "asignación" in s["note"]


def test_the_office_draws_a_project_in_the_admin(client, make_user, structure):
    """The admin's Leaflet form (what the office draws) saves the geometry, derives the municipalities and keeps
    a revision with the author."""
    from plan.models import Project, Revision

    office = make_user("oficina_admin", "Oficina de planeación", is_staff=True)
    client.force_login(office)
    assert client.get("/admin/plan/project/add/").status_code == 200
    geometry, expected = _square_on_shared_limit("76001", "76892")
    form = {"code": "ADM-1", "name": "Dibujado", "description": "", "program": structure["program"].pk,
            "entity": structure["a"].pk, "term": "corto", "status": "formulado", "progress": "0", "weight": "1",
            "geom": json.dumps(geometry), "published": "on", "source": "",
            "budgets-TOTAL_FORMS": "1", "budgets-INITIAL_FORMS": "0", "budgets-MIN_NUM_FORMS": "0",
            "budgets-MAX_NUM_FORMS": "1000", "budgets-0-year": "2026", "budgets-0-funding_source": "SGP",
            "budgets-0-amount_cop": "1500000000",
            "links-TOTAL_FORMS": "0", "links-INITIAL_FORMS": "0", "links-MIN_NUM_FORMS": "0", "links-MAX_NUM_FORMS": "1000"}
    r = client.post("/admin/plan/project/add/", form)
    assert r.status_code == 302, r.content.decode()[:3000]
    project = Project.objects.get(code="ADM-1")
    assert set(project.municipalities.values_list("divipola", flat=True)) == expected
    assert project.budgets.get().amount_cop == 1_500_000_000
    rev = Revision.objects.get(model="project", object_id=project.pk)
    assert rev.author == office and rev.data["budgets"] == [[2026, "SGP", 1500000000]]


def test_a_geometry_uploaded_in_another_crs_is_reprojected_and_assigned(client, office, structure, tmp_path):
    """The square on the Cali | Yumbo limit written as a GeoPackage in EPSG:9377: read through the safe readers,
    reprojected to EPSG:4326, municipalities as the independent overlay says."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from shapely.geometry import shape

    geometry, expected = _square_on_shared_limit("76001", "76892")
    path = tmp_path / "obra.gpkg"
    gpd.GeoDataFrame({"n": [1]}, geometry=[shape(geometry)], crs=4326).to_crs(9377).to_file(path, driver="GPKG")
    project = _project(structure)
    client.force_login(office)
    url = f"/api/v1/plan/projects/{project.pk}/geometry/"
    r = client.post(url, {"file": SimpleUploadedFile("obra.gpkg", path.read_bytes())})
    assert r.status_code == 200, r.content
    assert {m["divipola"] for m in r.json()["properties"]["municipalities"]} == expected
    x0, y0 = r.json()["geometry"]["coordinates"][0][0]
    assert -77.6 < x0 < -75.6 and 3.0 < y0 < 5.1  # lon/lat again
    fake = SimpleUploadedFile("obra.gpkg", b"no soy un geopackage")
    assert client.post(url, {"file": fake}).status_code in (400, 422)
    client.logout()
    assert client.post(url, {"file": SimpleUploadedFile("obra.gpkg", path.read_bytes())}).status_code == 403


def test_links_to_analyses_exist_and_a_draft_pot_plan_is_not_linked(client, office, structure):
    from cities.models import Scenario
    from territorial.models import Municipality
    from territorial.pot.models import Plan

    Scenario.objects.create(name="tendencia-2035", kind="trend", horizon_year=2035)
    draft = Plan.objects.create(municipality=Municipality.objects.get(divipola="76001"), name="Borrador")
    client.force_login(office)
    body = _project_body(structure, links=[{"kind": "city_scenario", "ref": "tendencia-2035"}])
    r = client.post("/api/v1/plan/projects/", body, content_type="application/json")
    assert r.status_code == 201
    link = r.json()["properties"]["links"][0]
    assert link["kind"] == "city_scenario" and "tendencia-2035" in link["label"] and link["url"] == "/ciudades/"
    body = _project_body(structure, code="P-3", links=[{"kind": "pot_plan", "ref": str(draft.pk)}])
    r = client.post("/api/v1/plan/projects/", body, content_type="application/json")
    assert r.status_code == 400 and "análisis 1" in r.json()["detail"]


def test_the_page_in_english(client, structure):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/plan/").content.decode()
    assert "Plan follow-up: public accountability" in html and "Progress by dimension" in html
    r = client.get("/api/v1/plan/projects/", {"term": "eterno"})
    assert r.status_code == 400 and "Valid values" in r.json()["detail"]


def test_an_entity_imports_reports_only_for_its_projects(client, structure, reporters):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from plan.models import ProgressReport

    mine = _project(structure, entity="a", code="MIO")
    _project(structure, entity="b", code="AJENO")
    header = "tipo,codigo,valor,fecha,nota\n"
    client.force_login(reporters["a"])
    bad = header + "proyecto,MIO,20,2026-01-10,bien\nproyecto,AJENO,30,2026-01-10,no es mío\n"
    r = client.post("/api/v1/plan/import/", {"kind": "reports", "file": SimpleUploadedFile("r.csv", bad.encode())})
    assert r.status_code == 403 and "fila 3" in r.json()["detail"]  # every bad row is a permission refusal
    assert ProgressReport.objects.count() == 0
    mixed = bad + "proyecto,MIO,-5,2026-01-10,negativo\n"
    r = client.post("/api/v1/plan/import/", {"kind": "reports", "file": SimpleUploadedFile("r.csv", mixed.encode())})
    assert r.status_code == 400 and [e["row"] for e in r.json()["context"]["errors"]] == [3, 4]
    good = header + "proyecto,MIO,20,2026-01-10,bien\nproyecto,MIO,35,2026-02-10,mejor\n"
    r = client.post("/api/v1/plan/import/", {"kind": "reports", "file": SimpleUploadedFile("r.csv", good.encode())})
    assert r.status_code == 200
    mine.refresh_from_db()
    assert mine.progress == 35 and mine.reports.count() == 2
    r = client.post("/api/v1/plan/import/", {"kind": "projects", "file": SimpleUploadedFile("p.csv", b"codigo\n")})
    assert r.status_code == 403  # the portfolio itself is the office's
