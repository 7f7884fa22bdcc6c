"""The job kinds: ``register(kind, label=…)`` on a function ``fn(ctx, params) -> dict`` run by the worker.

A registry, not an if/elif chain: each app registers its kinds from ``AppConfig.ready()`` and the single
Procrastinate task (``jobs.tasks.run_job``) dispatches by the job row's ``kind``.
"""
from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from django.conf import settings
from django.utils import timezone

from geosig.errors import InvalidParameter


class JobCancelled(Exception):
    """Raised inside a job function when its cancel was requested: the worker marks it cancelled."""


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    fn: Callable
    retries: int  # extra attempts after a transient failure (database down, connection lost…)
    on_change: Callable | None  # called with the Job after the machinery changes its state
    public: bool = False  # its jobs without owner are anyone's to read (a shared cache being filled)


KINDS: dict[str, Kind] = {}


def register(kind: str, *, label, retries: int = 2, on_change: Callable | None = None, public: bool = False):
    """Decorator: ``@register("corridors", label=_("Corredores"))`` on ``fn(ctx, params) -> dict``."""
    def wrap(fn):
        KINDS[kind] = Kind(kind, label, fn, retries, on_change, public)
        return fn
    return wrap


# Housekeeping a worker runs at start and on each reclaim pass (every JOBS_STALE_SECONDS), and
# ``geosig_worker --cleanup`` once: apps register ``fn() -> dict`` (what it removed) from ``AppConfig.ready()``,
# so ``jobs`` knows nothing of their files (the corridor input store, for one).
CLEANUPS: dict[str, Callable[[], dict]] = {}


def register_cleanup(name: str, fn: Callable[[], dict]) -> None:
    CLEANUPS[name] = fn


def run_cleanups() -> dict:
    """{name: report} of every registered cleanup; one that fails is logged and the others still run."""
    out = {}
    for name, fn in CLEANUPS.items():
        try:
            out[name] = fn()
        except Exception:  # noqa: BLE001 - housekeeping must not stop the worker; the next pass retries
            logging.getLogger("jobs.worker").exception("cleanup %s failed", name)
            out[name] = {"error": True}
    return out


def get(kind: str) -> Kind:
    try:
        return KINDS[kind]
    except KeyError:
        raise InvalidParameter(f"Tipo de trabajo desconocido: {kind}; válidos: {', '.join(sorted(KINDS))}.",
                               parameter="kind") from None


class JobContext:
    """What a running job function sees: progress (with heartbeat and cancel check), a private work folder,
    and an atomic publish of its results."""

    MIN_INTERVAL = 0.3  # seconds between database writes for progress (the engines report often)

    def __init__(self, job):
        self.job = job
        self._last_write = 0.0
        self._cancel = False

    # --- progress, heartbeat and cancel ------------------------------------------------------------
    def progress(self, pct: float, message: str = "") -> None:
        """Record progress 0–100 and a Spanish step message; also the heartbeat. Raises ``JobCancelled``
        when a cancel was requested (checked on the same write)."""
        now = time.monotonic()
        if now - self._last_write >= self.MIN_INTERVAL or pct >= 100:
            self._last_write = now
            self._write(progress=int(min(100, max(0, pct))), message=str(message)[:300])
        if self._cancel:
            raise JobCancelled()

    def check_cancelled(self) -> None:
        if self.cancelled():
            raise JobCancelled()

    def cancelled(self) -> bool:
        """True once a cancel was requested (read at most every MIN_INTERVAL seconds)."""
        now = time.monotonic()
        if not self._cancel and now - self._last_write >= self.MIN_INTERVAL:
            self._last_write = now
            self._write()
        return self._cancel

    def _write(self, **fields) -> None:
        from .models import Job

        fields["heartbeat_at"] = timezone.now()
        Job.objects.filter(pk=self.job.pk).update(**fields)
        self._cancel = Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()

    # --- files ---------------------------------------------------------------------------------------
    @property
    def workdir(self) -> Path:
        """``MEDIA_ROOT/jobs/.tmp-<id>/``: created on first use, removed when the job fails or is cancelled
        (and by a starting worker if its process died)."""
        path = self.job.workdir
        path.mkdir(parents=True, exist_ok=True)
        return path

    def publish(self, dest: Path, src: Path | None = None) -> str:
        """Move the finished results (``src``, default the work folder) to ``dest`` with one rename, so the
        results appear complete or not at all; returns ``dest`` relative to MEDIA_ROOT."""
        src = Path(src) if src is not None else self.job.workdir
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            shutil.rmtree(dest)  # an earlier attempt's results for the same record
        src.rename(dest)  # same filesystem (both under MEDIA_ROOT): atomic
        media = Path(settings.MEDIA_ROOT)
        return str(dest.relative_to(media)) if dest.is_relative_to(media) else str(dest)
