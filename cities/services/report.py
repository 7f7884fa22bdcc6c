"""``balance_report``: the one entry point that reads the database (populations, matrix, cities, functions,
scenario) and returns the ``BalanceReport`` used by the page, the API, the command and the report files."""
from __future__ import annotations

import re

import numpy as np
from django.db import transaction
from pyproj import Transformer
from tqdm import tqdm

from cities.models import City, CityAttribute, CityFunction, FunctionInventory, Scenario, ScenarioAdjustment, TravelMatrix
from cities.services import poverty
from cities.services import scenarios as SC
from cities.services.balance import (
    BalanceParams, BalanceReport, SystemData, compare, compute_balance, size_trend,
)
from django.utils.translation import gettext_lazy as _

from geosig import params
from geosig.errors import ConflictError, DataFileError, InvalidParameter, NotFound, PermissionDeniedError
from territorial.models import IndicatorValue, Municipality

# basis → (indicator code, label). Cabecera = urban population of the municipal seat (2018 census only).
BASES = {
    "cabecera": ("poblacion_cabecera", _("población urbana (cabecera municipal)")),
    "total": ("poblacion_total", _("población total del municipio")),
}
SERIES_INDICATOR = "poblacion_total"
SYSTEM_NAME = "Valle del Cauca"


def _check_basis(basis: str):
    if basis not in BASES:
        raise InvalidParameter(f"Base de población desconocida {basis!r}; válidas: {', '.join(BASES)}.")
    return BASES[basis]


def available_years(basis: str) -> list[int]:
    code, _ = _check_basis(basis)
    return sorted(IndicatorValue.objects.filter(indicator__code=code).values_list("year", flat=True).distinct())


def _municipalities():
    munis = list(Municipality.objects.select_related("subregion").order_by("divipola"))
    if not munis:
        raise DataFileError("No hay municipios cargados: ejecute 'python manage.py load_territory'.")
    return munis


def _population(code: str, year: int, munis) -> tuple[np.ndarray, str]:
    rows = dict(IndicatorValue.objects.filter(indicator__code=code, year=year)
                .values_list("municipality__divipola", "value"))
    pop = np.array([rows.get(m.divipola, np.nan) for m in munis], float)
    missing = [m.name for m, v in zip(munis, pop) if not np.isfinite(v)]
    if missing:
        raise InvalidParameter(f"Faltan poblaciones ({code}, {year}) para: {', '.join(missing[:10])}.")
    bad = [m.name for m, v in zip(munis, pop) if v <= 0]
    if bad:
        raise InvalidParameter(f"Poblaciones nulas o negativas ({code}, {year}) para: {', '.join(bad[:10])}.")
    src = IndicatorValue.objects.filter(indicator__code=code, year=year).values_list("source", flat=True).first()
    return pop, src or ""


def population_series(munis) -> tuple[np.ndarray, np.ndarray]:
    vals = IndicatorValue.objects.filter(indicator__code=SERIES_INDICATOR).values_list(
        "municipality__divipola", "year", "value")
    years = sorted({y for _, y, _ in vals})
    if len(years) < 2:
        raise DataFileError("La serie de población total necesita al menos 2 años (cargue load_territory).")
    col = {m.divipola: j for j, m in enumerate(munis)}
    row = {y: i for i, y in enumerate(years)}
    series = np.full((len(years), len(munis)), np.nan)
    for code, y, v in vals:
        if code in col:
            series[row[y], col[code]] = v
    return np.array(years), series


def scenario_population(scenario: Scenario, munis) -> tuple[np.ndarray, dict]:
    years, series = population_series(munis)
    rates = SC.fit_growth(years, series)
    adj = SC.adjustment_vector(
        [m.divipola for m in munis], {m.divipola: m.subregion.code for m in munis},
        list(scenario.adjustments.values_list("target_type", "target_code", "growth_pp")))
    base_year = int(years[-1])
    pop = SC.project(series[-1], rates, base_year, scenario.horizon_year, adj)
    return pop, {"base_year": base_year, "fit_years": [int(years[0]), base_year],
                 "rates_pct": dict(zip([m.divipola for m in munis], np.round(100 * rates, 4).tolist())),
                 "adjustments_pp": dict(zip([m.divipola for m in munis], adj.tolist()))}


