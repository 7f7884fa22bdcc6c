"""The city-system balance: every indicator of the issue computed from one ``SystemData`` (plain arrays,
no database), assembled into a ``BalanceReport`` used by the page, the API, the command and the files.

``balance_report`` (in ``cities.services.report``) reads the database into a ``SystemData`` and calls
``compute_balance``; the benchmark calls ``compute_balance`` on synthetic systems directly.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from cities.services import concentration as C
from cities.services import hierarchy as H
from cities.services import network as N
from django.conf import settings
from django.utils.translation import gettext as _

from geosig import params
from geosig.errors import InvalidParameter
from geosig.numbers import number


@dataclass(frozen=True)
class BalanceParams:
    """Thresholds and model parameters of the balance. Every one is a documented, user-settable choice."""

    #: A "ciudad intermedia" has at least this population (hab) on the chosen basis (a convention, editable)…
    intermediate_min: float = 50_000
    #: …and less than this; from here up a city is a "metrópoli" (Cali's cabecera has ~2.2 M).
    metropolis_min: float = 500_000
    #: Rank-size fit only over cities with at least this population (hab); 0 = all.
    rank_size_min: float = 0.0
    #: k of the primacy index S1 / Σ S2..Sk.
    primacy_k: int = 10
    #: Gravity exponent β of P_i·P_j / t_ij^β.
    gravity_beta: float = 2.0
    #: Decay λ (1/h) of Hansen accessibility Σ_j P_j·exp(−λ t_ij).
    hansen_decay: float = 1.0
    #: Floor (h) for off-diagonal travel times: the source rounds neighbouring towns to 0.0 h.
    min_travel_h: float = 0.1
    #: Each municipality is linked to this many nearest ones (by time) in the city graph.
    graph_neighbours: int = 3
    #: Betweenness by networkx up to this many nodes; above, the same exact algorithm compiled (numba).
    networkx_max_nodes: int = 400
    #: Permutations of the Theil between-subregion test, and the seed (reproducible p-values).
    permutations: int = 99
    seed: int = 12345
    #: Local leg of a centro poblado to its cabecera: straight-line km × detour ÷ speed (assumption).
    local_speed_kmh: float = 30.0
    local_detour: float = 1.3
    #: A centro poblado "has access" if it reaches an intermediate (or larger) city within this time (h).
    access_threshold_h: float = 1.0
    #: Tolerance (relative) for an asymmetric travel matrix.
    symmetry_tolerance: float = 0.05
    #: Functional classes: minimum share of the top centrality index (0–1) for each class.
    functional_regional_min: float = 0.5
    functional_subregional_min: float = 0.15
    functional_local_min: float = 0.03

    @classmethod
    def from_mapping(cls, data, user=None) -> "BalanceParams":
        """Parameters from a query string / dict (other keys are ignored: the query also carries year, basis…);
        each one typed and range-checked by ``geosig.params`` with the limits of ``LIMITS``. With the
        requesting ``user``, an anonymous one gets the lower permutations cap."""
        kwargs = {name: _parse_field(name, data.get(name)) for name in cls.__dataclass_fields__
                  if data.get(name) not in (None, "")}
        p = cls(**kwargs)
        p.validate()
        cap = max_permutations(user)
        if p.permutations > cap:
            raise InvalidParameter(f"Sin ingresar, permutations admite hasta {cap} (recibido {p.permutations}); "
                                   f"con un usuario, hasta {max_permutations()}.")
        return p

    def validate(self) -> None:
        """The same limits for a programmatic BalanceParams, plus the one relation between two fields."""
        for name in self.__dataclass_fields__:
            _parse_field(name, getattr(self, name))
        if not self.intermediate_min < self.metropolis_min:
            raise InvalidParameter("Se requiere 0 < intermediate_min < metropolis_min.")


def _parse_field(name: str, raw):
    """One field through ``geosig.params``: NaN/inf refused (NaN passes every comparison and inf overflows the
    gravity/Hansen arrays into non-JSON floats), ints whole, every value inside ``LIMITS``."""
    minimum, maximum, exclusive = LIMITS[name]
    if name == "permutations":
        maximum = max_permutations()
    if BalanceParams.__dataclass_fields__[name].type in ("int", int):
        return params.integer(raw, name, minimum=minimum, maximum=maximum, required=True)
    return params.number(raw, name, minimum=minimum, maximum=maximum, exclusive_minimum=exclusive, required=True)


# name → (minimum, maximum, minimum excluded). Why these bounds:
# * permutations: the test allocates permutations × n (34 GB at 10⁸ for 42 cities): capped by a setting;
# * gravity_beta ≤ 10 and min_travel_h ≥ 0.01 h keep P_i·P_j/t^β far from float overflow (literature β 0.5–3);
# * local_detour ≥ 1: a route is never shorter than the straight line; functional_* are fractions (0–1);
# * the integer caps keep graphs and arrays to sizes a 42-city system can use.
LIMITS = {
    "intermediate_min": (0.0, None, True), "metropolis_min": (0.0, None, True), "rank_size_min": (0.0, None, False),
    "primacy_k": (2, 1000, False), "gravity_beta": (0.0, 10.0, True), "hansen_decay": (0.0, None, True),
    "min_travel_h": (0.01, None, False), "graph_neighbours": (1, 1000, False),
    "networkx_max_nodes": (0, 100_000, False), "permutations": (0, None, False), "seed": (0, 2**32 - 1, False),
    "local_speed_kmh": (0.0, None, True), "local_detour": (1.0, None, False),
    "access_threshold_h": (0.0, None, True), "symmetry_tolerance": (0.0, None, False),
    "functional_regional_min": (0.0, 1.0, False), "functional_subregional_min": (0.0, 1.0, False),
    "functional_local_min": (0.0, 1.0, False),
}


def max_permutations(user=None) -> int:
    """Upper bound of ``permutations``: ``CITIES_MAX_PERMUTATIONS`` (default 9999), or
    ``CITIES_MAX_PERMUTATIONS_ANON`` (default 999) for an anonymous web user (the test costs ~1 ms per
    100 permutations and anyone can ask; commands and logged-in users get the full cap)."""
    full = int(getattr(settings, "CITIES_MAX_PERMUTATIONS", 9999))
    if user is not None and not user.is_authenticated:
        return min(full, int(getattr(settings, "CITIES_MAX_PERMUTATIONS_ANON", 999)))
    return full


PARAM_DOCS = {
    "intermediate_min": "Población mínima de una ciudad intermedia (hab)",
    "metropolis_min": "Población desde la cual una ciudad es metrópoli (hab)",
    "rank_size_min": "Tamaño mínimo para el ajuste rango-tamaño (hab)",
    "primacy_k": "k del índice de primacía S1/Σ S2..Sk",
    "gravity_beta": "Exponente β del modelo gravitacional",
    "hansen_decay": "Decaimiento λ de la accesibilidad de Hansen (1/h)",
    "min_travel_h": "Tiempo mínimo entre municipios distintos (h)",
    "graph_neighbours": "Vecinos más cercanos enlazados en la red de ciudades",
    "networkx_max_nodes": "Nodos hasta los que la intermediación se calcula con networkx (encima: numba, mismo resultado)",
    "permutations": "Permutaciones de la prueba de Theil entre subregiones",
    "seed": "Semilla de las permutaciones",
    "local_speed_kmh": "Velocidad del tramo local centro poblado–cabecera (km/h)",
    "local_detour": "Factor de desvío del tramo local",
    "access_threshold_h": "Umbral de acceso a una ciudad intermedia (h)",
    "symmetry_tolerance": "Tolerancia de asimetría de la matriz (relativa)",
    "functional_regional_min": "Índice funcional mínimo (fracción del máximo) de un centro regional",
    "functional_subregional_min": "Índice funcional mínimo de un centro subregional",
    "functional_local_min": "Índice funcional mínimo de un centro local",
}

SIZE_CLASSES = ("Metrópoli", "Ciudad intermedia", "Centro local")
FUNCTIONAL_CLASSES = ("Centro regional", "Centro subregional", "Centro local", "Centro básico")


@dataclass
class SystemData:
    """Everything the balance needs, as arrays (n municipalities, m centros poblados)."""

    codes: np.ndarray
    names: list
    subregion: np.ndarray  # subregion code per municipality
    subregion_names: dict
    area_km2: np.ndarray
    population: np.ndarray
    travel_h: np.ndarray
    lon: np.ndarray | None = None
    lat: np.ndarray | None = None
    centre_municipality: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    centre_km: np.ndarray = field(default_factory=lambda: np.zeros(0))
    function_counts: np.ndarray | None = None  # (n, f)
    function_names: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)


@dataclass
class Measure:
    key: str
    label: str
    value: float | None
    unit: str
    note: str = ""


@dataclass
class Table:
    key: str
    title: str
    columns: list  # (key, label, unit)
    rows: list  # dicts

    def as_dict(self) -> dict:
        return {"key": self.key, "title": self.title,
                "columns": [{"key": k, "label": lab, "unit": u} for k, lab, u in self.columns], "rows": self.rows}


@dataclass
class BalanceReport:
    meta: dict
    measures: list
    rank_size: dict
    lorenz: dict
    theil: dict
    tables: list
    links: list
    places: list = field(default_factory=list)  # centros poblados for the map (no population)
    comparison: Table | None = None
    trend: Table | None = None  # size-distribution indices for every year of the series

    def measure(self, key):
        return next(m for m in self.measures if m.key == key)

    def table(self, key):
        return next((t for t in self.tables if t.key == key), None)

    def all_tables(self) -> list:
        extra = [t for t in (self.comparison, self.trend) if t]
        meas = Table("indicadores", _("Indicadores del sistema de ciudades"),
                     [("key", _("Código"), ""), ("label", _("Indicador"), ""), ("value", _("Valor"), ""), ("unit", _("Unidad"), ""),
                      ("note", _("Nota"), "")], [asdict(m) for m in self.measures])
        return [meas, *self.tables, *extra]

    def as_dict(self) -> dict:
        return {
            "meta": self.meta,
            "measures": [asdict(m) for m in self.measures],
            "rank_size": self.rank_size,
            "lorenz": self.lorenz,
            "theil": self.theil,
            "tables": {t.key: t.as_dict() for t in self.tables},
            "comparison": self.comparison.as_dict() if self.comparison else None,
            "trend": self.trend.as_dict() if self.trend else None,
            "links": self.links,
            "places": self.places,
        }


def size_class(pop: np.ndarray, p: BalanceParams) -> np.ndarray:
    return np.where(pop >= p.metropolis_min, SIZE_CLASSES[0],
                    np.where(pop >= p.intermediate_min, SIZE_CLASSES[1], SIZE_CLASSES[2]))


def _r(x, nd=4):
    return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else round(float(x), nd)


@dataclass
class _Sizes:
    """Size-distribution results of one population vector (rank order, fits, inequality indices)."""

    order: np.ndarray
    rank: np.ndarray
    gi: object
    ols: object
    prim: dict
    lorenz: tuple
    gini: float
    td: object
    hhi: dict
    entropy: float


@dataclass
class _Access:
    """Interaction and access results: travel times, gravity, Hansen, nearest intermediate city, centrality."""

    t: np.ndarray
    grav: np.ndarray
    acc: np.ndarray
    cls: np.ndarray
    t_near: np.ndarray
    near_idx: np.ndarray
    cen: dict
    c_time: np.ndarray
    c_ok: np.ndarray


@dataclass
class _Functions:
    """Functional hierarchy from the inventory (all None without one)."""

    index: np.ndarray | None = None
    classes: list | None = None
    scal: object = None


def compute_balance(d: SystemData, p: BalanceParams = BalanceParams(), with_places: bool = False) -> BalanceReport:
    """All indicators for one population vector. Vectorised; the only Python loops are over subregions."""
    p.validate()
    pop = C.check_sizes(d.population)
    t = N.check_matrix(d.travel_h, pop.size, p.symmetry_tolerance)
    meta = dict(d.meta)
    meta["params"] = asdict(p)

    s = _size_distribution(pop, d.subregion, p)
    a = _interaction(pop, t, d, p)
    f = _functional(d, p)
    sub_table = _subregion_table(d, pop, a, p, meta)
    tables = [_municipality_table(d, pop, s, a, f, meta), sub_table, _theil_table(s.td, d.subregion_names)]
    if f.scal is not None:
        tables.append(_scalogram_table(d, f, meta))
    measures = _measures(pop, s, a, f, sub_table.rows[-1], p, meta)
    meta["centrality_engine"] = a.cen["engine"]
    places = _places(d, a) if with_places else []
    meta.pop("centres", None)

    names = list(d.names)
    lx, ly = s.lorenz
    return BalanceReport(
        meta=meta,
        measures=measures,
        rank_size={"gabaix_ibragimov": s.gi.as_dict(), "ols": s.ols.as_dict(),
                   "points": [{"rank": int(s.rank[i]), "size": float(pop[i]), "code": str(d.codes[i]), "name": names[i]}
                              for i in s.order if pop[i] >= p.rank_size_min]},
        lorenz={"x": [_r(v, 5) for v in lx], "y": [_r(v, 5) for v in ly], "gini": _r(s.gini)},
        theil={"total": _r(s.td.total), "between": _r(s.td.between), "within": _r(s.td.within),
               "p_value": _r(s.td.p_value), "permutations": s.td.permutations, "between_share": _r(s.td.between_share)},
        tables=tables,
        links=_links(d, a),
        places=places,
    )


def _size_distribution(pop: np.ndarray, subregion: np.ndarray, p: BalanceParams) -> _Sizes:
    """Rank-size fits, primacy, ranks, Lorenz curve, Gini, Theil decomposition, HHI and entropy."""
    n = pop.size
    order = np.argsort(-pop, kind="stable")
    rank = np.empty(n, int)
    rank[order] = np.arange(1, n + 1)
    return _Sizes(
        order=order, rank=rank,
        gi=C.rank_size(pop, p.rank_size_min, "gabaix_ibragimov"), ols=C.rank_size(pop, p.rank_size_min, "ols"),
        prim=C.primacy(pop, p.primacy_k), lorenz=C.lorenz(pop), gini=C.gini(pop),
        td=C.theil_decomposition(pop, subregion, p.permutations, p.seed), hhi=C.hhi(pop),
        entropy=C.normalised_entropy(pop),
    )


def _interaction(pop: np.ndarray, t: np.ndarray, d: SystemData, p: BalanceParams) -> _Access:
    """Gravity, Hansen accessibility, size classes, time to the nearest intermediate city, network centrality
    and the centros poblados' time to an intermediate city."""
    cls = size_class(pop, p)
    target = pop >= p.intermediate_min  # intermediate city or larger
    t_near, near_idx = N.nearest_in_class(t, target)
    graph = N.city_graph(t, p.graph_neighbours, p.min_travel_h)
    if d.centre_municipality.size:
        c_time = N.centre_access(t, d.centre_municipality, d.centre_km, target, p.local_speed_kmh, p.local_detour)
        c_ok = c_time <= p.access_threshold_h
    else:
        c_time = np.zeros(0)
        c_ok = np.zeros(0, bool)
    return _Access(t=t, grav=N.gravity(pop, t, p.gravity_beta, p.min_travel_h), acc=N.hansen(pop, t, p.hansen_decay),
                   cls=cls, t_near=t_near, near_idx=near_idx, cen=N.centrality(graph, p.networkx_max_nodes),
                   c_time=c_time, c_ok=c_ok)


