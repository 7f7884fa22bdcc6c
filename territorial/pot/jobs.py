"""Job kind «pot_conflicts»: the department-wide POT conflict recomputation, run by ``geosig_worker``.

It fills the per-plan conflict cache (``services.conflicts._cached``) that the conflicts page and API read:
one stage per mode (cancel is checked between stages). One entry serves every format: the geometry is stored
with the rows and made GeoJSON only when a response returns it.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geosig.errors import NotFound
from jobs.models import Job
from jobs.registry import register

from . import department
from .services.conflicts import MODES, analyse_conflicts

KIND = "pot_conflicts"


@register(KIND, label=gettext_lazy("Conflictos POT del departamento"), retries=2, public=True)
def recompute_department(ctx, params: dict) -> dict:
    """The department as ``params["user"]`` sees it (none: an anonymous visitor, the first page view), with the
    request's parameters, every mode. The result names the fingerprint computed (``department.fingerprint``):
    department requests with that fingerprint then read the cache instead of queueing this again."""
    user = None
    if params.get("user"):
        user = get_user_model().objects.filter(pk=params["user"]).first()
        if user is None:
            raise NotFound(_("El usuario que pidió este cálculo ya no existe."))
    settings = params.get("settings") or {}
    fp = department.fingerprint(user, settings)  # before computing: a plan saved meanwhile gets its own job
    stages = list(MODES)
    for i, mode in enumerate(stages):
        ctx.progress(100 * i / len(stages), _("Conflictos del departamento: %(mode)s (%(n)d de %(total)d)")
                     % {"mode": mode, "n": i + 1, "total": len(stages)})
        analyse_conflicts(user, modes=[mode], **settings)
    report = analyse_conflicts(user, **settings)  # all read from the cache just filled
    # the entries counted now: a later request finding fewer knows an eviction took some (the fingerprint is
    # the one computed, taken before the stages: a plan saved meanwhile does not claim this job's work)
    return {"findings": len(report.findings), "plans": len(report.plans),
            **department.job_result(user, settings), "fingerprint": fp}


def enqueue_department(owner=None) -> tuple[Job, bool]:
    """(job, new): the department as an anonymous visitor sees it, default parameters (the loader's warm-up);
    one job per fingerprint queued or running — a second call joins it. ``owner`` is ignored: the job shows
    what anyone sees, so it has none and its status is public."""
    return department.enqueue()
