"""territorial's sections of the fact sheets (registry: ``territorial.factsheets``): identity and population,
NBI/IDF with their references, POT plans and open conflicts, environmental determinants by area and the
ecological corridors crossing the place. Plain functions of a ``Subject``; numbers formatted with
``geosig.numbers`` in the active language; nothing invented (a section with no data returns None)."""
from __future__ import annotations

from django.db import connection
from django.db.models import Max
from django.utils.translation import gettext as _

from geosig import numbers
from territorial.models import IndicatorReference, IndicatorValue, Municipality

SERIES = "poblacion_total"
CENSUS_YEAR = 2018
# indicator code → decimals shown; the order of the table
HEADLINE = {"nbi_total": 2, "nbi_cabecera": 2, "nbi_rural": 2, "nbi_miseria": 2, "idf": 2, "idf_resultados": 2,
            "idf_gestion": 2}


def _values(subj, code: str) -> dict:
    """{(divipola, year): value} of one indicator over the subject's municipalities."""
    return {(d, y): v for d, y, v in IndicatorValue.objects.filter(
        indicator__code=code, municipality__divipola__in=subj.divipolas).values_list(
        "municipality__divipola", "year", "value")}


def identity(subj) -> dict:
    """Code, subregion, area, population (census 2018 and latest projection) and the population series."""
    pop = _values(subj, SERIES)
    years = sorted({y for _, y in pop})
    totals = {y: sum(v for (d, yy), v in pop.items() if yy == y) for y in years}
    munis = Municipality.objects.filter(divipola__in=subj.divipolas)
    area = sum(m.area_km2 for m in munis)
    facts = [(_("Código DIVIPOLA") if subj.municipality else _("Código"), subj.code)]
    if subj.municipality:
        m = subj.municipality
        facts += [(_("Subregión"), m.subregion.name), (_("Cabecera"), m.cabecera_name),
                  (_("Área calculada (EPSG:9377)"), numbers.area_label(m.area_km2 * 1e6)),
                  (_("Área oficial DANE"), numbers.area_label((m.official_area_km2 or 0) * 1e6)
                   if m.official_area_km2 else "—")]
    else:
        facts += [(_("Municipios"), f"{len(subj.divipolas)}: " + ", ".join(munis.order_by("name").values_list("name", flat=True))),
                  (_("Área calculada (EPSG:9377)"), numbers.area_label(area * 1e6))]
    if CENSUS_YEAR in totals:
        facts.append((_("Población %(year)s (censo ajustado)") % {"year": CENSUS_YEAR},
                      f"{numbers.number(totals[CENSUS_YEAR])} {_('hab.')}"))
    if years:
        facts.append((_("Población %(year)s (proyección DANE)") % {"year": years[-1]},
                      f"{numbers.number(totals[years[-1]])} {_('hab.')}"))
        facts.append((_("Densidad %(year)s") % {"year": years[-1]}, f"{numbers.number(totals[years[-1]] / area, 1)} hab/km²"))
    table = {"caption": _("Población total por año (DANE; 2018 = censo ajustado)"),
             "columns": [_("Año"), _("Población")], "rows": [[str(y), numbers.number(totals[y])] for y in years]}
    return {"facts": facts, "tables": [table] if years else [],
            "notes": [_("Censos 1985, 1993 y 2005: no disponibles en los datos cargados.")]}


def _reference_text(ref) -> str:
    if ref is None:
        return "—"
    return numbers.number(ref.value, 2) if ref.value is not None else _("no publicado")


def indicators(subj) -> dict | None:
    """NBI 2018 and IDF 2023 (and their parts) with the department and national references."""
    rows, notes, seen = [], [], set()
    refs = {(r.indicator.code, r.scope): r for r in IndicatorReference.objects.select_related("indicator")
            .filter(indicator__code__in=HEADLINE)}
    values = {c: _values(subj, c) for c in HEADLINE}
    from territorial.models import Indicator

    for ind in sorted(Indicator.objects.filter(code__in=HEADLINE), key=lambda i: list(HEADLINE).index(i.code)):
        got = values[ind.code]
        if not got:
            continue
        year = max(y for _, y in got)
        dep, nat = refs.get((ind.code, "departamento")), refs.get((ind.code, "nacional"))
        if subj.municipality:
            cells = [numbers.number(got.get((subj.code, year)), HEADLINE[ind.code])]
        else:  # a subregion: the range of its municipalities (no aggregate is published)
            vs = [v for (d, y), v in got.items() if y == year]
            cells = [f"{numbers.number(min(vs), 2)} – {numbers.number(max(vs), 2)}"]
        rows.append([ind.name, str(year), *cells, ind.unit, _reference_text(dep), _reference_text(nat)])
        for r in (dep, nat):  # one note per source and scope (the parts of a table share their provenance)
            if r is not None and r.note and (ind.source, r.scope) not in seen:
                seen.add((ind.source, r.scope))
                notes.append(f"{r.label}: {r.note}")
        if ind.source not in notes:
            notes.append(ind.source)
    if not rows:
        return None
    value_label = _("Valor") if subj.municipality else _("Rango en sus municipios (mín. – máx.)")
    table = {"caption": _("Pobreza (NBI) y desempeño fiscal (IDF)"),
             "columns": [_("Indicador"), _("Año"), value_label, _("Unidad"), _("Departamento"), _("Nacional")],
             "rows": rows}
    return {"tables": [table] + ([] if subj.municipality else [_members_table(subj, values)]), "notes": notes}