def _functional(d: SystemData, p: BalanceParams) -> _Functions:
    """Functional centrality index, classes and Guttman scalogram (only with an imported inventory)."""
    if d.function_counts is None or not d.function_counts.size or not d.function_counts.sum() > 0:
        return _Functions()
    f_index, _weights = H.centrality_index(d.function_counts)
    top = f_index.max()
    rel = f_index / top if top > 0 else f_index
    f_class = H.classify(rel, {FUNCTIONAL_CLASSES[0]: p.functional_regional_min,
                               FUNCTIONAL_CLASSES[1]: p.functional_subregional_min,
                               FUNCTIONAL_CLASSES[2]: p.functional_local_min}, list(FUNCTIONAL_CLASSES))
    return _Functions(index=f_index, classes=f_class, scal=H.scalogram(d.function_counts))


def _is_demo(meta: dict) -> bool:
    """Whether the functions inventory is demonstration data."""
    return bool((meta.get("functions") or {}).get("demo"))


def _municipality_table(d: SystemData, pop, s: _Sizes, a: _Access, f: _Functions, meta: dict) -> Table:
    """One row per municipality, by rank: size, class, access, centrality (and functional hierarchy)."""
    names = list(d.names)
    rows = []
    for i in s.order:  # by rank
        row = {
            "rank": int(s.rank[i]), "code": str(d.codes[i]), "name": names[i],
            "subregion": d.subregion_names.get(d.subregion[i], str(d.subregion[i])),
            "population": float(pop[i]), "share_pct": _r(100 * pop[i] / pop.sum(), 3),
            "size_class": str(a.cls[i]),
            "nearest_intermediate": names[a.near_idx[i]] if a.near_idx[i] >= 0 else None,
            "time_to_intermediate_h": _r(a.t_near[i], 2),
            "hansen": _r(a.acc[i], 0), "betweenness": _r(a.cen["betweenness"][i]),
            "closeness": _r(a.cen["closeness"][i]),
        }
        if f.index is not None:
            row["functional_index"] = _r(f.index[i], 2)
            row["functional_class"] = f.classes[i]
        rows.append(row)
    pu = meta.get("population_unit", "hab")
    cols = [("rank", _("Rango"), ""), ("code", _("DIVIPOLA"), ""), ("name", _("Municipio"), ""),
            ("subregion", _("Subregión"), ""), ("population", "Población", pu), ("share_pct", _("Participación"), "%"),
            ("size_class", _("Clase de tamaño"), ""), ("nearest_intermediate", _("Ciudad intermedia más cercana"), ""),
            ("time_to_intermediate_h", _("Tiempo a ciudad intermedia"), "h"),
            ("hansen", _("Accesibilidad de Hansen"), "hab"), ("betweenness", _("Intermediación"), "0–1"),
            ("closeness", _("Cercanía"), "1/h")]
    if f.index is not None:
        tag = " (DEMO)" if _is_demo(meta) else ""
        cols += [("functional_index", _("Índice de centralidad funcional") + tag, "puntos"),
                 ("functional_class", _("Jerarquía funcional") + tag, "")]
    return Table("municipios", _("Ciudades (cabeceras municipales) por rango"), cols, rows)


