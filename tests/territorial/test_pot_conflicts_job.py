"""The department-wide POT conflict recomputation as a job (kind «pot_conflicts»): queued once by the loader,
run through the jobs machinery, same findings as the direct analysis, cancel between stages."""
import pytest

from jobs import services as jobs
from jobs.models import Job
from territorial.pot import jobs as pot_jobs
from territorial.pot.services.conflicts import analyse_conflicts
from territorial.pot.services.plans import retire_for_loader, system_replace_zones

from .test_pot_fixtures import cabecera_m, cali_plan, fc, pot_users, square_feature  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(pot_users, cali_plan):
    """Cali's plan published (approved, current) with two overlapping zones: what an anonymous visitor sees."""
    x, y = cabecera_m(pot_users["cali"])
    system_replace_zones(cali_plan, fc(square_feature(x, y, x + 1000, y + 1000, "urbano", "A"),
                                       square_feature(x + 600, y, x + 1600, y + 1000, "rural", "B")), "importar")
    retire_for_loader(cali_plan)
    return cali_plan


def test_the_job_finds_what_the_direct_analysis_finds(published):
    job, new = pot_jobs.enqueue_department()
    again, new_again = pot_jobs.enqueue_department()
    assert new and not new_again and again.pk == job.pk  # one recomputation queued at a time
    job = jobs.run_inline(job)
    assert (job.state, job.progress, job.error) == ("done", 100, "")
    direct = analyse_conflicts(None, with_geometry=True)
    assert job.result == {"findings": len(direct.findings), "plans": 1, "fingerprint": job.params["fingerprint"],
                          "entries": job.result["entries"]}
    assert any(f["kind"] == "superposicion" for f in direct.findings)


def test_cancel_stops_between_stages(published, monkeypatch):
    job, _ = pot_jobs.enqueue_department()
    calls = []

    def first_stage_then_cancel(user, **kw):
        calls.append(kw["modes"])
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)  # what POST /api/v1/jobs/<id>/cancel/ does
        return analyse_conflicts(user, **kw)

    monkeypatch.setattr(pot_jobs, "analyse_conflicts", first_stage_then_cancel)
    monkeypatch.setattr("jobs.registry.JobContext.MIN_INTERVAL", 0)
    job = jobs.run_inline(job)
    assert job.state == "cancelled" and calls == [["internal"]]


def test_the_loader_queues_the_recomputation_instead_of_waiting(published, monkeypatch):
    from territorial.pot.services import loading

    monkeypatch.setattr(loading, "load_determinants", lambda *a: "determinantes")
    monkeypatch.setattr(loading, "load_cali_plan", lambda: loading.PotLoadReport())
    monkeypatch.setattr(loading, "generate_demo_plans", lambda rebuild: loading.PotLoadReport())
    report = loading.load_pot()
    job = Job.objects.get(kind="pot_conflicts")
    assert job.state == "queued" and f"trabajo n.º {job.pk} en cola" in str(report)
