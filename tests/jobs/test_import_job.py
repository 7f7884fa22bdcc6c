"""Uploads above GEOSIG_IMPORT_JOB_BYTES are imported by a worker (kind «layer_import»), not in the request:
202 with the job, the file kept only until the job ends, the layer stored as a direct import would store it."""
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs import services
from jobs.models import Job
from layers.models import Feature, Layer
from tests.layers.conftest import write_vector

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    points = [shapely.Point(-76.5 + i / 100, 3.4) for i in range(3)]
    path = write_vector(tmp_path / "pozos.geojson", gpd.GeoDataFrame({"n": [1, 2, 3]}, geometry=points, crs=4326),
                        "GeoJSON")
    settings.GEOSIG_IMPORT_JOB_BYTES = path.stat().st_size - 1  # this file is «big»
    return lambda: SimpleUploadedFile("pozos.geojson", path.read_bytes(), content_type="application/geo+json")


@pytest.fixture
def analyst(client):
    user = User.objects.create_user("ana", password="x-secreta-123")
    user.groups.add(Group.objects.get(name="Analista CVC"))
    client.force_login(user)
    return user


def test_a_big_upload_is_queued_then_imported_by_the_worker_code(client, upload, analyst, settings):
    r = client.post("/api/v1/layers/upload/", {"file": upload(), "theme": "hidrografia", "title": "Pozos"})
    assert r.status_code == 202, r.content
    body = r.json()
    assert (body["kind"], body["state"]) == ("layer_import", "queued")
    assert not Layer.objects.exists()  # nothing imported inside the request
    job = Job.objects.get(pk=body["id"])
    stored = Path(settings.MEDIA_ROOT) / "jobs" / "uploads" / job.params["file"]
    assert stored.is_file()
    job = services.run_inline(job)
    assert job.state == "done", job.error
    layer = Layer.objects.get(slug="pozos")
    assert (layer.title, layer.theme, layer.created_by) == ("Pozos", "hidrografia", analyst)
    assert Feature.objects.filter(layer=layer).count() == 3  # the three points written above
    assert job.result["layers"][0]["slug"] == "pozos"
    assert not stored.parent.exists()  # the uploaded copy is gone once the job ended


def test_the_page_says_the_import_is_queued(client, upload, analyst):
    r = client.post("/capas/subir/", {"file": upload(), "theme": "otro"})
    job = Job.objects.get(kind="layer_import")
    assert r.status_code == 200 and f"trabajo n.º {job.pk}" in r.content.decode()


def test_a_failed_big_import_leaves_no_file_and_a_spanish_error(client, upload, analyst, settings, tmp_path):
    bad = SimpleUploadedFile("roto.geojson", b'{"type": "FeatureCollection", "features": [' + b" " * 100,
                             content_type="application/geo+json")
    settings.GEOSIG_IMPORT_JOB_BYTES = 10
    r = client.post("/api/v1/layers/upload/", {"file": bad})
    assert r.status_code == 202
    job = services.run_inline(Job.objects.get(pk=r.json()["id"]))
    assert job.state == "failed" and job.error and "Traceback" not in job.error
    assert not Layer.objects.exists()
    assert list((Path(settings.MEDIA_ROOT) / "jobs" / "uploads").iterdir()) == []


def test_small_uploads_still_import_in_the_request(client, upload, analyst, settings):
    settings.GEOSIG_IMPORT_JOB_BYTES = 10_000_000
    r = client.post("/api/v1/layers/upload/", {"file": upload()})
    assert r.status_code == 201 and not Job.objects.exists()
