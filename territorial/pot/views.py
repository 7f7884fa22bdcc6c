"""Pages of the POT module: plan list, zoning editor, conflicts map. Data arrives through the API."""
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from geosig.errors import NotFound
from territorial.models import Municipality
from territorial.pot.classes import Status
from territorial.pot.models import Plan
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
        # findings after a save, the confirmation dialog, the amend cycle
        "saved_clean": _("Guardado: versión {v}, sin observaciones."),
        "saved_gates": _("Guardado: versión {v}. Hay barreras abiertas: el plan no puede enviarse hasta resolverlas o dispensarlas."),
        "saved_warnings": _("Guardado: versión {v}, con advertencias."),
        "not_saved": _("No se guardó: corrija los errores señalados."),
        "unchanged": _("Sin cambios: no se creó una versión nueva."),
        "sev_error": _("Error"), "sev_gate": pgettext("POT validation severity", "Barrera"), "sev_warning": _("Advertencia"),
        "see_on_map": _("ver en el mapa"), "waived": _("dispensada"), "waive": _("Dispensar"),
        "waived_by": _("Dispensada por {by}: {reason}"),
        "waive_confirm": _("¿Dispensar la barrera «{label}»? Quedará registrada con su motivo en el historial."),
        "value": _("valor"), "threshold": _("umbral"),
        "clipped": _("Ajuste al municipio y a las zonas existentes"),
        "clipped_zone": _("{zone}: se recortaron {area}"),
        "confirm": _("Confirmar"), "cancel": _("Cancelar"), "reason": _("Motivo"),
        "reason_required": _("Escriba el motivo: es obligatorio para esta acción."),
        "confirm_default": _("¿Confirma «{label}»?"),
        "gates_open": _("Barreras abiertas"),
        "done": _("Hecho: {label}."),
        "comment_sent": _("Comentario enviado."),
        "legend": _("Clases de suelo"),
        "replaced_by": _("Este plan fue reemplazado por «{name}»."), "replaces": _("Esta revisión reemplaza a «{name}»."),
        "plan_n": _("plan n.º {id}"), "conflict_kinds": _("Tipo de conflicto"),
        # the whole department is computed by a job (territorial.pot.department): the page follows it
        "computing": _("Todo el departamento en cálculo en el servidor ({pct} %): {message}. El informe se "
                       "mostrará al terminar; puede dejar esta página abierta."),
        "computing_queued": _("Todo el departamento en cálculo: en cola del servidor de trabajos."),
        "computing_failed": _("El cálculo del departamento falló: {error}"),
        "computing_cancelled": _("El cálculo del departamento fue cancelado; pulse «Calcular» para lanzarlo de nuevo."),
    }


def _api_path(name: str, fallback_tail: str, args=()) -> str:
    """The URL of a named API view; the contract's path while the backend names it (POT-CONTRACT.md)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return reverse("api-pot-registry").removesuffix("registry/") + fallback_tail


def plan_index(request):
    plans = access.plans_visible_to(request.user, Plan.objects.select_related("municipality"))
    mine = access.planner_municipality_ids(request.user)
    can_create = Municipality.objects.all() if request.user.is_superuser else Municipality.objects.filter(pk__in=mine)
    config = {
        "reviewer": access.is_reviewer(request.user),
        "queue": _api_path("api-pot-review-queue", "review-queue/"),
        "editor": reverse("pot-editor", args=[0]),
        "strings": {"no_queue": _("No hay planes esperando revisión."), "gates": _("{n} barrera(s) abierta(s)"),
                    "no_gates": _("sin barreras abiertas"), "shown": _("{n} de {total} planes")},
    }
    return render(request, "territorial/pot/index.html", {
        "plans": plans, "can_create": can_create, "config": config,
        "statuses": Status.CHOICES,
        "municipalities": sorted({(p.municipality.divipola, p.municipality.name) for p in plans}, key=lambda m: m[1]),
    })


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
            "revision": _api_path("api-pot-revision", f"plans/{plan.pk}/revision/", [plan.pk]),
            "waivers": _api_path("api-pot-waivers", f"plans/{plan.pk}/waivers/", [plan.pk]),
        },
        "editor": reverse("pot-editor", args=[0]),
        "classes": soil_class_registry(),
        "strings": _strings(),
    }
    return render(request, "territorial/pot/editor.html", {
        "plan": plan, "config": config, "internal": access.sees_internals(request.user, plan),
        "approval": approval(plan)})


def conflicts_page(request):
    config = {
        "api": reverse("api-pot-conflicts"),
        "editor": reverse("pot-editor", args=[0]),
        "classes": soil_class_registry(),
        "kinds": {k: str(v) for k, v in KIND_LABELS.items()},
        "strings": _strings(),
    }
    return render(request, "territorial/pot/conflicts.html", {
        "config": config, "municipalities": Municipality.objects.order_by("name"),
        "modes": MODES, "defaults": DEFAULTS,
    })