def _members_table(subj, values) -> dict:
    names = dict(Municipality.objects.filter(divipola__in=subj.divipolas).values_list("divipola", "name"))
    rows = [[names[d], numbers.number(values["nbi_total"].get((d, 2018)), 2),
             numbers.number(values["idf"].get((d, 2023)), 2)] for d in sorted(subj.divipolas, key=names.get)]
    return {"caption": _("Municipios de la subregión"), "columns": [_("Municipio"), "NBI 2018 (%)", "IDF 2023"],
            "rows": rows}


# ------------------------------------------------------------------ POT plans and conflicts
def pot(subj) -> dict | None:
    """The plan that stands for each municipality (published plans only: the sheet is public) and the
    conflicts found for it, by kind."""
    from territorial.pot.services import conflicts as C

    ids = list(Municipality.objects.filter(divipola__in=subj.divipolas).values_list("pk", flat=True))
    plans = C.reference_plans(None, ids)
    if not plans:
        return None
    plan_rows, conflict_rows, demo = [], [], False
    for plan in sorted(plans.values(), key=lambda p: p.municipality.name):
        ref = C.plan_ref(plan)
        demo = demo or plan.is_demo
        plan_rows.append([plan.municipality.name, plan.name + (" (DEMO)" if plan.is_demo else ""),
                          ref["status_label"], str(plan.version)])
        report = C.analyse_conflicts(None, plan_id=plan.pk, with_geometry=False)
        for s in report.summary():
            conflict_rows.append([plan.municipality.name, s["label"], numbers.number(s["count"]),
                                  numbers.area_label(s["area_m2"]), numbers.number(s["incompatible"])])
    tables = [{"caption": _("Plan POT vigente o de referencia"),
               "columns": [_("Municipio"), _("Plan"), _("Estado"), _("Versión")], "rows": plan_rows}]
    if conflict_rows:
        tables.append({"caption": _("Conflictos encontrados (por tipo)"),
                       "columns": [_("Municipio"), _("Tipo"), _("Hallazgos"), _("Área"), _("Incompatibles")],
                       "rows": conflict_rows})
    notes = [] if conflict_rows else [_("Sin conflictos encontrados en los planes publicados.")]
    if demo:
        notes.append(_("DEMO: incluye planes de demostración generados a partir de datos reales; no son POT adoptados."))
    return {"tables": tables, "notes": notes, "demo": demo}


def pot_signature(subj) -> str:
    from territorial.pot.models import Determinant, Plan

    plans = Plan.objects.filter(municipality__divipola__in=subj.divipolas).aggregate(m=Max("updated_at"))
    dets = Determinant.objects.aggregate(m=Max("loaded_at"))
    return f"{plans['m']}|{dets['m']}|{Plan.objects.count()}"


