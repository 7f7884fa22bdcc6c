"""Kill tests (issue #10): real processes against the test database — a gunicorn web server and
``geosig_worker`` subprocesses — killed with SIGKILL at the worst moment.

* the web process dies right after accepting a corridor run: the run is already queued in PostgreSQL and a
  worker started afterwards computes it;
* a worker dies in the middle of a job: a worker (re)started afterwards re-runs it (attempts left) or fails it
  with a clear Spanish message (none left) — never left 'running' — and no temporary folder remains.
"""
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from jobs.models import Job
from layers.corridors.models import CorridorRun
from tests.jobs import kinds  # noqa: F401  (the test kinds, also registered in the worker subprocess)
from tests.jobs.live import ROOT, kill, subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)
PY = sys.executable
HEARTBEAT, STALE = 0.5, 2.0  # seconds: a killed worker is noticed within ~2 × STALE


@pytest.fixture
def live(settings, tmp_path):
    """Environment for subprocesses: the live test database, this test's MEDIA_ROOT, fast heartbeats."""
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    env = subprocess_env(media, JOBS_HEARTBEAT_SECONDS=HEARTBEAT, JOBS_STALE_SECONDS=STALE, JOBS_RETRY_BASE_SECONDS=0)
    procs = []

    def start(*args):
        p = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=open(tmp_path / f"proc-{len(procs)}.log", "w"))
        procs.append(p)
        return p

    yield {"start": start, "media": media, "logs": tmp_path}
    for p in procs:
        kill(p)


def wait_for(check, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tmp_folders(media):
    return sorted((Path(media) / "jobs").glob(".tmp-*"))


@pytest.fixture
def corridor_layers(live, db):
    from layers.services.importing import import_layer
    from layers.services.shipped import SHIPPED

    for e in SHIPPED:
        if e["meta"]["slug"] in ("dem-srtm3", "runap-centroides", "red-vial-nacional", "centros-poblados"):
            import_layer(Path(settings.GEOSIG_RAW_DIR) / e["file"], theme=e["theme"], replace=True, metadata=e["meta"])


def post_run(port, session, body):
    csrf = "k" * 32
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/corridors/", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf,
                 "Cookie": f"sessionid={session}; csrftoken={csrf}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.loads(r.read())


def test_web_killed_after_accepting_a_run_the_worker_completes_it(live, corridor_layers, client, make_user):
    client.force_login(make_user("analista", "Analista CVC"))
    port = free_port()
    web = live["start"](str(ROOT / ".venv/bin/gunicorn"), "geosig.wsgi", "--bind", f"127.0.0.1:{port}",
                        "--workers", "1")

    def up():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/corridors/", timeout=2).status == 200
        except OSError:
            return False

    wait_for(up, 180, "gunicorn to answer")  # generous: a loaded CI machine starts Django slowly
    body = {"cores": {"layer": "runap-centroides", "ids": [17, 216, 221, 225]}, "resistance": "derivada",
            "cell_size": 1000, "width": 20000, "point_radius": 1000}
    status, run = post_run(port, client.cookies["sessionid"].value, body)
    assert status == 202 and run["status"] == "pending"
    kill(web)  # kill -9 the web server: the run lives on in PostgreSQL, not in the dead process
    job = Job.objects.get(kind="corridors", params__run=run["id"])
    assert job.state == "queued"
    live["start"](PY, "manage.py", "geosig_worker")
    wait_for(lambda: Job.objects.get(pk=job.pk).state in Job.FINAL, 300, "the worker to finish the run")
    job.refresh_from_db()
    row = CorridorRun.objects.get(pk=run["id"])
    assert (job.state, row.status, row.progress, job.attempts) == ("done", "done", 100, 1), job.error
    assert (Path(live["media"]) / row.result_dir / "informe.json").is_file()
    assert tmp_folders(live["media"]) == []


def _worker(live):
    return live["start"](PY, "-m", "tests.jobs.worker_with_test_kinds")


def _kill_mid_job(live, kind):
    from jobs import services

    job = services.enqueue(kind, {"steps": 40, "sleep": 0.1})
    first = _worker(live)
    wait_for(lambda: len(list(job.workdir.glob("etapa-*"))) >= 3, 180, "the job to be half-way")
    kill(first)  # kill -9 mid-job: no except/finally runs in the worker
    job.refresh_from_db()
    assert job.state == "running" and job.workdir.is_dir()  # what a dead worker leaves behind
    _worker(live)  # restart: it notices the dead worker's silence and reclaims the job
    wait_for(lambda: Job.objects.get(pk=job.pk).state in Job.FINAL, 240, "the job to be reclaimed")
    job.refresh_from_db()
    return job


def test_worker_killed_mid_job_is_rerun_by_the_next_worker(live):
    job = _kill_mid_job(live, "test-steps")
    assert (job.state, job.attempts) == ("done", 2), job.error
    assert len(list((Path(live["media"]) / job.result["result_dir"]).glob("etapa-*"))) == 40
    assert tmp_folders(live["media"]) == []


def test_worker_killed_mid_job_without_retries_fails_with_a_clear_message(live):
    job = _kill_mid_job(live, "test-once")
    assert (job.state, job.attempts) == ("failed", 1)
    assert job.error.startswith("El proceso que ejecutaba este trabajo se detuvo (reinicio o caída del servidor)")
    assert tmp_folders(live["media"]) == [] and not (Path(live["media"]) / "resultados").exists()
