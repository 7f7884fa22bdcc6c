"""Job kind «pot_conflicts»: the department-wide POT conflict recomputation, run by ``geosig_worker``.

It fills the per-plan conflict cache (``services.conflicts._cached``) that the conflicts page and API read:
one stage per mode (cancel is checked between stages), with geometry (page, GeoJSON, PDF) and without (CSV).
"""
from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jobs import services as jobs
from jobs.models import Job
from jobs.registry import register

from .services.conflicts import MODES, analyse_conflicts

KIND = "pot_conflicts"


@register(KIND, label=gettext_lazy("Conflictos POT del departamento"), retries=2)
def recompute_department(ctx, params: dict) -> dict:
    """Published plans as an anonymous visitor sees them (the first page view), every mode."""
    stages = [(mode, geometry) for geometry in (True, False) for mode in MODES]
    for i, (mode, geometry) in enumerate(stages):
        ctx.progress(100 * i / len(stages), _("Conflictos del departamento: %(mode)s (%(n)d de %(total)d)")
                     % {"mode": mode, "n": i + 1, "total": len(stages)})
        analyse_conflicts(None, modes=[mode], with_geometry=geometry)
    report = analyse_conflicts(None, with_geometry=True)  # all read from the cache just filled
    return {"findings": len(report.findings), "plans": len(report.plans)}


def enqueue_department(owner=None) -> tuple[Job, bool]:
    """(job, new): one recomputation in the queue at a time — a second request joins the queued one."""
    queued = Job.objects.filter(kind=KIND, state=Job.State.QUEUED).order_by("pk").first()
    if queued is not None:
        return queued, False
    return jobs.enqueue(KIND, {}, owner=owner), True