# ------------------------------------------------------------------ environmental determinants
def determinants(subj) -> dict | None:
    """Area (polygons) or length (ronda lines) of each determinant inside the place, measured in EPSG:9377."""
    from territorial.pot.models import Determinant, DeterminantPiece

    sql = f"""
        WITH a AS (SELECT ST_Transform(ST_Union(geom), 9377) AS g FROM {Municipality._meta.db_table}
                   WHERE divipola = ANY(%s))
        SELECT d.id, ST_Dimension(p.geom_m) AS dim,
               SUM(CASE WHEN ST_Dimension(p.geom_m) = 2 THEN ST_Area(ST_Intersection(p.geom_m, a.g))
                        ELSE ST_Length(ST_Intersection(p.geom_m, a.g)) END), MAX(ST_Area(a.g))
        FROM {DeterminantPiece._meta.db_table} p JOIN {Determinant._meta.db_table} d ON d.id = p.determinant_id, a
        WHERE p.geom_m && a.g AND ST_Intersects(p.geom_m, a.g)
        GROUP BY d.id, dim ORDER BY d.id, dim"""
    with connection.cursor() as cur:
        cur.execute(sql, [list(subj.divipolas)])
        found = cur.fetchall()
    dets = {d.pk: d for d in Determinant.objects.all()}
    if not dets:
        return None
    rows = []
    for det_id, dim, measure, place_m2 in found:
        d = dets[det_id]
        if dim == 2:
            rows.append([d.name, numbers.area_label(measure), numbers.pct_label(100 * measure / place_m2, 2)])
        else:
            rows.append([d.name + " — " + _("cauces"), numbers.length_label(measure), "—"])
    notes = [_("Medido en EPSG:9377 sobre los determinantes cargados: %(names)s.")
             % {"names": ", ".join(d.name for d in dets.values())}]
    notes += [f"{d.name}: {d.caveat}" for d in dets.values() if d.caveat]
    if not rows:
        notes.insert(0, _("Ningún determinante cargado toca este territorio."))
    return {"tables": [{"caption": _("Determinantes ambientales en el territorio"),
                        "columns": [_("Determinante"), _("Área o longitud"), _("Parte del territorio")],
                        "rows": rows}] if rows else [], "notes": notes}


# ------------------------------------------------------------------ ecological corridors
def corridors(subj) -> dict | None:
    """Corridors and least-cost paths of the latest finished corridor run that cross the place."""
    import geopandas as gpd
    import shapely

    from layers.corridors.models import CorridorRun
    from layers.corridors.runs import read_results

    run = CorridorRun.objects.filter(status=CorridorRun.Status.DONE).order_by("-finished_at", "-pk").first()
    if run is None:
        return None
    try:
        mapdata, _overlay = read_results(run)
    except Exception:  # results removed from disk: say so instead of failing the sheet
        return {"paragraphs": [_("La corrida %(id)s no tiene resultados en disco.") % {"id": run.pk}]}
    geoms = Municipality.objects.filter(divipola__in=subj.divipolas).values_list("geom", flat=True)
    place = gpd.GeoSeries([shapely.union_all([shapely.from_wkb(bytes(g.wkb)) for g in geoms])], crs=4326).to_crs(9377)
    rows = []
    for layer, measure in (("corridors", "area"), ("paths", "length")):
        fc = mapdata.get(layer) or {}
        if not fc.get("features"):
            continue
        gdf = gpd.GeoDataFrame.from_features(fc["features"], crs=4326).to_crs(9377)
        inside = gdf.intersection(place.iloc[0])
        for (_i, row), part in zip(gdf.iterrows(), inside):
            if part.is_empty:
                continue
            label = f"{row.get('Core1_Name') or row.get('Core1')} – {row.get('Core2_Name') or row.get('Core2')}"
            value = numbers.area_label(part.area) if measure == "area" else numbers.length_label(part.length)
            rows.append([_("Corredor") if layer == "corridors" else _("Ruta de menor costo"),
                         str(row.get("Link_ID", "")), label, value])
    when = run.finished_at.date().isoformat() if run.finished_at else ""
    notes = [_("Corrida de corredores %(id)s (%(date)s), la más reciente terminada.") % {"id": run.pk, "date": when}]
    if not rows:
        return {"paragraphs": [_("Ningún corredor ni ruta de la corrida cruza este territorio.")], "notes": notes}
    return {"tables": [{"caption": _("Corredores ecológicos que cruzan el territorio"),
                        "columns": [_("Elemento"), _("Enlace"), _("Entre núcleos"), _("Área o longitud dentro")],
                        "rows": rows}], "notes": notes}


def corridors_signature(subj) -> str:
    from layers.corridors.models import CorridorRun

    last = CorridorRun.objects.filter(status=CorridorRun.Status.DONE).order_by("-finished_at", "-pk").first()
    return f"{last.pk if last else 0}"


def register() -> None:
    from django.utils.translation import gettext_lazy

    from territorial import factsheets as F

    F.register_section("identidad", 10, gettext_lazy("Identificación y población"), identity)
    F.register_section("indicadores", 20, gettext_lazy("Pobreza y desempeño fiscal"), indicators)
    F.register_section("pot", 40, gettext_lazy("Plan de ordenamiento (POT) y conflictos"), pot, signature=pot_signature)
    F.register_section("determinantes", 50, gettext_lazy("Determinantes ambientales"), determinants, signature=pot_signature)
    F.register_section("corredores", 60, gettext_lazy("Corredores ecológicos"), corridors, signature=corridors_signature)
