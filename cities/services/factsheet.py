"""cities' section of the fact sheets (territorial.factsheets registry): the place's role in the city system —
rank, size class, nearest intermediate city and the time to it, Hansen accessibility — from the balance on
the latest population year (total basis). The balance runs once per data version and process (memo), not
once per sheet."""
from __future__ import annotations

import json

from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geosig import numbers, versioned

NAMESPACE = "cities-factsheet"


def _signature() -> str:
    from cities.models import City, FunctionInventory, Scenario, TravelMatrix

    parts = [City.objects.count(), TravelMatrix.objects.aggregate(m=Max("pk"))["m"],
             FunctionInventory.objects.aggregate(m=Max("pk"))["m"], Scenario.objects.count()]
    return "|".join(map(str, parts)) + "|" + versioned.version("territorial")


def _roles() -> dict:
    """{"year", "municipios": {code: row}, "subregiones": {code: row}} of the default balance (memoised)."""
    from cities.services.report import balance_report

    def build():
        r = balance_report(None, "total")
        return json.dumps({"year": r.meta["year"], "params": r.meta["params"],
                           "municipios": {row["code"]: row for row in r.table("municipios").rows},
                           "subregiones": {row["code"]: row for row in r.table("subregiones").rows}}, default=str)

    body, _gz, _etag = versioned.memo(NAMESPACE, ("roles", _signature()), build)
    return json.loads(body)


def build(subject) -> dict | None:
    from cities.models import City

    if not City.objects.exists():
        return None
    roles = _roles()
    year, p = roles["year"], roles["params"]
    facts = []
    if subject.municipality is not None:
        row = roles["municipios"].get(subject.code)
        if row is None:
            return None
        t = row.get("time_to_intermediate_h")
        own = row.get("nearest_intermediate") == row["name"]  # itself an intermediate city or larger
        facts = [(_("Rango por población (%(year)s)") % {"year": year}, f"{row['rank']} / {len(roles['municipios'])}"),
                 (_("Clase de tamaño"), _(row["size_class"])),
                 (_("Participación en la población del Valle"), numbers.pct_label(row["share_pct"], 2)),
                 (_("Ciudad intermedia (o mayor) más cercana"),
                  _("la propia cabecera") if own else (row.get("nearest_intermediate") or "—")),
                 (_("Tiempo a esa ciudad"), "—" if t is None or own else f"{numbers.number(t, 2)} h"),
                 (_("Accesibilidad de Hansen"), f"{numbers.number(row['hansen'])} hab")]
    else:
        row = roles["subregiones"].get(subject.code)
        if row is None:
            return None
        t = row.get("weighted_time_to_intermediate_h")
        facts = [(_("Participación en la población del Valle (%(year)s)") % {"year": year},
                  numbers.pct_label(row["population_share_pct"], 2)),
                 (_("Participación en el área"), numbers.pct_label(row["area_share_pct"], 2)),
                 (_("Metrópolis"), numbers.number(row["metropolises"])),
                 (_("Ciudades intermedias"), numbers.number(row["intermediate_cities"])),
                 (_("Tiempo ponderado a ciudad intermedia (municipios que no lo son)"),
                  "—" if t is None else f"{numbers.number(t, 2)} h")]
    note = _("Sistema de ciudades %(year)s, población total; ciudad intermedia: %(lo)s a %(hi)s hab (umbral "
             "editable en /ciudades/).") % {"year": year, "lo": numbers.number(p["intermediate_min"]),
                                            "hi": numbers.number(p["metropolis_min"])}
    return {"facts": facts, "notes": [note]}


def register() -> None:
    from territorial import factsheets

    factsheets.register_section("ciudades", 30, gettext_lazy("Papel en el sistema de ciudades"), build,
                                signature=lambda subject: _signature())
