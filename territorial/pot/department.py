"""The department-wide conflict analysis never runs inside a web request: it is the «pot_conflicts» job's work.

A request for the whole department (no plan, no municipality) is answered from the conflict cache only when a
finished job computed it for the same *fingerprint* (the plans that user sees with their versions, the rounded
parameters and the loaded determinants) and the cache's size cap has not evicted entries of those plans since. Otherwise the request enqueues that job (or joins the one already queued
or running for the same fingerprint) and answers «en cálculo». A plan saved since, other parameters, or a
reviewer who also sees drafts: another fingerprint, hence a job (cheap when most plans are still cached).

One plan or one municipality stays inline: it reads one plan (and its neighbours' rows for the cross-border
mode), bounded whatever the department holds.
"""
from __future__ import annotations

import hashlib
import json

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import Q

from geosig.errors import ConflictError
from jobs.models import Job

from .models import ConflictCache, Determinant
from .services.conflicts import conflict_settings, reference_plans, rounded

KIND = "pot_conflicts"
SETTINGS = ("ronda_m", "buffer_m", "sliver_m2")  # what a request may change (conflict_params in the API)


def settings_of(raw: dict | None) -> dict:
    """The request's parameters that change the cache key, without the absent ones (a Spanish 400 for a bad one)."""
    given = {k: v for k, v in (raw or {}).items() if k in SETTINGS and v not in (None, "")}
    conflict_settings(given)  # validates: a bad value is refused before anything is stored
    return given


def fingerprint(user, settings: dict) -> str:
    """What a department-wide report depends on, as the conflict cache keys it (not the format, not the modes:
    the job computes every mode)."""
    return _state(user, settings)[0]


def _state(user, settings: dict) -> tuple[str, int]:
    """(fingerprint, cache entries now stored for those plans at those versions)."""
    p, _notes = rounded(conflict_settings(settings))
    plans = sorted((pl.pk, pl.version) for pl in reference_plans(user).values())
    dets = list(Determinant.objects.order_by("pk").values_list("pk", "piece_count", "loaded_at", "params"))
    blob = json.dumps([plans, p, dets], sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest(), _entries(plans)


def _entries(plans: list[tuple[int, int]]) -> int:
    """Cache entries (any mode, any key) of these plans at these versions: they only grow while the plans stay
    the same, unless the cache's size cap evicted some — then the job's entries may be gone too."""
    if not plans:
        return 0
    q = Q()
    for pid, version in plans:
        q |= Q(plan_id=pid, plan_version=version)
    return ConflictCache.objects.filter(q).count()


def job_result(user, settings: dict) -> dict:
    """What the job records when it ends: the fingerprint it computed and the entries then stored."""
    fp, entries = _state(user, settings)
    return {"fingerprint": fp, "entries": entries}


def computed(user, settings: dict) -> tuple[bool, str]:
    """(cached, fingerprint): a finished job computed this fingerprint and no eviction took its entries since
    (fewer entries than it left: recompute through a job — cheap if most are still there)."""
    fp, entries = _state(user, settings)
    done = (Job.objects.filter(kind=KIND, state=Job.State.DONE, result__fingerprint=fp)
            .order_by("-finished_at").values_list("result", flat=True).first())
    return done is not None and entries >= int(done.get("entries") or 0), fp


def pending_job(user, settings: dict) -> Job | None:
    """None when the department report for ``user`` and ``settings`` is already computed (serve it from the
    cache); else the job computing it, enqueued now or joined."""
    cached, fp = computed(user, settings)
    if cached:
        return None
    return enqueue(user, settings, fp)[0]


def enqueue(user=None, settings: dict | None = None, fp: str | None = None) -> tuple[Job, bool]:
    """(job, new): one job per fingerprint in the queue or running; a second request joins it if it may read it.
    An anonymous visitor's job has no owner and its status is public (kind registered ``public``): it shows only
    what anyone sees. A signed-in user's job is theirs (its counts may include drafts only they see)."""
    from jobs import services as jobs

    settings = settings or {}
    fp = fp or fingerprint(user, settings)
    with transaction.atomic():
        # check and enqueue under one lock: two first visitors at once would otherwise queue two jobs
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('geosig_pot_department_job'))")
        owner = user if getattr(user, "is_authenticated", False) else None
        readable = Q(owner=None) | Q(owner=owner) if owner else Q(owner=None)
        active = (Job.objects.filter(readable, kind=KIND, state__in=Job.ACTIVE, params__fingerprint=fp)
                  .order_by("pk").first())
        if active is not None:
            return active, False
        # Each rounded parameter set is its own fingerprint: without a cap, a visitor could fill the queue with
        # department-wide jobs (only the per-IP rate limit stood in the way).
        limit = int(django_settings.POT_DEPARTMENT_MAX_ACTIVE)
        busy = Job.objects.filter(kind=KIND, state__in=Job.ACTIVE).count()
        if busy >= limit:
            raise ConflictError(f"Ya hay {busy} cálculos del departamento en curso (máximo {limit}); vuelva a "
                                "intentarlo en unos minutos o pida un plan o un municipio.")
        params = {"user": owner.pk if owner else None, "settings": settings, "fingerprint": fp}
        return jobs.enqueue(KIND, params, owner=owner), True