def _area_summary(pop, area, a: _Access, mask, cmask, label, code) -> dict:
    """Balance of one group of municipalities (``mask``) and its centros poblados (``cmask``)."""
    pm = pop[mask]
    w = pm / pm.sum()
    outside = mask & (a.cls == SIZE_CLASSES[2])  # not themselves an intermediate city or larger
    return {
        "code": code, "name": label, "municipalities": int(mask.sum()),
        "population": float(pm.sum()), "population_share_pct": _r(100 * pm.sum() / pop.sum(), 2),
        "area_km2": _r(area[mask].sum(), 1), "area_share_pct": _r(100 * area[mask].sum() / area.sum(), 2),
        "balance_ratio": _r((pm.sum() / pop.sum()) / (area[mask].sum() / area.sum()), 3),
        "intermediate_cities": int((a.cls[mask] == SIZE_CLASSES[1]).sum()),
        "metropolises": int((a.cls[mask] == SIZE_CLASSES[0]).sum()),
        "weighted_time_to_intermediate_h": _weighted_time(pop, a.t_near, outside),
        "weighted_time_to_intermediate_all_h": _weighted_time(pop, a.t_near, mask),
        "municipalities_without_intermediate": int(outside.sum()),
        "weighted_hansen": _r((w * a.acc[mask]).sum(), 0),
        "centres": int(cmask.sum()),
        "centres_with_access_pct": _r(100 * a.c_ok[cmask].mean(), 1) if cmask.any() else None,
        "gini": _r(C.gini(pm), 4) if pm.size > 1 else None,
    }


