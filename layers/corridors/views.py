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
        "csDone": _("Circuitscape terminado: {n} archivos."),
        "csCore": _("Núcleo"),
        "csResistance": _("Resistencia efectiva"),
        "status": {k: _(v) for k, v in STATUS_LABELS.items()},
        "sourceLabels": {"slope": _("Pendiente (°)"), "elevation": _("Elevación (km bajo ref.)"),
                         "proximity": _("Proximidad"), "barrier": _("Barrera"), "landcover": _("Cobertura (tabla)"),
                         "raster": _("Ráster de resistencia")},
    }
    return render(request, "layers/corridors.html", {
        "api": {"options": reverse("api-corridors-options"), "runs": reverse("api-corridors"),
                "inputs": reverse("api-corridors-inputs"), "circuitscape": reverse("api-circuitscape")},
        "js_strings": strings,
        "can_run": request.user.has_perm("layers.add_corridorrun"),
    })


def circuitscape_page(request):
    """Circuitscape's raster scenarios with every option of the command; the form talks to
    /api/v1/corridors/inputs/ and /api/v1/corridors/circuitscape/."""
    from .circuitscape_runs import CHOICES, FILES, FLAGS, REQUIRED

    strings = {
        "uploading": _("Subiendo y revisando «{name}»…"),
        "uploaded": _("«{name}» listo."),
        "running": _("Calculando"),
        "cached": _("Resultado reutilizado de una corrida idéntica."),
        "done": _("Terminado"),
        "failed": _("La corrida falló"),
        "cancelled": _("Cancelada: no se guardó ningún resultado."),
        "summary": _("Modo {mode}: {nodes} nodos, {solves} soluciones, {secs} s."),
        "needFile": _("Falta el archivo: {label}."),
    }
    return render(request, "layers/circuitscape.html", {
        "api": {"runs": reverse("api-circuitscape"), "inputs": reverse("api-corridors-inputs")},
        "js_strings": strings,
        "files": {k: {"kinds": list(v[0]), "scenarios": list(v[1])} for k, v in FILES.items()},
        "required": REQUIRED, "flags": FLAGS, "choices": {k: list(v[0]) for k, v in CHOICES.items()},
        "can_run": request.user.has_perm("layers.add_corridorrun"),
    })
