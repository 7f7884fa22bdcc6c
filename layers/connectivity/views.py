"""The «Conectividad omnidireccional» page: a shell; the form talks to /api/v1/connectivity/."""
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from layers.models import Layer

from . import analysis, runs


def page(request):
    dem = Layer.objects.filter(slug="dem-srtm3").first()
    strings = {
        "running": _("Calculando"), "done": _("Terminado"), "failed": _("La corrida falló"),
        "cached": _("Resultado reutilizado de una corrida idéntica."),
        "cancelled": _("Cancelada: no se guardó ningún resultado."),
        "summary": _("{rows} × {cols} celdas de {cell} m; radio {radius} celdas ({radius_m} m), bloques de {block}; "
                     "{targets} ventanas; {secs} s."),
        "partial": _("Resultado PARCIAL: parte del área no tiene resistencia."),
        "demo": _("Usa datos DEMO."),
        "maps": {"corriente": _("Corriente acumulada"), "potencial": _("Potencial de flujo"),
                 "normalizada": _("Corriente normalizada"), "clases": _("Clases de corriente normalizada")},
        "classes": {"impedido": _("Impedido"), "difuso": _("Difuso"), "canalizado": _("Canalizado"),
                    "intensificado": _("Intensificado")},
        "radiusShort": _("radio {r}, bloque {b}"),
        "drawn": _("Polígono dibujado"), "needArea": _("Elija un área o dibuje un polígono."),
        "uploading": _("Subiendo y revisando «{name}»…"), "uploaded": _("«{name}» listo."),
    }
    return render(request, "layers/connectivity.html", {
        "api": {"runs": reverse("api-connectivity"), "areas": reverse("api-overlay-areas"),
                "inputs": reverse("api-corridors-inputs")},
        "js_strings": strings,
        "can_run": request.user.has_perm(runs.RUN_PERMISSION),
        "can_upload": request.user.has_perm("layers.add_corridorrun"),
        "dem_bounds": (dem.raster_meta or {}).get("bounds") if dem else None,
        "max_cells": analysis.max_cells(),
    })
