"""Wrong input to the plan follow-up API: a Spanish 4xx, never a 500, and nothing stored (issue #14's rule)."""
import re

import pytest

pytestmark = pytest.mark.django_db
SPANISH = re.compile(r"«|\b(de|la|el|debe|falta|no|un|una|en|existe|desconocid[oa]s?|válid[oa]s?|máximo)\b", re.IGNORECASE)


def _spanish_4xx(r, what):
    assert 400 <= r.status_code < 500, (what, r.status_code, r.content[:300])
    assert SPANISH.search(r.json()["detail"]), (what, r.json())


BASE = {"code": "B-1", "name": "Malo", "program": "prog-prueba", "entity": "ent-a", "term": "corto"}
BAD_PROJECTS = [
    [1, 2],
    {**BASE, "color": "rojo"},
    {**BASE, "term": "eterno"},
    {**BASE, "progress": "nan"},
    {**BASE, "progress": "1e400"},
    {**BASE, "progress": 101},
    {**BASE, "name": "a\x00b"},
    {**BASE, "name": "x" * 400},
    {**BASE, "start_date": "2026-02-30"},
    {**BASE, "start_date": "2026-03-01", "end_date": "2026-01-01"},
    {**BASE, "program": "no-existe"},
    {**BASE, "geometry": {"type": "Point", "coordinates": ["a", "b"]}},
    {**BASE, "geometry": {"type": "GeometryCollection", "geometries": []}},
    {**BASE, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}},
    {**BASE, "geometry": {"type": "Point", "coordinates": [500, 3]}},
    {**BASE, "geometry": {"type": "Point", "coordinates": [-76.5, 3.4]}, "crs": 999999},
    {**BASE, "geometry": "POINT(-76.5"},
    {**BASE, "municipalities": ["99999"]},
    {**BASE, "budgets": [{"year": 1800, "funding_source": "SGP", "amount_cop": 1}]},
    {**BASE, "budgets": [{"year": 2026, "funding_source": "SGP", "amount_cop": "nan"}]},
    {**BASE, "budgets": [{"year": 2026, "funding_source": "SGP", "amount_cop": 1}] * 2},
    {**BASE, "budgets": "mucho"},
    {**BASE, "links": [{"kind": "pot_plan", "ref": "²"}]},
    {**BASE, "links": [{"kind": "pot_plan", "ref": "9" * 40}]},
    {**BASE, "links": [{"kind": "magia", "ref": "1"}]},
    {**BASE, "links": [{"kind": "city_scenario", "ref": "no-existe"}]},
    {**BASE, "published": "quizá"},
]


@pytest.mark.parametrize("body", BAD_PROJECTS, ids=range(len(BAD_PROJECTS)))
def test_bad_project_bodies(client, office, body):
    from plan.models import Project, Revision

    client.force_login(office)
    r = client.post("/api/v1/plan/projects/", body, content_type="application/json")
    _spanish_4xx(r, body)
    assert not Project.objects.exists() and not Revision.objects.exists()


@pytest.mark.parametrize("body", [{"value": "x"}, {"value": 101}, {"value": 5, "date": "2999-01-01"},
                                  {"value": 5, "evidence_url": "javascript:alert(1)"}, {"value": 5, "otro": 1}, [5]])
def test_bad_reports(client, structure, reporters, body):
    from plan.models import Project

    p = Project.objects.create(code="R", name="R", program=structure["program"], entity=structure["a"], term="corto")
    client.force_login(reporters["a"])
    _spanish_4xx(client.post(f"/api/v1/plan/projects/{p.pk}/reports/", body, content_type="application/json"), body)
    p.refresh_from_db()
    assert p.reports.count() == 0 and p.version == 1


@pytest.mark.parametrize("url", ["/api/v1/plan/projects/?term=x", "/api/v1/plan/projects/?municipality=%00",
                                 "/api/v1/plan/goals/?semaphore=azul", "/api/v1/plan/progress/?status=x",
                                 "/api/v1/plan/export.doc", "/api/v1/plan/templates/nada.csv",
                                 "/api/v1/plan/projects/987654/", "/api/v1/plan/evidence/987654/"])
def test_bad_queries(client, structure, url):
    _spanish_4xx(client.get(url), url)


@pytest.mark.parametrize("name, content", [("p.csv", b"\xff\xfe\x00"), ("p.xlsx", b"PK\x03\x04roto"),
                                           ("p.xlsx", b"no zip"), ("p.txt", b"a,b"), ("p.csv", b""),
                                           ("p.csv", b"codigo,nombre\n")])
def test_bad_import_files(client, office, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(office)
    r = client.post("/api/v1/plan/import/", {"kind": "projects", "file": SimpleUploadedFile(name, content)})
    _spanish_4xx(r, name)
