"""Enqueue, run, cancel and reclaim jobs. The web process only enqueues; ``geosig_worker`` runs them.

States: queued → running → done | failed | cancelled (and running → queued again when a transient failure
or a dead worker gets a retry). Every transition goes through this module, which then calls the kind's
``on_change`` hook so a domain row (e.g. a corridor run) can mirror it.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import socket
from datetime import timedelta
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from geosig.errors import ConflictError, GeoSIGError, NotFound, PermissionDeniedError

from . import registry
from .models import Job
from .registry import JobCancelled, JobContext

log = logging.getLogger(__name__)
TASK_NAME = "geosig.run_job"
QUEUE = "geosig"
# failures worth another attempt: the database or the network went away, not a bug or a bad input
TRANSIENT = (OperationalError, InterfaceError, psycopg.OperationalError, ConnectionError, TimeoutError)
CANCEL_ANY_PERMISSION = "jobs.cancel_any_job"


def stale_seconds() -> float:
    return float(getattr(settings, "JOBS_STALE_SECONDS", 60))


def retry_delay(attempts: int) -> float:
    """Backoff before attempt ``attempts + 1``: base × 2^(attempts − 1) seconds (5, 10, 20… by default)."""
    return float(getattr(settings, "JOBS_RETRY_BASE_SECONDS", 5)) * 2 ** max(0, attempts - 1)


# --------------------------------------------------------------------------- enqueue / run inline
def enqueue(kind: str, params: dict, owner=None) -> Job:
    """Store the job and its queue entry in one transaction (the caller's, if any): a rollback drops both,
    a commit makes it visible to the workers (LISTEN/NOTIFY wakes them)."""
    from procrastinate.contrib.django import app

    registry.get(kind)  # an unknown kind is refused before anything is stored
    with transaction.atomic():
        job = Job.objects.create(kind=kind, params=params,
                                 owner=owner if getattr(owner, "is_authenticated", False) else None)
        job.queue_job_id = app.configure_task(TASK_NAME, queue=QUEUE).defer(job_id=job.pk)
        job.save(update_fields=["queue_job_id"])
    return job


def run_inline(job: Job) -> Job:
    """Run a queued job now, in this process, through the same code as the worker (commands, tests without a
    worker). Its queue entry is withdrawn first so no worker runs it a second time."""
    from procrastinate.contrib.django import app

    if job.queue_job_id:
        app.job_manager.cancel_job_by_id(job.queue_job_id, delete_job=True)
    try:
        execute(job.pk, worker=f"inline:{socket.gethostname()}:{os.getpid()}")
    except TRANSIENT:
        # execute() left the row queued for a retry, but its queue entry was withdrawn above: give it a new one
        # (with the backoff) so a worker does retry it, instead of a row that stays «en cola» forever.
        job.refresh_from_db()
        if job.state == Job.State.QUEUED:
            later = {"seconds": retry_delay(job.attempts)}
            job.queue_job_id = app.configure_task(TASK_NAME, queue=QUEUE, schedule_in=later).defer(job_id=job.pk)
            job.save(update_fields=["queue_job_id"])
    job.refresh_from_db()
    return job


# --------------------------------------------------------------------------- the worker side
def execute(job_id: int, worker: str = "") -> None:
    """Run one job to a final state. Re-raises a transient error only when a retry is due (Procrastinate
    then schedules it with backoff); every other outcome is recorded on the row and returns normally."""
    job = _start(job_id, worker)
    if job is None:
        return  # cancelled while queued, or already finished by someone else
    kind = registry.get(job.kind)
    ctx = JobContext(job)
    try:
        if job.cancel_requested:
            raise JobCancelled()
        result = kind.fn(ctx, dict(job.params)) or {}
        _finish(job, Job.State.DONE, result=result, progress=100, message=_("Listo"))
    except JobCancelled:
        _finish(job, Job.State.CANCELLED, message=_("Cancelado por el usuario"))
    except GeoSIGError as exc:
        _finish(job, Job.State.FAILED, error=exc.message, message=_("Error"))
    except TRANSIENT as exc:
        log.warning("job %s (%s) attempt %s: transient failure: %s", job.pk, job.kind, job.attempts, exc)
        _reset_connection()
        if job.attempts <= kind.retries:
            _set(job, Job.State.QUEUED, message=_("Falla transitoria (base de datos o red); se reintentará en "
                                                  "%(s)d s.") % {"s": retry_delay(job.attempts)})
            raise
        _finish(job, Job.State.FAILED, message=_("Error"), error=_(
            "El trabajo no pudo terminar por una falla transitoria de la base de datos o de la red, después de "
            "%(n)d intentos. Vuelva a lanzarlo en unos minutos.") % {"n": job.attempts})
    except Exception:  # noqa: BLE001 - the user gets a Spanish message; the traceback goes to the log only
        log.exception("job %s (%s) failed", job.pk, job.kind)
        _finish(job, Job.State.FAILED, message=_("Error"), error=_(
            "Error interno al ejecutar el trabajo n.º %(id)s. El detalle quedó en el registro del servidor; "
            "vuelva a intentarlo o avise al administrador.") % {"id": job.pk})


def _start(job_id: int, worker: str) -> Job | None:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state != Job.State.QUEUED:
            return None
        now = timezone.now()
        job.state, job.started_at, job.heartbeat_at, job.finished_at = Job.State.RUNNING, now, now, None
        job.attempts += 1
        job.progress, job.error, job.worker = 0, "", worker[:200]
        job.message = _("Iniciando")
        job.save()
    shutil.rmtree(job.workdir, ignore_errors=True)  # a previous attempt's leftovers
    _notify(job)
    return job


def _finish(job: Job, state: str, **fields) -> None:
    shutil.rmtree(job.workdir, ignore_errors=True)  # published results were moved out already
    _set(job, state, finished_at=timezone.now(), **fields)


def _set(job: Job, state: str, **fields) -> None:
    fields["state"] = state
    Job.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    _notify(job)


def _notify(job: Job) -> None:
    kind = registry.KINDS.get(job.kind)
    if kind and kind.on_change:
        try:
            kind.on_change(job)
        except Exception:  # noqa: BLE001 - a mirror failing must not hide the job's own outcome
            log.exception("on_change of job %s (%s) failed", job.pk, job.kind)


def _reset_connection() -> None:
    """After a lost connection, drop it so the next query opens a fresh one."""
    try:
        if connection.in_atomic_block:
            return
        connection.close()
    except DatabaseError:
        pass
    close_old_connections()


# --------------------------------------------------------------------------- status and cancel
def get_job(job_id, user) -> Job:
    """The job if ``user`` may see it (its owner or staff): permission first, 404 for the rest alike. A job
    without owner of a kind registered ``public`` (a shared cache being filled) is anyone's to read."""
    if user is None or not user.is_authenticated:
        job = Job.objects.filter(pk=job_id, owner=None).first()
        if job is not None and getattr(registry.KINDS.get(job.kind), "public", False):
            return job
        raise PermissionDeniedError(_("Ingrese con el usuario que lanzó el trabajo para consultarlo."))
    job = Job.objects.filter(pk=job_id).first()
    if job is not None and job.owner_id is None and getattr(registry.KINDS.get(job.kind), "public", False):
        return job
    if job is None or not (job.owner_id == user.pk or user.is_staff or user.has_perm(CANCEL_ANY_PERMISSION)):
        raise NotFound(_("No existe el trabajo %(id)s o no es suyo.") % {"id": job_id})
    return job


def cancel(job: Job, user) -> Job:
    """Owner or holder of ``jobs.cancel_any_job``: checked again under the row lock."""
    if user is None or not user.is_authenticated:
        raise PermissionDeniedError(_("Ingrese con el usuario que lanzó el trabajo para cancelarlo."))
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if not (locked.owner_id == user.pk or user.has_perm(CANCEL_ANY_PERMISSION)):
            raise PermissionDeniedError(_("El trabajo %(id)s es de otro usuario: solo quien lo lanzó o un "
                                          "administrador lo cancela.") % {"id": job.pk})
        return request_cancel(locked)


def request_cancel(job: Job) -> Job:
    """Ask a job to stop (for callers that checked permission themselves). A queued job is cancelled at once
    and withdrawn from the queue; a running one stops at its next progress report or check."""
    from procrastinate.contrib.django import app

    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.state in Job.FINAL:
            raise ConflictError(_("El trabajo %(id)s ya terminó (%(state)s); no se puede cancelar.")
                                % {"id": job.pk, "state": job.get_state_display().lower()})
        job.cancel_requested = True
        job.save(update_fields=["cancel_requested"])
        if job.state == Job.State.QUEUED:
            if job.queue_job_id:
                app.job_manager.cancel_job_by_id(job.queue_job_id)
            _finish(job, Job.State.CANCELLED, message=_("Cancelado"))
    return job


# --------------------------------------------------------------------------- orphans of dead workers
def reclaim_orphans(seconds: float | None = None) -> dict:
    """Jobs left 'running' by a worker that stopped sending heartbeats (killed, machine lost), or by a
    ``run_inline`` process that died: re-queued if attempts remain, else failed with a clear message;
    temporary folders of jobs not running are removed. Safe to run from several workers at once (row locks)."""
    from procrastinate import sql
    from procrastinate.contrib.django.django_connector import DjangoConnector

    seconds = stale_seconds() if seconds is None else seconds
    conn = DjangoConnector()  # this process's Django connection: each reclaim is one transaction
    out = {"requeued": [], "failed": [], "folders": 0}
    stalled = conn.execute_query_all(sql.queries["select_stalled_jobs_by_heartbeat"], queue=None,
                                     task_name=TASK_NAME, seconds_since_heartbeat=seconds)
    for row in stalled:
        args = json.loads(row["args"]) if isinstance(row["args"], str) else row["args"]  # text via Django
        job_id = (args or {}).get("job_id")
        try:
            with transaction.atomic():
                _reclaim(conn, row["id"], job_id, out)
        except DatabaseError as exc:  # another worker got there first (the queue row is no longer 'doing')
            log.info("orphan queue job %s skipped: %s", row["id"], exc)
    out["failed"] += _fail_lost(seconds)
    _reclaim_inline(seconds, out)
    out["folders"] = _remove_dead_folders()
    if out["requeued"] or out["failed"] or out["folders"]:
        log.warning("reclaimed orphans: %s", out)
    return out


def _reclaim(conn, queue_id: int, job_id, out: dict) -> None:
    from procrastinate import sql

    job = Job.objects.select_for_update().filter(pk=job_id).first()
    kind = registry.KINDS.get(job.kind) if job else None
    if job is not None and job.state == Job.State.RUNNING and kind and job.attempts <= kind.retries \
            and not job.cancel_requested:
        conn.execute_query(sql.queries["retry_job"], job_id=queue_id, retry_at=timezone.now(), new_priority=None,
                           new_queue_name=None, new_lock=None)
        shutil.rmtree(job.workdir, ignore_errors=True)
        _set(job, Job.State.QUEUED, progress=0, message=_(
            "El proceso que lo ejecutaba se detuvo; vuelve a la cola (intento %(n)d).") % {"n": job.attempts + 1})
        out["requeued"].append(job.pk)
        return
    conn.execute_query(sql.queries["finish_job"], job_id=queue_id, status="failed", delete_job=False)
    if job is not None and job.state in Job.ACTIVE:
        _orphan_failed(job)
        out["failed"].append(job.pk)


def _orphan_failed(job: Job) -> None:
    if job.cancel_requested:
        _finish(job, Job.State.CANCELLED, message=_("Cancelado"))
        return
    _finish(job, Job.State.FAILED, message=_("Interrumpido"), error=_(
        "El proceso que ejecutaba este trabajo se detuvo (reinicio o caída del servidor) y no se reintentará "
        "(%(n)d intento(s)). No quedó ningún resultado a medias; vuelva a lanzarlo.") % {"n": job.attempts})


def _fail_lost(seconds: float) -> list[int]:
    """A 'running' row whose queue entry is no longer being worked on (deleted, finished by hand) and whose
    heartbeat is old: nobody will ever finish it."""
    from procrastinate.contrib.django.models import ProcrastinateJob

    limit = timezone.now() - timedelta(seconds=seconds)
    failed = []
    for job in Job.objects.filter(state=Job.State.RUNNING, heartbeat_at__lt=limit):
        if ProcrastinateJob.objects.filter(pk=job.queue_job_id, status="doing").exists():
            continue  # its worker is alive (else the stalled query above had it); a long stage
        with transaction.atomic():
            locked = Job.objects.select_for_update().get(pk=job.pk)
            if locked.state == Job.State.RUNNING and not locked.worker.startswith("inline:"):
                _orphan_failed(locked)
                failed.append(job.pk)
    return failed


def _reclaim_inline(seconds: float, out: dict) -> None:
    """Jobs run by ``run_inline`` (worker "inline:host:pid") have no queue entry, so no queue heartbeat: their
    process is dead when, on this host, the pid is gone (or now belongs to a process started after the job);
    on another host, when the job's own heartbeat is older than ``seconds``. Such a job goes back to the queue
    for a worker if attempts remain, else fails, like a dead worker's; its work folder is removed."""
    from procrastinate.contrib.django import app

    limit = timezone.now() - timedelta(seconds=seconds)
    for job in Job.objects.filter(state=Job.State.RUNNING, worker__startswith="inline:"):
        if not _inline_dead(job, limit):
            continue
        with transaction.atomic():
            locked = Job.objects.select_for_update().get(pk=job.pk)
            if (locked.state, locked.worker, locked.attempts) != (Job.State.RUNNING, job.worker, job.attempts):
                continue  # finished or restarted meanwhile
            kind = registry.KINDS.get(locked.kind)
            if kind and locked.attempts <= kind.retries and not locked.cancel_requested:
                shutil.rmtree(locked.workdir, ignore_errors=True)
                locked.queue_job_id = app.configure_task(TASK_NAME, queue=QUEUE).defer(job_id=locked.pk)
                locked.save(update_fields=["queue_job_id"])
                _set(locked, Job.State.QUEUED, progress=0, message=_(
                    "El proceso que lo ejecutaba se detuvo; vuelve a la cola (intento %(n)d).")
                    % {"n": locked.attempts + 1})
                out["requeued"].append(locked.pk)
            else:
                _orphan_failed(locked)
                out["failed"].append(locked.pk)


def _inline_dead(job: Job, limit) -> bool:
    parts = job.worker.split(":")
    stale = job.heartbeat_at is None or job.heartbeat_at < limit
    if len(parts) != 3 or parts[1] != socket.gethostname() or not parts[2].isdigit():
        return stale  # another machine's process: only its heartbeat tells
    started = _process_start(int(parts[2]))
    if started is None:
        return True  # no such process here
    # the pid was reused by a process started after the job (1 s: the start time's resolution)
    return job.started_at is not None and started > job.started_at.timestamp() + 1


def _process_start(pid: int) -> float | None:
    """Start time (epoch seconds) of process ``pid`` on this machine, None if it does not exist; where /proc
    is missing, 0.0 for a live pid (existence only)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # exists, another user's
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: start time in clock ticks after boot
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return 0.0


def _remove_dead_folders() -> int:
    root = Path(settings.MEDIA_ROOT) / "jobs"
    if not root.is_dir():
        return 0
    removed = 0
    for path in root.glob(".tmp-*"):
        try:
            job_id = int(path.name.removeprefix(".tmp-"))
        except ValueError:
            continue
        if not Job.objects.filter(pk=job_id, state__in=Job.ACTIVE).exists():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed
