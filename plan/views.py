"""Pages of the plan follow-up: the public accountability page («control social») and a project's page."""
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from geosig.errors import NotFound
from plan.models import STATUSES, TERMS, Dimension, Entity
from plan.services import access, queries, semaphore


def _strings() -> dict:
    return {"projects": _("{n} proyectos"), "none": _("Ningún proyecto con estos filtros."),
            "progress": _("avance"), "expected": _("esperado"), "noData": _("sin dato"), "target": _("meta"),
            "baseline": _("línea base"), "open": _("Ver proyecto"), "demo": _("DEMO"),
            "states": {k: str(v) for k, v in semaphore.STATES.items()},
            "unassigned": _("Líneas sin dimensión asignada"), "reportOk": _("Reporte guardado."),
            "entity": _("Entidad"), "status": _("Estado"), "program": _("Programa"), "line": _("Línea"),
            "dimension": _("Dimensión"), "dates": _("Fechas"), "semaphore": _("Semáforo"),
            "budget": _("Presupuesto total (COP)"), "places": _("Municipios y subregiones"),
            "goalValue": _("Valor reportado"), "goalSave": _("Reportar valor de la meta")}


def public_page(request):
    from territorial.models import Municipality, Subregion

    visible = queries.projects_for(request.user)
    config = {"api": {"projects": reverse("api-plan-projects"), "progress": reverse("api-plan-progress"),
                      "goals": reverse("api-plan-goals"), "export": reverse("api-plan-export", args=["FMT"])},
              "projectUrl": reverse("plan-project", args=[0]), "strings": _strings()}
    return render(request, "plan/public.html", {
        "config": config, "dimensions": Dimension.objects.all(),
        "subregions": Subregion.objects.order_by("order"), "municipalities": Municipality.objects.order_by("name"),
        "entities": Entity.objects.filter(pk__in=visible.values("entity_id")), "terms": TERMS, "statuses": STATUSES,
        "demo": visible.filter(is_demo=True).exists(), "office": access.is_office(request.user),
    })


def project_page(request, pk):
    try:
        project = access.get_visible(request.user, queries.projects_for(request.user), pk)
    except NotFound as exc:
        raise Http404(exc.message) from None
    config = {"api": {"project": reverse("api-plan-project", args=[pk]),
                      "reports": reverse("api-plan-project-reports", args=[pk]),
                      "goalReports": reverse("api-plan-goal-reports", args=[0])},
              "strings": _strings()}
    return render(request, "plan/project.html", {"project": project, "config": config,
                                                 "can_report": access.can_report(request.user, project.entity_id)})