def _weighted_time(pop, t_near, mask) -> float | None:
    """Population-weighted mean time to the nearest intermediate (or larger) city over ``mask``; None when
    no municipality of the mask reaches one. An intermediate city's own time is 0 h: counted over every
    municipality, Cali's weight alone pulls the mean to minutes, so the report shows it over the
    municipalities that are not one themselves (``outside``) and gives the all-municipality figure beside it."""
    keep = mask & np.isfinite(t_near)
    if not keep.any() or not pop[keep].sum() > 0:
        return None
    return _r((pop[keep] * t_near[keep]).sum() / pop[keep].sum(), 3)


def _subregion_table(d: SystemData, pop, a: _Access, p: BalanceParams, meta: dict) -> Table:
    """One row per subregion plus the department total (last row)."""
    area = np.asarray(d.area_km2, float)
    cm = d.centre_municipality
    m_cent = cm.size
    rows = []
    for sc in dict.fromkeys(d.subregion.tolist()):
        mask = d.subregion == sc
        cmask = mask[cm] if m_cent else np.zeros(0, bool)
        rows.append(_area_summary(pop, area, a, mask, cmask, d.subregion_names.get(sc, sc), sc))
    rows.append(_area_summary(pop, area, a, np.ones(pop.size, bool), np.ones(m_cent, bool),
                              meta.get("system_name", "Departamento"), "total"))
    pu = meta.get("population_unit", "hab")
    cols = [("name", _("Subregión"), ""), ("municipalities", _("Municipios"), ""), ("population", "Población", pu),
            ("population_share_pct", _("Participación en la población"), "%"), ("area_km2", _("Área"), "km²"),
            ("area_share_pct", _("Participación en el área"), "%"),
            ("balance_ratio", _("Población/área (1 = proporcional)"), "razón"),
            ("metropolises", _("Metrópolis"), ""), ("intermediate_cities", _("Ciudades intermedias"), ""),
            ("weighted_time_to_intermediate_h", _("Tiempo ponderado a ciudad intermedia (municipios que no lo son)"), "h"),
            ("weighted_hansen", _("Accesibilidad de Hansen ponderada"), "hab"),
            ("centres", _("Centros poblados"), ""),
            ("centres_with_access_pct", _("Centros a ≤ %(h)s h de una ciudad intermedia") % {"h": f"{p.access_threshold_h:g}"}, "%"),
            ("gini", _("Gini interno"), "0–1")]
    return Table("subregiones", _("Equilibrio por subregión y departamento"), cols, rows)