def get_matrix(name: str | None) -> TravelMatrix:
    qs = TravelMatrix.objects.all()
    # a name means its newest version; without one, the default row (moved only by an explicit import)
    tm = qs.filter(name=name).order_by("-version").first() if name else qs.filter(is_default=True).first()
    if tm is None:
        if name:
            raise InvalidParameter(f"Matriz de viaje desconocida {name!r}; disponibles: "
                                   f"{', '.join(qs.values_list('name', flat=True)) or 'ninguna'}.")
        raise DataFileError("No hay matriz de viaje cargada: ejecute 'python manage.py load_cities'.")
    return tm


def get_scenario(name: str) -> Scenario:
    sc = Scenario.objects.filter(name=name).first()
    if sc is None:
        names = ", ".join(Scenario.objects.values_list("name", flat=True)) or "ninguno"
        raise InvalidParameter(f"Escenario desconocido {name!r}; disponibles: {names}.")
    return sc


def load_system(year: int | None, basis: str, scenario: str | None = None, matrix: str | None = None,
                inventory: str | None = None) -> SystemData:
    """Read one population vector (+ everything else) from the database into a ``SystemData``."""
    code, basis_label = _check_basis(basis)
    basis_label = str(basis_label)  # plain text in JSON/CSV outputs, in the active language
    munis = _municipalities()
    meta = {"basis": basis, "basis_label": basis_label, "system_name": SYSTEM_NAME, "population_unit": "hab",
            "scenario": None}
    if scenario:
        year, pop = _scenario_vector(scenario, year, basis, munis, meta)
    else:
        year, pop = _census_vector(year, basis, code, munis, meta)
    meta["year"] = int(year)
    meta["label_short"] = f"{year}" + (f" ({meta['scenario']['name']})" if meta["scenario"] else "")

    mcodes = [m.divipola for m in munis]
    travel = _travel_times(matrix, mcodes, meta)
    lon = np.array([m.cabecera.x for m in munis])
    lat = np.array([m.cabecera.y for m in munis])
    mindex = {c: i for i, c in enumerate(mcodes)}
    cm, ckm = _centres(year, mindex, lon, lat, meta)
    counts, fnames = _function_counts(inventory, len(munis), mindex, meta)

    return SystemData(
        codes=np.array(mcodes), names=[m.name for m in munis],
        subregion=np.array([m.subregion.code for m in munis]),
        subregion_names={m.subregion.code: m.subregion.name for m in munis},
        area_km2=np.array([m.area_km2 for m in munis]), population=pop, travel_h=travel, lon=lon, lat=lat,
        centre_municipality=cm, centre_km=ckm, function_counts=counts, function_names=fnames, meta=meta,
    )


def _scenario_vector(scenario: str, year, basis: str, munis, meta: dict) -> tuple[int, np.ndarray]:
    """The horizon year and projected total population of a scenario (its description goes into ``meta``)."""
    if basis != "total":
        raise InvalidParameter("Los escenarios proyectan la población total (serie 2012–2024): use basis=total.")
    sc = get_scenario(scenario)
    if year is not None and int(year) != sc.horizon_year:
        raise InvalidParameter(f"El escenario {sc.name!r} proyecta al año {sc.horizon_year}, no a {year}.")
    pop, info = scenario_population(sc, munis)
    meta["scenario"] = {"name": sc.name, "kind": sc.kind, "kind_label": str(sc.get_kind_display()),
                        "horizon_year": sc.horizon_year, "description": sc.description, **info}
    meta["population_source"] = (f"Escenario {sc.get_kind_display()} '{sc.name}': tendencia exponencial ajustada "
                                 f"por municipio a la serie DANE {info['fit_years'][0]}–{info['fit_years'][1]}"
                                 f" + ajustes del usuario")
    return sc.horizon_year, pop


