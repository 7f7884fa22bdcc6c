"""A job run inline (``run_inline``: worker "inline:host:pid", no queue entry) whose process died is reclaimed
like a dead worker's: its pid is gone on this host, or its heartbeat is stale on another; re-queued while
attempts remain, else failed with a Spanish message; its work folder removed. A live inline run is left alone."""
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from jobs import services
from jobs.models import Job
from procrastinate.contrib.django.models import ProcrastinateJob
from tests.jobs import kinds  # noqa: F401  (registers the test kinds)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.JOBS_RETRY_BASE_SECONDS = 0
    return settings.MEDIA_ROOT


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid no longer exists (the kernel does not reuse it at once)
    return proc.pid


def inline_orphan(kind, pid, host=None, heartbeat_age=timedelta(hours=1), attempts=1):
    """What a process killed inside ``run_inline`` leaves: the row 'running' under its inline name, the queue
    entry withdrawn (run_inline deleted it), a half-written work folder."""
    job = services.enqueue(kind, {"steps": 2})
    ProcrastinateJob.objects.filter(pk=job.queue_job_id).delete()
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        state="running", attempts=attempts, started_at=now - heartbeat_age, heartbeat_at=now - heartbeat_age,
        worker=f"inline:{host or socket.gethostname()}:{pid}")
    job.workdir.mkdir(parents=True)
    (job.workdir / "medio.tif").write_bytes(b"half")
    job.refresh_from_db()
    return job


def test_dead_inline_process_without_attempts_left_fails_with_a_clear_message():
    job = inline_orphan("test-once", dead_pid())
    out = services.reclaim_orphans()
    job.refresh_from_db()
    assert out["failed"] == [job.pk] and out["requeued"] == []
    assert (job.state, job.message) == ("failed", "Interrumpido")
    assert "El proceso que ejecutaba este trabajo se detuvo" in job.error and "vuelva a lanzarlo" in job.error
    assert job.finished_at is not None and not job.workdir.exists()


def test_dead_inline_process_with_attempts_left_goes_back_to_the_queue_and_a_worker_finishes_it(media):
    # the pid alone decides on this host: the heartbeat is only 5 s old
    job = inline_orphan("test-steps", dead_pid(), heartbeat_age=timedelta(seconds=5))
    out = services.reclaim_orphans()
    job.refresh_from_db()
    assert out["requeued"] == [job.pk] and job.state == "queued" and not job.workdir.exists()
    assert "vuelve a la cola (intento 2)" in job.message
    assert ProcrastinateJob.objects.get(pk=job.queue_job_id).status == "todo"
    call_command("geosig_worker", burst=True)
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("done", 2) and job.worker.startswith(socket.gethostname())
    assert sorted(p.name for p in (Path(media) / "resultados" / str(job.pk)).iterdir()) == ["etapa-0.txt", "etapa-1.txt"]


def test_live_inline_process_is_left_alone_even_with_an_old_heartbeat():
    job = inline_orphan("test-once", os.getpid())  # this very process: alive, started before the job
    Job.objects.filter(pk=job.pk).update(started_at=timezone.now())
    assert services.reclaim_orphans() == {"requeued": [], "failed": [], "folders": 0}
    job.refresh_from_db()
    assert job.state == "running" and job.workdir.is_dir()


def test_a_reused_pid_does_not_keep_a_dead_inline_job_alive():
    """The job started before the process now holding its pid: that process is another one."""
    from datetime import datetime, timezone as tz

    job = inline_orphan("test-once", os.getpid(), heartbeat_age=timedelta(seconds=5))
    ours = services._process_start(os.getpid())
    assert ours and abs(ours - __import__("psutil").Process().create_time()) < 0.05  # the /proc reading is right
    Job.objects.filter(pk=job.pk).update(started_at=datetime.fromtimestamp(ours - 60, tz.utc))
    assert services.reclaim_orphans()["failed"] == [job.pk]


def test_another_hosts_inline_job_is_judged_by_its_heartbeat():
    fresh = inline_orphan("test-once", 1, host="otra-maquina", heartbeat_age=timedelta(seconds=5))
    stale = inline_orphan("test-once", 1, host="otra-maquina", heartbeat_age=timedelta(hours=1))
    out = services.reclaim_orphans()
    assert out["failed"] == [stale.pk]
    assert Job.objects.get(pk=fresh.pk).state == "running" and Job.objects.get(pk=stale.pk).state == "failed"
    assert fresh.workdir.is_dir() and not stale.workdir.exists()