def _theil_table(td, sub_names: dict) -> Table:
    """Within-subregion Theil index and its contribution, one row per subregion."""
    rows = [{"code": r["code"], "name": sub_names.get(r["code"], r["code"]), "n": r["n"],
             "population_share_pct": _r(100 * r["population_share"], 2), "theil_within": _r(r["theil_within"]),
             "within_contribution": _r(r["within_contribution"])} for r in td.groups]
    cols = [("name", _("Subregión"), ""), ("n", _("Municipios"), ""),
            ("population_share_pct", _("Participación en la población"), "%"),
            ("theil_within", _("Theil interno"), ""), ("within_contribution", _("Aporte al componente intra"), "")]
    return Table("theil", _("Descomposición de Theil por subregión"), cols, rows)


def _scalogram_table(d: SystemData, f: _Functions, meta: dict) -> Table:
    """Guttman scalogram: municipalities × urban functions (presence 0/1), in scalogram order."""
    names = list(d.names)
    scal = f.scal
    fn = [d.function_names[j] for j in scal.col_order]
    rows = []
    for r_i, i in enumerate(scal.row_order):
        row = {"code": str(d.codes[i]), "name": names[i], "functions": int(scal.presence[r_i].sum()),
               "functional_index": _r(f.index[i], 2), "functional_class": f.classes[i]}
        row.update({f"f_{k}": int(scal.presence[r_i, k]) for k in range(len(fn))})
        rows.append(row)
    cols = [("code", _("DIVIPOLA"), ""), ("name", _("Municipio"), ""), ("functions", _("Funciones presentes"), ""),
            ("functional_index", _("Índice de centralidad"), "puntos"), ("functional_class", _("Jerarquía"), "")]
    cols += [(f"f_{k}", name, "0/1") for k, name in enumerate(fn)]
    return Table("escalograma", _("Escalograma de Guttman (funciones urbanas)") + _demo_note(meta), cols, rows)