def _census_vector(year, basis: str, code: str, munis, meta: dict) -> tuple[int, np.ndarray]:
    """The checked year (2018 or the latest by default) and its stored population on ``basis``."""
    years = available_years(basis)
    if year is None:
        year = 2018 if 2018 in years else (years[-1] if years else None)
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise InvalidParameter(f"Año no válido: {year!r}.") from None
    if year not in years:
        raise InvalidParameter(f"Año {year} no disponible para la base {basis!r}; años válidos: "
                               f"{', '.join(map(str, years)) or 'ninguno (cargue load_territory)'}.")
    pop, src = _population(code, year, munis)
    meta["population_source"] = src
    return year, pop


def _travel_times(matrix: str | None, mcodes: list, meta: dict) -> np.ndarray:
    """The travel matrix (newest version of ``matrix`` or the default) reordered to ``mcodes``."""
    tm = get_matrix(matrix)
    idx = {c: i for i, c in enumerate(tm.codes)}
    missing = [c for c in mcodes if c not in idx]
    if missing:
        raise InvalidParameter(f"La matriz {tm.name!r} no incluye los municipios {', '.join(missing[:10])}.")
    full = np.asarray(tm.values, float).reshape(len(tm.codes), len(tm.codes))
    order = np.array([idx[c] for c in mcodes])
    travel = full[np.ix_(order, order)]
    if tm.kind == TravelMatrix.KIND_DISTANCE:
        meta["travel_note"] = "matriz de distancias: los 'tiempos' del informe están en km"
    meta.update({"travel_matrix": tm.name, "travel_matrix_version": tm.version, "travel_source": tm.source,
                 "travel_unit": tm.unit})
    return travel


