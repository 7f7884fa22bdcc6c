from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from cities.models import Scenario, TravelMatrix
from cities.services import outputs
from cities.services.report import BASES, available_years, can_edit_scenarios, can_import, report_from_query
from geosig.errors import GeoSIGError
from geosig.throttling import throttle


FORMAT_LABELS = {"csv_es": _lazy("Excel (es)")}


def _scenario_data(scenarios) -> list[dict]:
    """The stored scenarios for the edit form: adjustments as the text the form takes ('norte=0.5, …')."""
    data = []
    for sc in scenarios:
        adj = [("" if a.target_type == "subregion" else "municipio:") + f"{a.target_code}={a.growth_pp:g}"
               for a in sc.adjustments.all()]
        data.append({"name": sc.name, "kind": sc.kind, "horizon_year": sc.horizon_year,
                     "description": sc.description, "adjustments": ", ".join(adj)})
    return data


@throttle("reports")  # computes a whole balance, like the API
def balance_page(request):
    """"Sistema de ciudades": the balance report for the chosen year / basis / scenario, rendered server-side
    (same template as the HTML report), with the Leaflet map fed through json_script."""
    q = request.GET
    ctx = {
        "bases": [(k, v[1]) for k, v in BASES.items()],
        "years": {b: available_years(b) for b in BASES},
        "scenarios": list(Scenario.objects.prefetch_related("adjustments")),
        "matrices": list(TravelMatrix.objects.order_by("name", "-version").distinct("name")),  # newest of each name
        "formats": [(f, FORMAT_LABELS.get(f, f.upper())) for f in outputs.FORMATS],
        "wide_formats": [(f, FORMAT_LABELS.get(f, f.upper())) for f in outputs.MUNICIPALITIES],
        "q": {"year": q.get("year", ""), "basis": q.get("basis", "cabecera"), "scenario": q.get("scenario", ""),
              "compare": q.get("compare", ""), "matrix": q.get("matrix", "")},
        "query_string": request.GET.urlencode(),
        "scenarios_api": reverse("api-cities-scenarios"),
        "can_edit_scenarios": can_edit_scenarios(request.user),
        "can_import": can_import(request.user),  # the API's import role (checked again there)
    }
    if ctx["can_edit_scenarios"]:
        ctx["scenario_data"] = _scenario_data(ctx["scenarios"])
        ctx["scenario_messages"] = {"confirmDelete": _("¿Eliminar el escenario «%(name)s»? No se puede deshacer.")}
    status = 200
    try:
        report = report_from_query(q, with_places=True, user=request.user)
        outlines = outputs.municipality_outlines()
        ctx.update(outputs.page_context(report))
        data = outputs.map_data(report, outlines)
        data["labels"] = {"hours": "h", "inhabitants": _("hab"), "toIntermediate": _("h a ciudad intermedia"),
                          "legendTitle": _("Sistema de ciudades"), "cities": _("Cabeceras (área ∝ población)"),
                          "places": _("Otros centros poblados"), "links": _("Red (grosor ∝ gravedad)"),
                          "roads": _("Red vial nacional (solo visualización)")}
        ctx["map_data"] = data
        ctx["q"]["year"] = str(report.meta["year"])
    except GeoSIGError as exc:
        ctx["error"] = exc.message
        status = exc.status if 400 <= exc.status < 500 else 400
    return render(request, "cities/balance.html", ctx, status=status)
