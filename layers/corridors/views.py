"""The "Corredores ecológicos" page: a shell; the form talks to /api/v1/corridors/."""
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from .corridor import STATUS_LABELS


def page(request):
    strings = {
        "noDem": _("fuera de la cobertura del DEM, que solo llega hasta 4°N"),
        "selected": _("núcleos seleccionados"),
        "drawn": _("dibujados"),
        "pointHelp": _("Capa de PUNTOS: cada núcleo será un disco del radio indicado (o una celda), no el límite real."),
        "polygonHelp": _("Capa de polígonos: cada polígono es un núcleo."),
        "remove": _("Quitar"),
        "running": _("Calculando"),
        "cached": _("Resultado reutilizado de una corrida idéntica."),
        "done": _("Terminado"),
        "cancelled": _("Cancelada: no se guardó ningún resultado."),
        "failed": _("La corrida falló"),
        "summary": _("{cores} núcleos, {links} vínculos ({kept} válidos), grilla {rows} × {cols} de {cell} m, {secs} s."),
        "network": _("IIC = {iic}; PC = {pc} (dispersión {d} unidades de costo; atributo: {attr})."),
        "cores": _("Núcleos usados"),
        "paths": _("Rutas de menor costo"),
        "corridors": _("Corredores truncados"),
        "legend": _("Corredores"),
        "current": _("Densidad de corriente (puntos de estrangulamiento; claro = alta)"),
        "needTwo": _("Seleccione al menos dos núcleos."),
        "uploading": _("Subiendo y revisando «{name}»…"),
        "uploaded": _("«{name}» listo."),
        "coverHint": _("Si el GeoTIFF es de cobertura, elija primero la tabla clase → resistencia."),
        "fileResistance": _("Se usa el ráster subido; la receta de abajo no se aplica."),
        "status": {k: _(v) for k, v in STATUS_LABELS.items()},
        "sourceLabels": {"slope": _("Pendiente (°)"), "elevation": _("Elevación (km bajo ref.)"),
                         "proximity": _("Proximidad"), "barrier": _("Barrera"), "landcover": _("Cobertura (tabla)"),
                         "raster": _("Ráster de resistencia")},
    }
    return render(request, "layers/corridors.html", {
        "api": {"options": reverse("api-corridors-options"), "runs": reverse("api-corridors"),
                "inputs": reverse("api-corridors-inputs")},
        "js_strings": strings,
        "can_run": request.user.has_perm("layers.add_corridorrun"),
    })
