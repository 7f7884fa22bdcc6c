"""The plan's section of the municipality/subregion fact sheets (territorial.factsheets registry): published
projects and goals of the place. Registered from PlanConfig.ready(); territorial never imports plan."""
from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geosig import numbers


def build(subject) -> dict | None:
    from plan.models import Goal
    from plan.services import queries, semaphore

    projects = list(queries.published_projects_queryset()
                    .filter(municipalities__divipola__in=subject.divipolas).distinct().order_by("code")[:50])
    goals = list(Goal.objects.filter(published=True, project__in=projects).select_related("project")
                 .prefetch_related("reports")[:50])
    if not projects:
        return None
    th = semaphore.thresholds()
    rows = []
    for p in projects:
        d = queries.project_dict(p, th)
        rows.append([p.code, p.name, d["status_label"], numbers.pct_label(p.progress), d["semaphore_label"],
                     numbers.number(d["budget_total_cop"])])
    out = {"tables": [{"caption": _("Proyectos del plan"),
                       "columns": [_("Código"), _("Proyecto"), _("Estado"), _("Avance"), _("Semáforo"),
                                   _("Presupuesto (COP)")], "rows": rows}],
           "notes": [_("Proyectos publicados por la oficina de planeación; semáforo: avance frente al esperado "
                       "según sus fechas.")],
           "demo": any(p.is_demo for p in projects)}
    if goals:
        grows = []
        for g in goals:
            d = queries.goal_dict(g, th)
            grows.append([g.code, g.name, g.unit, numbers.flexible(g.target_value), d["semaphore_label"]])
        out["tables"].append({"caption": _("Metas"), "columns": [_("Código"), _("Meta"), _("Unidad"),
                                                                 _("Valor meta"), _("Semáforo")], "rows": grows})
    if out["demo"]:
        out["notes"].append(_("DEMO: portafolio de demostración generado; no son proyectos reales."))
    return out


def register() -> None:
    try:
        from territorial import factsheets
    except ImportError:  # the fact sheets arrive with helper «facts»; nothing to register before that
        return
    factsheets.register_section(key="plan", order=70, title=gettext_lazy("Proyectos y metas"), build=build,
                                versions=("plan",))
