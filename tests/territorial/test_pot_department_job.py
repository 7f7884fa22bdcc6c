"""The department-wide POT conflicts never run inside a request: on a cold cache the API answers 202 with the
«pot_conflicts» job (queued once, joined by the next requests, its status public), the report is served once
that job has computed the same fingerprint (plans and versions the user sees, parameters, determinants); one
plan or one municipality is still computed inline."""
import pytest

from jobs import services as jobs
from jobs.models import Job
from territorial.pot import api as pot_api
from territorial.pot import department
from territorial.pot.services.conflicts import analyse_conflicts
from territorial.pot.services.plans import system_replace_zones

from .test_pot_conflicts_job import published  # noqa: F401  (fixture)
from .test_pot_fixtures import cabecera_m, cali_plan, fc, pot_users, square_feature  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/api/v1/pot/conflicts/"


@pytest.fixture
def no_inline_department(monkeypatch):
    """Fail the test if a request runs a department-wide analysis (the only inline caller is the API view)."""
    real = pot_api.analyse_conflicts

    def guarded(user, **kw):
        if kw.get("plan_id") is None and kw.get("municipality") is None:
            assert department.computed(user, department.settings_of(kw))[0], \
                "department-wide analysis inside a request on a cold cache"
        return real(user, **kw)

    monkeypatch.setattr(pot_api, "analyse_conflicts", guarded)


def test_cold_department_is_a_202_with_one_public_job_then_the_cached_report(client, published, no_inline_department):
    r = client.get(URL)
    assert r.status_code == 202, r.content
    body = r.json()
    job = Job.objects.get(kind="pot_conflicts")
    assert body["state"] == "computing" and body["job"]["id"] == job.pk and "en cálculo" in body["detail"]
    assert r["Location"].endswith(f"/api/v1/jobs/{job.pk}/") and job.owner is None and job.state == "queued"
    assert client.get(URL + "?format=csv").status_code == 202  # every format: same job joined
    assert Job.objects.filter(kind="pot_conflicts").count() == 1
    status = client.get(f"/api/v1/jobs/{job.pk}/")  # anonymous follows it: a public kind
    assert status.status_code == 200 and status.json()["state"] == "queued"

    job = jobs.run_inline(job)
    assert job.state == "done" and job.result["fingerprint"] == job.params["fingerprint"]
    r = client.get(URL)
    assert r.status_code == 200
    direct = analyse_conflicts(None)
    assert r.json()["scope"] == "department" and len(r.json()["findings"]) == len(direct.findings) > 0
    assert {f["kind"] for f in r.json()["findings"]} == {f["kind"] for f in direct.findings}
    assert Job.objects.filter(kind="pot_conflicts").count() == 1  # warm: no new job


def test_a_saved_plan_or_other_parameters_need_a_new_job(client, published, no_inline_department):
    jobs.run_inline(department.enqueue()[0])
    assert client.get(URL).status_code == 200
    assert client.get(URL + "?buffer_m=500").status_code == 202  # other parameters: another cache entry
    x, y = cabecera_m(published.municipality)
    system_replace_zones(published, fc(square_feature(x, y, x + 900, y + 900, "urbano", "A")), "importar")
    r = client.get(URL)
    assert r.status_code == 202  # the plan changed since the job ran
    assert Job.objects.filter(kind="pot_conflicts", state="queued").count() == 2


def test_an_eviction_of_the_jobs_entries_sends_the_department_back_to_a_job(client, published, no_inline_department):
    from territorial.pot.models import ConflictCache

    job = jobs.run_inline(department.enqueue()[0])
    assert job.result["entries"] == ConflictCache.objects.filter(plan=published).count() > 0
    assert client.get(URL).status_code == 200
    ConflictCache.objects.filter(pk=ConflictCache.objects.filter(plan=published).first().pk).delete()  # the cap
    r = client.get(URL)
    assert r.status_code == 202 and r.json()["job"]["id"] != job.pk
    jobs.run_inline(Job.objects.get(pk=r.json()["job"]["id"]))
    assert client.get(URL).status_code == 200


def test_bad_department_parameters_are_a_spanish_400_without_a_job(client, published):
    r = client.get(URL + "?ronda_m=5000")
    assert r.status_code == 400 and "ronda_m" in r.json()["detail"]
    assert not Job.objects.exists()


def test_one_municipality_is_still_computed_inline(client, published, no_inline_department):
    r = client.get(URL + "?municipality=76001&modes=internal")
    assert r.status_code == 200 and any(f["kind"] == "superposicion" for f in r.json()["findings"])
    assert not Job.objects.exists()


def test_a_reviewer_sees_drafts_so_gets_their_own_job(client, published, pot_users, no_inline_department):
    jobs.run_inline(department.enqueue()[0])  # the anonymous view is warm
    client.force_login(pot_users["reviewer"])
    from territorial.pot.services.plans import create_plan

    create_plan(pot_users["other_planner"], pot_users["jamundi"], "Borrador de Jamundí")
    r = client.get(URL)
    assert r.status_code == 202
    job = Job.objects.get(pk=r.json()["job"]["id"])
    assert job.params["user"] == pot_users["reviewer"].pk and job.owner == pot_users["reviewer"]
    assert client.get(f"/api/v1/jobs/{job.pk}/").json()["state"] == "queued"  # the reviewer follows it
    client.logout()
    assert client.get(f"/api/v1/jobs/{job.pk}/").status_code == 403  # its counts include drafts: not public
    client.force_login(pot_users["reviewer"])
    jobs.run_inline(job)
    assert client.get(URL).status_code == 200


def test_the_page_follows_the_job(client, territory):
    import json
    import re

    html = client.get("/pot/conflictos/").content.decode()
    config = json.loads(re.search(r'<script id="pot-config" type="application/json">(.*?)</script>', html, re.S)[1])
    assert 'id="cf-progress"' in html and "en cálculo en el servidor" in config["strings"]["computing"]


def test_the_computing_answer_in_english(client, published):
    client.cookies["django_language"] = "en"
    r = client.get(URL)
    assert r.status_code == 202 and "The conflicts of the whole department are being computed" in r.json()["detail"]


def test_department_jobs_are_capped_so_visitors_cannot_fill_the_queue(client, published, no_inline_department,
                                                                     settings):
    """Each parameter set is its own job; past POT_DEPARTMENT_MAX_ACTIVE active ones a new one is a Spanish 409
    and no row is stored (joining an existing one still works)."""
    settings.POT_DEPARTMENT_MAX_ACTIVE = 2
    assert client.get(URL + "?buffer_m=100").status_code == 202
    assert client.get(URL + "?buffer_m=200").status_code == 202
    before = Job.objects.filter(kind=department.KIND).count()
    r = client.get(URL + "?buffer_m=300")
    assert r.status_code == 409 and "máximo 2" in r.json()["detail"], r.content
    assert Job.objects.filter(kind=department.KIND).count() == before == 2
    assert client.get(URL + "?buffer_m=100").status_code == 202  # the queued one is joined, not refused
