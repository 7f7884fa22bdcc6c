"""Jobs through the real queue: enqueue writes the job and its queue entry together, the burst worker
(``geosig_worker --burst``, the production command) runs them; outcomes, cancel, retries, orphans, API."""
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from jobs import services
from jobs.models import Job
from procrastinate.contrib.django.models import ProcrastinateJob
from tests.jobs import kinds  # noqa: F401  (registers the test kinds)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.JOBS_RETRY_BASE_SECONDS = 0  # retries due at once, so one burst run sees them
    return settings.MEDIA_ROOT


def drain():
    call_command("geosig_worker", burst=True)


def tmp_folders(media) -> list[Path]:
    return list((Path(media) / "jobs").glob(".tmp-*"))


def test_enqueue_then_burst_worker_runs_it_and_publishes_atomically(media, make_user):
    owner = make_user("ana")
    job = services.enqueue("test-steps", {"steps": 3}, owner=owner)
    assert job.state == "queued" and ProcrastinateJob.objects.get(pk=job.queue_job_id).status == "todo"
    drain()
    job.refresh_from_db()
    assert (job.state, job.progress, job.attempts, job.error) == ("done", 100, 1, "")
    assert job.result == {"result_dir": f"resultados/{job.pk}", "steps": 3}
    assert sorted(p.name for p in (Path(media) / job.result["result_dir"]).iterdir()) == \
        ["etapa-0.txt", "etapa-1.txt", "etapa-2.txt"]
    assert job.started_at <= job.finished_at and job.heartbeat_at is not None and job.owner == owner
    assert tmp_folders(media) == []
    assert not ProcrastinateJob.objects.filter(pk=job.queue_job_id).exists()  # succeeded: queue entry deleted


def test_a_rolled_back_enqueue_leaves_neither_row():
    with pytest.raises(RuntimeError), transaction.atomic():
        services.enqueue("test-steps", {})
        raise RuntimeError("the request failed after enqueueing")
    assert not Job.objects.exists() and not ProcrastinateJob.objects.exists()


def test_user_error_is_shown_in_spanish_and_internal_error_only_in_logs(media, caplog):
    user_err = services.enqueue("test-steps", {"fail": "geosig"})
    bug = services.enqueue("test-steps", {"fail": "bug"})
    with caplog.at_level(logging.ERROR, logger="jobs.services"):
        drain()
    user_err.refresh_from_db()
    bug.refresh_from_db()
    assert (user_err.state, user_err.error) == ("failed", "La etapa 2 no admite estos datos.")
    assert bug.state == "failed" and bug.error.startswith(f"Error interno al ejecutar el trabajo n.º {bug.pk}")
    assert "secreto" not in bug.error and "KeyError" not in bug.error
    assert "detalle interno secreto" in caplog.text  # the traceback is in the log
    assert bug.attempts == 1  # a bug is not retried
    assert tmp_folders(media) == [] and not (Path(media) / "resultados").exists()


def test_transient_failures_retry_with_backoff_then_give_up(settings):
    settings.JOBS_RETRY_BASE_SECONDS = 5
    assert [services.retry_delay(n) for n in (1, 2, 3)] == [5, 10, 20]
    settings.JOBS_RETRY_BASE_SECONDS = 0
    recovers = services.enqueue("test-steps", {"fail": "transient", "transient_attempts": 2})
    gives_up = services.enqueue("test-once", {"fail": "transient"})
    drain()
    recovers.refresh_from_db()
    gives_up.refresh_from_db()
    assert (recovers.state, recovers.attempts) == ("done", 3)  # two transient failures, then done
    assert (gives_up.state, gives_up.attempts) == ("failed", 1)
    assert "falla transitoria" in gives_up.error and "Vuelva a lanzarlo" in gives_up.error


def test_cancel_a_queued_job_it_never_runs(media, make_user):
    owner = make_user("ana")
    job = services.enqueue("test-steps", {}, owner=owner)
    services.cancel(job, owner)
    job.refresh_from_db()
    assert job.state == "cancelled" and job.finished_at is not None
    assert ProcrastinateJob.objects.get(pk=job.queue_job_id).status == "cancelled"
    drain()
    job.refresh_from_db()
    assert job.state == "cancelled" and job.started_at is None and not (Path(media) / "resultados").exists()