def _demo_note(meta: dict) -> str:
    """The warning appended to titles and notes built from a demonstration inventory ("" otherwise)."""
    return _(" — DEMO: datos de demostración, no reales") if _is_demo(meta) else ""


def _measures(pop, s: _Sizes, a: _Access, f: _Functions, total: dict, p: BalanceParams, meta: dict) -> list:
    """The scalar indicators of the system (``total`` is the department row of the subregion table)."""
    M = Measure
    pu = meta.get("population_unit", "hab")
    gi, ols, prim, td = s.gi, s.ols, s.prim, s.td
    measures = [
        M("n_cities", _("Ciudades (cabeceras municipales) analizadas"), pop.size, "ciudades"),
        M("population", _("Población del sistema"), float(pop.sum()), pu),
        M("zipf_gi", _("Exponente de Zipf (Gabaix–Ibragimov, rango − ½)"), _r(gi.exponent), "—",
          f"IC 95 %: {gi.ci_low:.3f}–{gi.ci_high:.3f}; EE = {gi.se:.3f}; R² = {gi.r2:.3f}; n = {gi.n}"),
        M("zipf_ols", _("Exponente de Zipf (MCO simple)"), _r(ols.exponent), "—",
          f"IC 95 %: {ols.ci_low:.3f}–{ols.ci_high:.3f}; EE MCO = {ols.se:.3f}; R² = {ols.r2:.3f}"),
        M("primacy_2", _("Primacía de dos ciudades (S1/S2)"), _r(prim["two_city"]), "razón"),
        M("primacy_4", _("Primacía de cuatro ciudades (S1/(S2+S3+S4))"), _r(prim["four_city"]), "razón"),
        M("primacy_k", _("Primacía S1/Σ S2..S%(k)s") % {"k": prim["k"]}, _r(prim["k_city"]), "razón"),
        M("primate_share", _("Participación de la ciudad principal"), _r(100 * prim["primate_share"], 2), "%"),
        M("gini", _("Coeficiente de Gini"), _r(s.gini), "0–1"),
        M("theil", _("Índice de Theil (T)"), _r(td.total), "nats"),
        M("theil_between", _("Theil entre subregiones"), _r(td.between), "nats",
          _("%(share).1f %% del total; p = %(p).3f (%(n)d permutaciones)") % {"share": 100 * td.between_share, "p": td.p_value, "n": td.permutations}),
        M("theil_within", _("Theil dentro de subregiones"), _r(td.within), "nats"),
        M("theil_p", _("Valor p del componente entre subregiones"), _r(td.p_value), "—"),
        M("hhi", _("Índice de Herfindahl–Hirschman"), _r(s.hhi["hhi"]), "0–1",
          _("normalizado: %(v).4f") % {"v": s.hhi["hhi_normalised"]}),
        M("entropy", _("Entropía normalizada"), _r(s.entropy), "0–1", _("1 = población repartida por igual")),
        M("intermediate_cities", _("Ciudades intermedias"), int((a.cls == SIZE_CLASSES[1]).sum()), "ciudades",
          f"{number(p.intermediate_min)} ≤ población < {number(p.metropolis_min)}"),
        M("weighted_time_to_intermediate",
          _("Tiempo medio ponderado a una ciudad intermedia o mayor (municipios que no lo son)"),
          total["weighted_time_to_intermediate_h"], "h", _weighted_time_note(total, meta)),
        M("centres_with_access", _("Centros poblados a ≤ %(h)s h de una ciudad intermedia") % {"h": f"{p.access_threshold_h:g}"},
          total["centres_with_access_pct"], "%",
          _("tramo local estimado (distancia en línea recta × desvío ÷ velocidad): supuesto, no dato")),
    ]
    if f.scal is not None:
        measures.append(M("guttman_cr", _("Coeficiente de reproducibilidad de Guttman"), _r(f.scal.reproducibility),
                          "0–1", _("%(n)d errores") % {"n": f.scal.errors} + _demo_note(meta)))
    return measures