def _centres(year: int, mindex: dict, lon, lat, meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """Centros poblados: municipality index and straight-line km to their cabecera (measured in EPSG:9377);
    their descriptions and imported attributes go into ``meta["centres"]``."""
    cities = list(City.objects.filter(is_cabecera=False).select_related("municipality").order_by("code"))
    cm = np.array([mindex[c.municipality.divipola] for c in cities], int)
    to9377 = Transformer.from_crs(4326, 9377, always_xy=True)
    if cities:
        cx, cy = to9377.transform(np.array([c.geom.x for c in cities]), np.array([c.geom.y for c in cities]))
        hx, hy = to9377.transform(lon[cm], lat[cm])
        ckm = np.hypot(cx - hx, cy - hy) / 1000.0
    else:
        ckm = np.zeros(0)
    # user-imported attributes (latest year ≤ the report's year), shown with the places; not used in indices
    attrs: dict = {}
    for code, a, y, v, u in (CityAttribute.objects.filter(year__lte=year).order_by("year")
                             .values_list("city__code", "attribute", "year", "value", "unit")):
        attrs.setdefault(code, {})[a] = {"value": v, "unit": u, "year": y}
    meta["centres"] = [{"code": c.code, "name": c.name, "kind": c.kind, "municipality": c.municipality.divipola,
                        "lon": c.geom.x, "lat": c.geom.y, "attributes": attrs.get(c.code, {})} for c in cities]
    meta["centres_source"] = cities[0].source if cities else ""
    meta["centres_note"] = ("Sin población por centro poblado en los datos: aparecen como lugares (mapa, acceso), "
                            "el equilibrio se calcula sobre las 42 cabeceras/municipios.")
    return cm, ckm


def _function_counts(inventory: str | None, n: int, mindex: dict, meta: dict):
    """Municipality × function counts of the inventory (newest version of ``inventory`` or the first one) and
    the sorted function names; (None, []) without an inventory."""
    counts, fnames = None, []
    inv = (FunctionInventory.objects.filter(name=inventory).order_by("-version").first() if inventory
           else FunctionInventory.objects.first())
    if inventory and inv is None:
        raise InvalidParameter(f"Inventario de funciones desconocido {inventory!r}.")
    if inv is not None:
        items = list(CityFunction.objects.filter(inventory=inv).values_list("city__municipality__divipola",
                                                                            "function", "count"))
        fnames = sorted({f for _, f, _ in items})
        fidx = {f: j for j, f in enumerate(fnames)}
        counts = np.zeros((n, len(fnames)))
        for mc, f, k in items:  # functions of all centros of a municipality count for the municipality
            counts[mindex[mc], fidx[f]] += k
        meta["functions"] = {"inventory": inv.name, "version": inv.version, "source": inv.source, "demo": inv.is_demo}
    else:
        meta["functions"] = None
    return counts, fnames


def balance_report(year: int | None = None, basis: str = "cabecera", scenario: str | None = None,
                   params: BalanceParams = BalanceParams(), matrix: str | None = None,
                   compare_year: int | None = None, inventory: str | None = None,
                   with_places: bool = False) -> BalanceReport:
    """Every indicator of the city system for one year (or scenario) and population basis.

    ``compare_year`` adds a comparison table against that year on the same basis (e.g. 2012 vs 2024).
    """
    data = load_system(year, basis, scenario, matrix, inventory)
    report = compute_balance(data, params, with_places=with_places)
    m = data.meta
    report.meta["map"] = [
        {"code": str(c), "name": n, "lon": float(x), "lat": float(y), "population": float(pv)}
        for c, n, x, y, pv in zip(data.codes, data.names, data.lon, data.lat, data.population)]
    if compare_year is not None:
        other = compute_balance(load_system(compare_year, basis, None, matrix, inventory), params)
        report.comparison = compare(other, report)
    if basis == "total":
        munis = _municipalities()
        years, series = population_series(munis)
        extra = None
        if m.get("scenario"):
            extra = {"label": f"{m['year']} ({m['scenario']['name']})", "population": data.population}
        report.trend = size_trend(years, series, np.array([mu.subregion.code for mu in munis]), params, extra)
    found = poverty.poverty_and_size()  # always the census year of the NBI (2018), whatever the report's year
    if found is not None:
        report.tables.append(poverty.as_table(found))
        report.meta["poverty"] = poverty.as_meta(found)
    report.meta["label"] = (f"{SYSTEM_NAME}, {m['year']}, {m['basis_label']}"
                            + (f", escenario {m['scenario']['name']}" if m.get("scenario") else ""))
    return report


def balance_request(query, user=None) -> dict:
    """The one parser of a city-balance request (API, page, report files): query string → the keyword
    arguments of ``balance_report``. Types, ranges and choices through ``geosig.params``; whether a named
    scenario/matrix/inventory exists is checked by ``load_system``."""
    return {
        "year": params.integer(query.get("year"), "year", minimum=1, maximum=9999),
        "basis": params.choice(query.get("basis"), "basis", BASES, default="cabecera"),
        "scenario": params.model_text(query.get("scenario"), "scenario", Scenario, "name") or None,
        "params": BalanceParams.from_mapping(query, user=user),  # user: the anonymous permutations cap
        "matrix": params.model_text(query.get("matrix"), "matrix", TravelMatrix, "name") or None,
        "compare_year": params.integer(query.get("compare"), "compare", minimum=1, maximum=9999),
        "inventory": params.model_text(query.get("inventory"), "inventory", FunctionInventory, "name") or None,
    }


def report_from_query(query, with_places: bool | None = None, user=None) -> BalanceReport:
    """``balance_report`` from a query string. ``with_places`` None → the query's ``places`` flag; ``user``
    the requesting one (web requests), whose login decides the permutations cap."""
    asked = params.boolean(query.get("places"), "places")  # checked even where the output fixes it (report files)
    if with_places is None:
        with_places = asked
    return balance_report(**balance_request(query, user=user), with_places=with_places)


# ---------------------------------------------------------------- scenarios (stored)
def save_scenario(name: str, kind: str, horizon_year: int, adjustments: list[tuple[str, str, float]],
                  description: str = "", replace: bool = False) -> Scenario:
    """Validate and store a named scenario (one transaction). Adjustments: (subregion|municipality, code, pp)."""
    kind = params.choice(kind, "kind", Scenario.KINDS, required=True)
    name = params.model_text(name, "name", Scenario, required=True)
    if not re.fullmatch(r"[-a-z0-9_]{1,60}", name):
        raise InvalidParameter("El nombre del escenario debe tener 1–60 caracteres a-z, 0-9, '-' o '_'.")
    description = params.text(description, "description", max_length=2000, multiline=True, default="")
    horizon_year = params.integer(horizon_year, "horizon_year", required=True)
    munis = _municipalities()
    years, _ = population_series(munis)
    if not int(years[-1]) <= horizon_year <= int(years[-1]) + 50:
        raise InvalidParameter(f"El año horizonte debe estar entre {int(years[-1])} y {int(years[-1]) + 50}.")
    if kind == "trend" and any(pp for _, _, pp in adjustments):
        raise InvalidParameter("Un escenario tendencial no lleva ajustes; use optimistic o pessimistic.")
    for _, _, pp in adjustments:
        params.number(pp, "growth_pp", minimum=-MAX_GROWTH_PP, maximum=MAX_GROWTH_PP, required=True)
    SC.adjustment_vector([m.divipola for m in munis], {m.divipola: m.subregion.code for m in munis}, adjustments)
    if Scenario.objects.filter(name=name).exists() and not replace:
        raise ConflictError(f"Ya existe un escenario llamado {name!r}.")
    with transaction.atomic():
        Scenario.objects.filter(name=name).delete()
        sc = Scenario.objects.create(name=name, kind=kind, horizon_year=horizon_year, description=description)
        ScenarioAdjustment.objects.bulk_create([
            ScenarioAdjustment(scenario=sc, target_type=k, target_code=c, growth_pp=float(pp))
            for k, c, pp in adjustments])
        # the projection must be computable: checked inside the transaction so a failure saves nothing
        pop, _ = scenario_population(sc, munis)
        if not np.all(np.isfinite(pop)) or (pop <= 0).any():
            raise InvalidParameter("El escenario da poblaciones no válidas.")
    return sc


IMPORT_PERMISSION = "cities.import_city_data"  # group «Analista CVC» (migration 0002); not is_staff


def can_import(user) -> bool:
    """Who may import matrices, inventories and attributes (the API's uploads and the page's form)."""
    return bool(user and user.is_authenticated and user.has_perm(IMPORT_PERMISSION))


def can_edit_scenarios(user) -> bool:
    """Who may create, edit and delete scenarios — the API and the page ask this one question: staff."""
    return bool(user and user.is_authenticated and user.is_staff)


def require_scenario_editor(user) -> None:
    if not can_edit_scenarios(user):
        raise PermissionDeniedError("Solo el personal autorizado puede crear, modificar o eliminar escenarios.")


def update_scenario(name: str, kind: str, horizon_year: int, adjustments: list[tuple[str, str, float]],
                    description: str = "") -> Scenario:
    """Replace an existing scenario's kind, horizon, adjustments and description (same checks as a new
    one; a refused edit leaves the stored scenario as it was). Unknown name → 404."""
    _existing(name)
    return save_scenario(name, kind, horizon_year, adjustments, description, replace=True)


def delete_scenario(name: str) -> None:
    """Delete a scenario and its adjustments; unknown name → 404."""
    with transaction.atomic():
        _existing(name, lock=True).delete()


def _existing(name: str, lock: bool = False) -> Scenario:
    qs = Scenario.objects.select_for_update() if lock else Scenario.objects
    sc = qs.filter(name=str(name)).first()
    if sc is None:
        raise NotFound(f"No existe el escenario {name!r}.")
    return sc


ADJUSTMENT_TARGETS = ("subregion", "municipality")
MAX_ADJUSTMENTS = 50  # 42 municipalities + 5 subregions
MAX_GROWTH_PP = 10  # pp/año: beyond ±10 a 20-year projection is no longer a scenario but an error


def parse_adjustments(value) -> list[tuple[str, str, float]]:
    """Scenario adjustments → (target_type, code, pp). Accepts a list of objects {"target_type",
    "target_code", "growth_pp"} (API), a list of texts 'sur=+0.5' / 'municipio:76001=-0.2' (command
    --adjust) or one comma-separated text. Each entry is checked by ``geosig.params``; the error names it."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [a for a in value.split(",") if a.strip()]
    if not isinstance(value, (list, tuple)):
        raise InvalidParameter("«adjustments» debe ser una lista de ajustes o un texto 'destino=pp,…'; "
                               f"recibido {type(value).__name__}.", parameter="adjustments")
    if len(value) > MAX_ADJUSTMENTS:
        raise InvalidParameter(f"«adjustments» admite como máximo {MAX_ADJUSTMENTS} ajustes.", parameter="adjustments")
    return list(dict.fromkeys(params.each(value, "adjustments", _adjustment, _adjustment_refused)))


def _adjustment_refused(n: int, item, why: str) -> str:
    """The message for the n-th adjustment refused (its text shortened to 60 characters)."""
    shown = repr(item) if len(repr(item)) <= 60 else repr(item)[:59] + "…"
    return (f"Ajuste #{n} inválido ({shown}): {why} Se espera un objeto con target_type, target_code y growth_pp "
            "numérico, o 'destino=pp'.")


def _adjustment(item) -> tuple[str, str, float]:
    def code(raw):
        return params.model_text(raw, "target_code", ScenarioAdjustment, required=True)

    if isinstance(item, dict):
        return (params.choice(item.get("target_type"), "target_type", ADJUSTMENT_TARGETS, required=True),
                code(item.get("target_code")),
                params.number(item.get("growth_pp"), "growth_pp", minimum=-MAX_GROWTH_PP, maximum=MAX_GROWTH_PP,
                              required=True))
    entry = params.text(item, "adjustments", max_length=80, required=True)
    if "=" not in entry:
        raise InvalidParameter("use subregion=pp o municipio:DIVIPOLA=pp.")
    target, raw_pp = entry.split("=", 1)
    pp = params.number(raw_pp, "growth_pp", minimum=-MAX_GROWTH_PP, maximum=MAX_GROWTH_PP, required=True)
    if target.startswith(("municipio:", "municipality:")):
        return "municipality", code(target.split(":", 1)[1]), pp
    return "subregion", code(target.removeprefix("subregion:")), pp


def batch_reports(basis: str, params: BalanceParams = BalanceParams(), all_years: bool = True,
                  all_scenarios: bool = False, matrix: str | None = None, progress: bool = False):
    """Yield (file stem, report) for every year of the basis and/or every stored scenario, with a tqdm
    progress bar on the terminal when ``progress``."""
    jobs = [(y, None) for y in available_years(basis)] if all_years else []
    if all_scenarios:
        if basis != "total":
            raise InvalidParameter("Los escenarios usan la base total: indique --basis total.")
        jobs += [(None, s) for s in Scenario.objects.values_list("name", flat=True)]
    if not jobs:
        raise InvalidParameter("Selección vacía: no hay años ni escenarios que calcular.")
    for year, sc in tqdm(jobs, desc="Informes", unit="informe", disable=not progress):
        rep = balance_report(year, basis, sc, params, matrix, with_places=True)
        yield f"sistema_ciudades_{basis}_{rep.meta['year']}" + (f"_{sc}" if sc else ""), rep
