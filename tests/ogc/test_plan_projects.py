"""The plan app's published projects as an OGC collection (read through plan's published_projects_queryset):
published ones appear with their properties, unpublished ones never; filters and datetime (start date) apply."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point

pytestmark = pytest.mark.django_db
URL = "/ogc/collections/proyectos-plan/items"


@pytest.fixture
def projects(territory):
    from django.apps import apps

    if not apps.is_installed("plan"):
        pytest.skip("la app plan no está instalada: no hay colección de proyectos")
    from plan.models import Entity, Program, ProgramLine, Project
    from plan.seed import seed

    seed(apps)
    program = Program.objects.create(line=ProgramLine.objects.get(code="sistema-ciudades"), code="prog-ogc",
                                     name="Programa OGC")
    entity = Entity.objects.create(code="ent-ogc", name="Entidad OGC")
    common = dict(program=program, entity=entity, term="corto", geom=Point(-76.52, 3.44, srid=4326))
    return {
        "public": Project.objects.create(code="P-PUB", name="Publicado", published=True, status="en_ejecucion",
                                         start_date=dt.date(2025, 3, 1), **common),
        "hidden": Project.objects.create(code="P-OCULTO", name="Sin publicar", published=False, **common),
    }


def test_published_projects_only(client, projects):
    body = client.get(URL, {"limit": 100}).json()
    codes = {f["properties"]["code"] for f in body["features"]}
    assert codes == {"P-PUB"}
    f = body["features"][0]
    assert f["geometry"]["coordinates"] == pytest.approx([-76.52, 3.44])
    assert f["properties"]["status"] == "en_ejecucion" and f["properties"]["start_date"] == "2025-03-01"
    assert client.get(f"{URL}/{projects['hidden'].pk}").status_code == 404
    assert client.get(URL, {"status": "terminado"}).json()["numberMatched"] == 0
    assert client.get(URL, {"datetime": "2025-01-01/2025-12-31"}).json()["numberMatched"] == 1
    assert client.get(URL, {"datetime": "2024-01-01/2024-12-31"}).json()["numberMatched"] == 0