def _weighted_time_note(total: dict, meta: dict) -> str:
    """Says over which municipalities the weighted time is taken, and the all-municipality figure."""
    note = _("ponderado por población sobre los %(n)d municipios que no son ciudad intermedia ni metrópolis; "
             "contando también las que lo son (0 h), %(all)s h") % {
        "n": total["municipalities_without_intermediate"], "all": number(total["weighted_time_to_intermediate_all_h"], 3)}
    return f"{note}. {meta['travel_source']}" if meta.get("travel_source") else note


def _links(d: SystemData, a: _Access) -> list:
    """Edges of the city graph for the map, with travel time, gravity and gravity relative to the largest."""
    links = [{"a": str(d.codes[u]), "b": str(d.codes[v]), "time_h": _r(a.t[u, v], 2), "gravity": float(a.grav[u, v])}
             for u, v, _w in a.cen["edges"]]
    gmax = max((lk["gravity"] for lk in links), default=1.0) or 1.0
    for lk in links:
        lk["gravity_rel"] = _r(lk["gravity"] / gmax, 4)
    return links


def _places(d: SystemData, a: _Access) -> list:
    """Centros poblados for the map with their time to an intermediate city and whether it is within reach."""
    if not d.centre_municipality.size or "centres" not in d.meta:
        return []
    return [{**c, "time_to_intermediate_h": _r(a.c_time[k], 2), "access": bool(a.c_ok[k])}
            for k, c in enumerate(d.meta["centres"])]