def test_cancel_reaches_running_work_between_stages(media, monkeypatch):
    job = services.enqueue("test-steps", {"steps": 5})
    seen = []
    original = kinds.steps

    def spy(ctx, params):
        # the user presses «Cancelar» while stage 1 runs (what POST /api/v1/jobs/<id>/cancel/ does)
        ctx.progress(0, "Etapa 1")
        (ctx.workdir / "parcial.txt").write_text("x")
        services.request_cancel(ctx.job)
        seen.append(ctx.job.workdir.is_dir())
        ctx._last_write = 0  # the next report reads the flag (reports are throttled to 0,3 s)
        return original(ctx, params)

    from jobs import registry
    monkeypatch.setitem(registry.KINDS, "test-steps", registry.KINDS["test-steps"].__class__(
        "test-steps", "x", spy, 2, None))
    drain()
    job.refresh_from_db()
    assert seen == [True]
    assert (job.state, job.message) == ("cancelled", "Cancelado por el usuario")
    assert tmp_folders(media) == [] and not (Path(media) / "resultados").exists()


def test_nobody_else_cancels_and_a_finished_job_is_a_409(make_user):
    from geosig.errors import ConflictError, PermissionDeniedError

    owner, other = make_user("ana"), make_user("otro")
    job = services.enqueue("test-steps", {}, owner=owner)
    with pytest.raises(PermissionDeniedError):
        services.cancel(job, other)
    drain()
    job.refresh_from_db()
    with pytest.raises(ConflictError, match="ya terminó"):
        services.cancel(job, owner)


def _orphan(kind, media, attempts=1):
    """A job a dead worker left 'doing': its worker row has a heartbeat an hour old, a half-written folder."""
    job = services.enqueue(kind, {"steps": 2})
    with connection.cursor() as cur:
        cur.execute("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour') "
                    "RETURNING id")
        worker_id = cur.fetchone()[0]
        cur.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
                    [worker_id, job.queue_job_id])
    Job.objects.filter(pk=job.pk).update(state="running", attempts=attempts, started_at=timezone.now(),
                                         heartbeat_at=timezone.now() - timedelta(hours=1))
    job.workdir.mkdir(parents=True)
    (job.workdir / "medio.tif").write_bytes(b"half")
    return job


def test_a_starting_worker_requeues_the_orphan_of_a_dead_worker(media):
    job = _orphan("test-steps", media)
    drain()  # reclaims on start, then runs it again
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("done", 2)
    assert tmp_folders(media) == [] and (Path(media) / "resultados" / str(job.pk) / "etapa-1.txt").is_file()
    assert not (Path(media) / "resultados" / str(job.pk) / "medio.tif").exists()


def test_an_orphan_without_attempts_left_fails_with_a_clear_message(media):
    job = _orphan("test-once", media)
    out = services.reclaim_orphans()
    job.refresh_from_db()
    assert out["failed"] == [job.pk] and job.state == "failed"
    assert "El proceso que ejecutaba este trabajo se detuvo" in job.error and "vuelva a lanzarlo" in job.error
    assert tmp_folders(media) == []
    assert ProcrastinateJob.objects.get(pk=job.queue_job_id).status == "failed"
    drain()
    job.refresh_from_db()
    assert job.state == "failed" and job.attempts == 1  # not run again


def test_a_live_workers_job_is_left_alone(media):
    job = _orphan("test-steps", media)
    with connection.cursor() as cur:
        cur.execute("UPDATE procrastinate_workers SET last_heartbeat = now()")
    assert services.reclaim_orphans() == {"requeued": [], "failed": [], "folders": 0}
    job.refresh_from_db()
    assert job.state == "running" and job.workdir.is_dir()


def test_api_status_for_owner_and_staff_cancel_by_owner(client, make_user):
    owner, other = make_user("ana"), make_user("otro")
    staff = make_user("jefe", is_staff=True)
    job = services.enqueue("test-steps", {}, owner=owner)
    url = f"/api/v1/jobs/{job.pk}/"
    assert client.get(url).status_code == 403  # anonymous: asked to log in, nothing about the job
    client.force_login(other)
    assert client.get(url).status_code == 404 and client.post(url + "cancel/").status_code == 404
    client.force_login(staff)
    assert client.get(url).json()["state"] == "queued"
    client.force_login(owner)
    body = client.get(url).json()
    assert (body["kind"], body["state_label"], body["progress"]) == ("test-steps", "En cola", 0)
    r = client.post(url + "cancel/")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert client.post(url + "cancel/").status_code == 409


def test_a_transient_failure_of_an_inline_run_is_retried_by_a_worker(settings):
    """run_inline withdraws the queue entry; after a transient failure the row is queued again WITH a new entry,
    so the burst worker retries it to the end (before, the row stayed «en cola» with nothing in the queue)."""
    job = services.enqueue("test-steps", {"fail": "transient", "transient_attempts": 1})
    first_entry = job.queue_job_id
    job = services.run_inline(job)
    assert (job.state, job.attempts) == ("queued", 1)
    assert job.queue_job_id and job.queue_job_id != first_entry
    drain()
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("done", 2)
