from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _


def explorer(request):
    """The map explorer (home page). All data arrives through the API; this only passes URLs and labels."""
    labels = {
        "api": {
            "municipalities": reverse("api-municipalities") + "?simplified=true",
            "municipality": reverse("api-municipality", args=["00000"]),
            "subregions": reverse("api-subregions"),
            "indicators": reverse("api-indicators"),
            "search": reverse("api-municipality-search"),
        },
        "subregion": _("Subregión"),
        "code": _("Código DIVIPOLA"),
        "area": _("Área calculada (EPSG:9377)"),
        "officialArea": _("Área oficial DANE"),
        "cabecera": _("Cabecera"),
        "population": _("Población"),
        "populationSeries": _("Población total 2012–2024 (DANE, proyecciones; 2018 = censo ajustado)"),
        "urbanRural2018": _("Cabecera / resto 2018"),
        "censusMissing": _("Censos 1985, 1993 y 2005: no disponibles en los datos cargados."),
        "noData": _("sin dato"),
        "source": _("Fuente"),
        "loadError": _("No se pudieron cargar los datos"),
        "notFound": _("No se encontró el municipio"),
        "subregionsLegend": _("Subregiones"),
        "km2": "km²",
        "inhabitants": _("hab."),
    }
    return render(request, "territorial/explorer.html", {"labels": labels})
