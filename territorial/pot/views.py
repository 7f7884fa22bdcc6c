"""Pages of the POT module: plan list, zoning editor, conflicts map. Data arrives through the API."""
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from geosig.errors import NotFound
from territorial.pot.services import access
from territorial.pot.services.conflicts import DEFAULTS, KIND_LABELS, MODES
from territorial.pot.services.plans import approval, soil_class_registry


def _strings():
    return {
        "save": _("Guardar"), "saved": _("Guardado: versión {v}."), "dirty": _("Cambios sin guardar"),
        "undo_empty": _("No hay nada que deshacer."), "select_zone": _("Seleccione una zona en el mapa."),
        "select_two": _("Seleccione al menos dos zonas (Mayús+clic) para unir."),
        "save_first": _("Guarde los cambios antes de esta operación."),
        "draw_split": _("Dibuje una línea que cruce la zona seleccionada."),
        "click_comment": _("Haga clic en el mapa donde quiere fijar el comentario."),
        "no_conflicts": _("Sin conflictos internos."), "conflicts": _("Conflictos del plan"),
        "restore_confirm": _("¿Restaurar la versión {n}? Se creará una versión nueva con su contenido."),
        "reply": _("Responder"), "send": _("Enviar"), "comment_text": _("Texto del comentario"),
        "zone": _("Zona"), "new_zone": _("Zona nueva"), "outside": _("fuera del municipio"),
        "demo": _("DEMO: plan de demostración generado a partir de datos reales; no es un POT adoptado."),
        "loading": _("Calculando…"), "area": _("Área"), "verdict": _("Dictamen"), "kind": _("Tipo"),
        "detail": _("Detalle"), "restore": _("Restaurar"), "show": _("Ver"), "imported": _("Importado."),
        "error": _("Error"), "determinants": _("Determinantes ambientales"), "zones": _("Zonas del plan"),
        "system": _("sistema"),
        "comments_layer": _("Comentarios"), "version_preview": _("Versión {n} (vista previa)"), "hide": _("Ocultar"),
    }


def plan_index(request):
    from territorial.models import Municipality
    from territorial.pot.models import Plan

    plans = access.plans_visible_to(request.user, Plan.objects.select_related("municipality"))
    mine = access.planner_municipality_ids(request.user)
    can_create = Municipality.objects.all() if request.user.is_superuser else Municipality.objects.filter(pk__in=mine)
    return render(request, "territorial/pot/index.html", {"plans": plans, "can_create": can_create})


def editor(request, pk):
    try:
        plan = access.get_visible_plan(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from None
    config = {
        "planId": plan.pk,
        "api": {
            "plan": reverse("api-pot-plan", args=[plan.pk]),
            "zones": reverse("api-pot-zones", args=[plan.pk]),
            "merge": reverse("api-pot-merge", args=[plan.pk]),
            "split": reverse("api-pot-split", args=[plan.pk]),
            "transition": reverse("api-pot-transition", args=[plan.pk]),
            "versions": reverse("api-pot-versions", args=[plan.pk]),
            "comments": reverse("api-pot-comments", args=[plan.pk]),
            "import": reverse("api-pot-import", args=[plan.pk]),
            "conflicts": reverse("api-pot-conflicts"),
            "determinants": reverse("api-pot-determinants") + "?municipality=" + plan.municipality.divipola,
        },
        "classes": soil_class_registry(),
        "strings": _strings(),
    }
    return render(request, "territorial/pot/editor.html", {
        "plan": plan, "config": config, "internal": access.sees_internals(request.user, plan),
        "approval": approval(plan)})


def conflicts_page(request):
    from territorial.models import Municipality

    config = {
        "api": reverse("api-pot-conflicts"),
        "kinds": {k: str(v) for k, v in KIND_LABELS.items()},
        "strings": _strings(),
    }
    return render(request, "territorial/pot/conflicts.html", {
        "config": config, "municipalities": Municipality.objects.order_by("name"),
        "modes": MODES, "defaults": DEFAULTS,
    })
