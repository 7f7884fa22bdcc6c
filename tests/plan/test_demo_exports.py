"""The DEMO portfolio (labelled everywhere, removable in one command) and the downloads of the portfolio:
CSV for a Spanish Excel, XLSX, GeoPackage (read back with pyogrio) and the standalone HTML map."""
import io
import json
import re

import pyogrio
import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(structure):
    call_command("plan_demo", "--rebuild", stdout=io.StringIO())


def test_demo_is_labelled_everywhere_and_removable(client, demo, structure):
    from plan.models import Entity, Goal, Program, ProgramLine, ProgressReport, Project

    demo_projects = Project.objects.filter(is_demo=True)
    assert demo_projects.count() == 4 * ProgramLine.objects.count()
    assert all(p.name.startswith("DEMO") and p.code.startswith("DEMO") and p.source.startswith("DEMO")
               for p in demo_projects)
    assert all(p.municipalities.exists() for p in demo_projects)
    fc = client.get("/api/v1/plan/projects/").json()
    assert fc["features"] and all(f["properties"]["is_demo"] for f in fc["features"] if
                                  f["properties"]["code"].startswith("DEMO"))
    page = client.get("/plan/").content.decode()
    assert "DEMO" in page
    # the demo assigned dimensions only to lines that had none, and says so
    assert ProgramLine.objects.filter(dimension_is_demo=True).count() == ProgramLine.objects.filter(
        dimension__isnull=False).count()
    # rebuilding does not duplicate; removing leaves the real rows (the test's program and entities)
    call_command("plan_demo", "--rebuild", stdout=io.StringIO())
    assert Project.objects.filter(is_demo=True).count() == demo_projects.count()
    call_command("plan_demo", "--remove", stdout=io.StringIO())
    assert not any(m.objects.filter(is_demo=True).exists() for m in (Project, Goal, Program, Entity, ProgressReport))
    assert not ProgramLine.objects.filter(dimension__isnull=False).exists()
    assert Program.objects.filter(code="prog-prueba").exists() and Entity.objects.filter(code="ent-a").exists()


def test_csv_for_spanish_excel(client, demo):
    r = client.get("/api/v1/plan/export.csv")
    assert r.status_code == 200 and "DEMO_portafolio_plan.csv" in r["Content-Disposition"]
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeffcodigo;nombre;demo;")
    published = len(client.get("/api/v1/plan/projects/").json()["features"])
    rows = text.strip().splitlines()[1:]
    assert len(rows) == published and all(";DEMO;" in row for row in rows)


def test_geopackage_and_xlsx(client, demo, tmp_path):
    from openpyxl import load_workbook

    published = client.get("/api/v1/plan/projects/").json()["features"]
    r = client.get("/api/v1/plan/export.gpkg")
    path = tmp_path / "p.gpkg"
    path.write_bytes(r.content)
    gdf = pyogrio.read_dataframe(path, layer="proyectos_plan")
    assert len(gdf) == len(published) and set(gdf["codigo"]) == {f["properties"]["code"] for f in published}
    assert gdf.crs.to_epsg() == 4326 and gdf.geometry.notna().all()
    wb = load_workbook(io.BytesIO(client.get("/api/v1/plan/export.xlsx").content))
    assert wb.sheetnames == ["Proyectos", "Presupuesto", "Metas"]
    assert wb["Proyectos"].max_row == len(published) + 1


def _resources(html: str) -> list:
    from html.parser import HTMLParser

    found = []

    class Tags(HTMLParser):  # script and style bodies are not parsed as tags
        def handle_starttag(self, tag, attrs):
            found.extend((tag, k, v) for k, v in attrs if k in ("src", "href"))

    Tags().feed(html)
    return found


def test_standalone_html_map_works_offline(client, demo):
    r = client.get("/api/v1/plan/export.html")
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    html = r.content.decode()
    assert "L.map(" in html and "leaflet-container" in html  # Leaflet's JS and CSS inlined
    assert _resources(html) == []  # no <script src>, <link href>, <img src>: nothing fetched
    data = json.loads(re.search(r'id="plan-map-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert len(data["features"]) == len(client.get("/api/v1/plan/projects/").json()["features"])
    assert "DEMO" in html


def test_filters_narrow_the_map_and_the_progress(client, demo):
    from plan.models import Project

    cali = set(Project.objects.filter(published=True, municipalities__divipola="76001").values_list("code", flat=True))
    fc = client.get("/api/v1/plan/projects/", {"municipality": "76001"}).json()
    assert {f["properties"]["code"] for f in fc["features"]} == cali
    assert client.get("/api/v1/plan/progress/", {"municipality": "76001"}).json()["projects"] == len(cali)
    assert client.get("/api/v1/plan/projects/", {"term": "eterno"}).status_code == 400


def test_factsheet_section_lists_the_places_projects(demo):
    from plan.models import Project
    from plan.services import factsheet
    from territorial.models import Municipality, Subregion

    project = Project.objects.filter(published=True).prefetch_related("municipalities").first()
    m = project.municipalities.first()

    class Subject:
        kind, code, name, municipality, subregion = "municipio", m.divipola, m.name, m, m.subregion
        divipolas = (m.divipola,)

    section = factsheet.build(Subject)
    codes = [row[0] for row in section["tables"][0]["rows"]]
    assert project.code in codes and section["demo"] is True
    expected = set(Project.objects.filter(published=True, municipalities=m).values_list("code", flat=True))
    assert set(codes) == expected
    assert Subregion.objects.exists() and Municipality.objects.count() == 42


def test_the_plan_section_is_registered_in_the_fact_sheets(demo):
    from territorial import factsheets

    sheet = factsheets.build_sheet("subregion", "sur")
    plan = next(s for s in sheet["sections"] if s["key"] == "plan")
    assert plan["order"] == 70 and plan["content"]["demo"] is True
    from plan.models import Project

    expected = set(Project.objects.filter(published=True, municipalities__subregion__code="sur").values_list("code", flat=True))
    assert {row[0] for row in plan["content"]["tables"][0]["rows"]} == expected
