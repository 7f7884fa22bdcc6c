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
        "factsheet": reverse("factsheet-municipality", args=["00000"]),
        "factsheetLabel": _("Ficha completa del municipio (página y PDF)"),
        "factsheetSubregion": reverse("factsheet-subregion", args=["xxxxx"]),
        "factsheetSubregionLabel": _("Ficha de la subregión"),
        "department": _("Departamento"),
        "national": _("Nacional"),
        "notPublished": _("no publicado"),
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


# ------------------------------------------------------------------ fact sheets (/fichas/…)
FACTSHEET_FORMATS = ("html", "pdf")


def factsheet(request, kind, code):
    """One municipality's or subregion's fact sheet (HTML page, or ``?format=pdf``). The sheet's body (and
    the PDF) is built once per subject, language and data version (services.factsheet_render); a PDF request
    counts against the «reports» rate like the other reports (rendering is the heavy part)."""
    from django.utils.safestring import mark_safe

    from geosig import formats, params, throttling
    from geosig.errors import GeoSIGError
    from territorial import factsheets
    from territorial.services import factsheet_render

    try:
        fmt = params.choice(request.GET.get("format"), "format", FACTSHEET_FORMATS, default="html")
        if fmt == "pdf":
            wait = throttling.hit(request, ["reports"])
            if wait is not None:
                return throttling.too_many_response(request, wait)
        subj = factsheets.subject(kind, code)
        if fmt == "pdf":
            pdf = factsheet_render.sheet_pdf(subj)
            return formats.attachment(pdf, f"ficha_{subj.kind}_{subj.code}", "pdf", inline=True)
        body = factsheet_render.sheet_body(subj)
    except GeoSIGError as exc:
        return throttling.limit_response(request, exc, _("Ficha no disponible"))
    return render(request, "territorial/factsheet/page.html", {
        "subject": subj, "body": mark_safe(body), "batch": _batch_config(request)})  # noqa: S308  body: our template, autoescaped


def _batch_config(request) -> dict | None:
    """What the sheet page needs to offer «every sheet in a ZIP» (only to those who may start it)."""
    from territorial.services import factsheet_batch

    if not factsheet_batch.may_start(request.user):
        return None
    return {
        "start": reverse("api-factsheet-batch"),
        "strings": {
            "queued": _("Lote en cola; lo genera el servidor de trabajos."),
            "progress": _("Generando fichas: {pct} % — {message}"),
            "done": _("Lote listo. Fichas generadas: {n}."),
            "download": _("Descargar ZIP"),
            "failed": _("El lote no se pudo generar: {error}"),
            "cancelled": _("Lote cancelado."),
        },
    }
