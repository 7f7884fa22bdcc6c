"""Retention of the corridor input store (``MEDIA_ROOT/corridors/inputs/``, files uploaded through
``POST /api/v1/corridors/inputs/``): without it the store only grows.

A file is removed when it is older than ``CORRIDOR_INPUTS_RETENTION_HOURS`` (its modification time: written, or
uploaded again, that long ago) and no queued or running job reads it — a corridor or connectivity run (the file is
named in the run's parameters) or a job naming it in its own parameters (Circuitscape). A finished run no longer
needs its inputs (its results are on disk; a new run asks for the file again: «súbalo de nuevo»). Registered as a
worker cleanup (``jobs.registry.register_cleanup``) from ``layers.apps``.
"""
from __future__ import annotations

import time

from django.conf import settings

from jobs.models import Job
from layers.connectivity.models import ConnectivityRun
from layers.corridors import inputs
from layers.corridors.models import CorridorRun

PARTIAL_PREFIX = "."  # «.<ref>.<uuid>»: a copy that never finished (inputs.store renames it when complete)


def remove_stale_inputs(now: float | None = None) -> dict:
    """Remove expired input files no active job reads; returns {"removed": n, "bytes": freed, "kept_in_use": n}."""
    root = inputs.store_root()
    out = {"removed": 0, "bytes": 0, "kept_in_use": 0}
    if not root.is_dir():
        return out
    hours = float(getattr(settings, "CORRIDOR_INPUTS_RETENTION_HOURS", 48))
    limit = (time.time() if now is None else now) - hours * 3600
    old = []
    for path in root.iterdir():
        try:
            st = path.stat()
        except FileNotFoundError:  # removed meanwhile by another worker
            continue
        if path.is_file() and st.st_mtime < limit and (inputs.REF.match(path.name) or path.name.startswith(PARTIAL_PREFIX)):
            old.append((path, st.st_size))
    if not old:
        return out
    used = referenced()  # read after listing: a run started meanwhile names a file that is then kept
    for path, size in old:
        if path.name in used:
            out["kept_in_use"] += 1
            continue
        path.unlink(missing_ok=True)
        out["removed"] += 1
        out["bytes"] += size
    return out


def referenced() -> set[str]:
    """Names of store files in the parameters of every queued or running job and of their runs."""
    found: set[str] = set()
    for params in Job.objects.filter(state__in=Job.ACTIVE).values_list("params", flat=True):
        _collect(params, found)
    runs = CorridorRun.objects.filter(status__in=[CorridorRun.Status.PENDING, CorridorRun.Status.RUNNING])
    for params in runs.values_list("params", flat=True):
        _collect(params, found)
    for params in ConnectivityRun.objects.filter(job__state__in=Job.ACTIVE).values_list("params", flat=True):
        _collect(params, found)
    return found


def _collect(value, found: set[str]) -> None:
    # file refs sit at various depths ({"resistance": {"raster": {"file": …}}}, Circuitscape's options…): walk all
    if isinstance(value, dict):
        for v in value.values():
            _collect(v, found)
    elif isinstance(value, list):
        for v in value:
            _collect(v, found)
    elif isinstance(value, str) and inputs.REF.match(value):
        found.add(value)