COMPARE_KEYS = ("population", "zipf_gi", "primacy_2", "primacy_4", "primate_share", "gini", "theil",
                "theil_between", "theil_within", "hhi", "entropy", "intermediate_cities",
                "weighted_time_to_intermediate", "centres_with_access")


def compare(a: BalanceReport, b: BalanceReport) -> Table:
    """Side-by-side indicators of two reports (e.g. 2012 vs 2024) with the change."""
    la, lb = str(a.meta.get("label_short", a.meta.get("year"))), str(b.meta.get("label_short", b.meta.get("year")))
    rows = []
    for key in COMPARE_KEYS:
        ma, mb = a.measure(key), b.measure(key)
        va, vb = ma.value, mb.value
        rows.append({"key": key, "label": ma.label, "unit": ma.unit, "a": va, "b": vb,
                     "change": _r(vb - va, 4) if va is not None and vb is not None else None})
    return Table("comparacion", _("Comparación %(a)s – %(b)s") % {"a": la, "b": lb},
                 [("label", _("Indicador"), ""), ("unit", _("Unidad"), ""), ("a", la, ""), ("b", lb, ""),
                  ("change", _("Cambio"), "")], rows)


def size_trend(years, series, groups, p: BalanceParams = BalanceParams(), extra: dict | None = None) -> Table:
    """Size-distribution indices year by year (``series`` is years × municipalities); ``extra`` adds one
    more labelled row (e.g. a scenario's horizon year)."""
    rows = []
    items = [(str(int(y)), series[i]) for i, y in enumerate(years)]
    if extra:
        items.append((extra["label"], np.asarray(extra["population"], float)))
    for label, pop in items:
        pop = C.check_sizes(pop)
        td = C.theil_decomposition(pop, groups, permutations=0)
        prim = C.primacy(pop, p.primacy_k)
        rows.append({"year": label, "population": float(pop.sum()), "gini": _r(C.gini(pop)),
                     "theil": _r(td.total), "theil_between_pct": _r(100 * td.between_share, 2),
                     "primacy_2": _r(prim["two_city"]), "primate_share_pct": _r(100 * prim["primate_share"], 2),
                     "zipf_gi": _r(C.rank_size(pop, p.rank_size_min).exponent),
                     "entropy": _r(C.normalised_entropy(pop)),
                     "intermediate_cities": int(((pop >= p.intermediate_min) & (pop < p.metropolis_min)).sum())})
    cols = [("year", _("Año"), ""), ("population", _("Población"), "hab"), ("gini", _("Gini"), "0–1"),
            ("theil", _("Theil (T)"), "nats"), ("theil_between_pct", _("Theil entre subregiones"), "%"),
            ("primacy_2", _("Primacía S1/S2"), "razón"), ("primate_share_pct", _("Participación de la ciudad principal"), "%"),
            ("zipf_gi", _("Exponente de Zipf (G–I)"), "—"), ("entropy", _("Entropía normalizada"), "0–1"),
            ("intermediate_cities", _("Ciudades intermedias"), "")]
    return Table("tendencia", _("Tendencia del sistema de ciudades (población total)"), cols, rows)
