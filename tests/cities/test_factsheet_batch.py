"""Fact sheets in a batch (job kind «factsheets»): started through the API by staff or a POT role (anonymous or
no role: refused before any row is written), run through the jobs machinery, one ZIP whose PDFs are the single
sheet's PDFs — their first page read with poppler's pdftotext names each municipality; cancel between sheets."""
import io
import zipfile

import pytest

from jobs import services as jobs
from jobs.models import Job
from territorial import jobs as territorial_jobs
from territorial.services import factsheet_batch
from tests.cities.test_factsheets import pdf_first_page_text
from tests.territorial.test_pot_fixtures import pot_users  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
START = "/api/v1/factsheets/batch/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_two_municipalities_in_one_zip_each_pdf_names_its_municipality(client, cities, make_user, tmp_path):
    staff = make_user("jefa", is_staff=True)
    client.force_login(staff)
    r = client.post(START, {"municipalities": ["76109", "76001"]}, content_type="application/json")
    assert r.status_code == 202, r.content
    body = r.json()
    job = Job.objects.get(pk=body["id"])
    assert (job.kind, job.state, job.owner) == ("factsheets", "queued", staff)
    assert body["urls"]["self"].endswith(f"/api/v1/jobs/{job.pk}/") and body["kind_label"] == "Fichas en lote (ZIP)"
    assert client.get(body["urls"]["download"]).status_code == 409  # not ready yet

    job = jobs.run_inline(job)
    assert (job.state, job.progress, job.error, job.result["sheets"]) == ("done", 100, "", 2)
    status = client.get(f"/api/v1/jobs/{job.pk}/").json()  # the existing jobs API tells the state
    assert status["state"] == "done" and status["result"]["sheets"] == 2

    resp = client.get(body["urls"]["download"])
    assert resp.status_code == 200 and resp["Content-Type"] == "application/zip"
    assert f"fichas_lote_{job.pk}.zip" in resp["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(b"".join(resp.streaming_content))) as zf:
        names = zf.namelist()
        assert names == ["ficha_municipio_76109.pdf", "ficha_municipio_76001.pdf"]
        texts = {n: pdf_first_page_text(zf.read(n), tmp_path) for n in names}
        single = client.get("/fichas/municipio/76109/?format=pdf").content
        assert zf.read(names[0]) == single  # the single sheet's PDF service, not a copy of it
    assert "Buenaventura" in texts["ficha_municipio_76109.pdf"] and "Cali" not in texts["ficha_municipio_76109.pdf"]
    assert "Cali" in texts["ficha_municipio_76001.pdf"] and "Buenaventura" not in texts["ficha_municipio_76001.pdf"]
    assert not job.workdir.exists()  # published with one rename


def test_anonymous_and_roleless_users_are_refused_before_any_job(client, cities, make_user):
    r = client.post(START, {}, content_type="application/json")
    assert r.status_code in (401, 403) and "Ingrese" in r.json()["detail"]
    client.force_login(make_user("visitante"))
    r = client.post(START, {}, content_type="application/json")
    assert r.status_code == 403 and "rol" in r.json()["detail"]
    assert not Job.objects.exists()
    assert "factsheet-batch-start" not in client.get("/fichas/municipio/76001/").content.decode()


def test_a_planner_starts_every_sheet_and_bad_codes_are_a_spanish_400(client, cities, pot_users):
    client.force_login(pot_users["planner"])
    assert "factsheet-batch-start" in client.get("/fichas/municipio/76001/").content.decode()
    bad = client.post(START, {"municipalities": ["76001", "99999"]}, content_type="application/json")
    assert bad.status_code == 400 and "99999" in bad.json()["detail"]
    assert not Job.objects.exists()
    r = client.post(START, {}, content_type="application/json")
    job = Job.objects.get(pk=r.json()["id"])
    assert r.status_code == 202 and len(job.params["subjects"]) == 42 + 5  # neither named: all sheets
    assert sum(k == "subregion" for k, _ in job.params["subjects"]) == 5


def test_others_cannot_download_and_cancel_stops_between_sheets(client, cities, make_user, monkeypatch, media):
    owner = make_user("ana", is_staff=True)
    job = factsheet_batch.start_batch(owner, ["76109", "76001", "76111"])
    rendered = []

    def first_then_cancel(subj):
        rendered.append(subj.code)
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)  # what POST /api/v1/jobs/<id>/cancel/ does
        return b"%PDF-1.7"

    monkeypatch.setattr(territorial_jobs, "sheet_pdf", first_then_cancel)
    monkeypatch.setattr("jobs.registry.JobContext.MIN_INTERVAL", 0)
    job = jobs.run_inline(job)
    assert job.state == "cancelled" and rendered == ["76109"]
    assert not job.workdir.exists() and not factsheet_batch.result_dir(job.pk).exists()
    url = f"/api/v1/factsheets/batch/{job.pk}/download/"
    assert client.get(url).status_code == 403
    client.force_login(make_user("otro"))
    assert client.get(url).status_code == 404


def test_a_workers_cleanup_removes_zips_older_than_a_day(make_user, media):
    from datetime import timedelta

    from django.utils import timezone

    from jobs.registry import run_cleanups

    owner = make_user("ana", is_staff=True)
    old, fresh, running = (factsheet_batch.start_batch(owner, ["76001"]) for _ in range(3))
    now = timezone.now()
    Job.objects.filter(pk=old.pk).update(state="done", finished_at=now - timedelta(hours=25))
    Job.objects.filter(pk=fresh.pk).update(state="done", finished_at=now - timedelta(hours=23))
    orphan = factsheet_batch.result_dir(999999)  # its job row was deleted
    for path in (factsheet_batch.result_dir(j.pk) for j in (old, fresh, running)):
        path.mkdir(parents=True)
        (path / "fichas.zip").write_bytes(b"PK")
    orphan.mkdir(parents=True)
    assert run_cleanups()["factsheet-batches"] == {"removed": 2}
    assert not factsheet_batch.result_dir(old.pk).exists() and not orphan.exists()
    assert factsheet_batch.result_dir(fresh.pk).is_dir() and factsheet_batch.result_dir(running.pk).is_dir()
