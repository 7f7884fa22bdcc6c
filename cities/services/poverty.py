"""Poverty and city size: how the NBI (DANE, CNPV 2018) relates to the size of the municipalities.

Two results for the city-balance report, both on the census year of the NBI (2018), whatever the
report's year, so that poverty and population describe the same moment:

* a subregion table: share of the department's population vs the NBI of its municipalities
  (population-weighted mean — computed here and labelled so —, lowest and highest);
* a statistic with its uncertainty, not a claim: Spearman's ρ between population and NBI over the
  municipalities, a bootstrap 95 % interval (BCa, pairs resampled) and a permutation p-value
  (pairings permuted), all from ``scipy.stats``. ρ uses ranks, so log(population) gives the same ρ.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from scipy import stats

from cities.services.balance import Table
from geosig import numbers, versioned
from territorial.models import Indicator, IndicatorValue, Municipality
from territorial.services.queries import indicator_references

NBI_CODE = "nbi_total"
POPULATION_CODE = "poblacion_total"
YEAR = 2018
RESAMPLES = 9999
SEED = 20181  # fixed: the same data give the same interval and p-value every time


def _rho(x, y, axis=-1):
    """Spearman's ρ along ``axis`` (vectorised for scipy's resampling): Pearson's r of average ranks."""
    rx, ry = stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    return (rx * ry).sum(axis=axis) / np.sqrt((rx * rx).sum(axis=axis) * (ry * ry).sum(axis=axis))


@dataclass
class SizeAssociation:
    n: int
    rho: float
    ci_low: float
    ci_high: float
    p_value: float
    resamples: int


def size_association(population, nbi, resamples: int = RESAMPLES, seed: int = SEED) -> SizeAssociation:
    """ρ(population, NBI) with a BCa bootstrap 95 % interval and a two-sided permutation p-value."""
    x, y = np.asarray(population, float), np.asarray(nbi, float)
    if x.shape != y.shape or x.size < 3 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("se necesitan al menos 3 pares finitos de población y NBI")
    boot = stats.bootstrap((x, y), _rho, paired=True, vectorized=True, n_resamples=resamples,
                           confidence_level=0.95, method="BCa", random_state=np.random.default_rng(seed))
    perm = stats.permutation_test((x, y), _rho, permutation_type="pairings", vectorized=True,
                                  n_resamples=resamples, alternative="two-sided",
                                  random_state=np.random.default_rng(seed))
    return SizeAssociation(int(x.size), float(_rho(x, y)), float(boot.confidence_interval.low),
                           float(boot.confidence_interval.high), float(perm.pvalue), resamples)


def statement(a: SizeAssociation) -> str:
    """The plain sentence: direction only when the interval excludes zero; association, not cause."""
    if a.ci_high < 0:
        trend = _("los municipios más poblados tienden a tener menor NBI")
    elif a.ci_low > 0:
        trend = _("los municipios más poblados tienden a tener mayor NBI")
    else:
        trend = _("no se distingue una relación entre tamaño y NBI")
    return _("En los %(n)s municipios, %(trend)s: ρ de Spearman = %(rho)s (IC 95 %% bootstrap BCa: %(lo)s a %(hi)s; "
             "p de permutación = %(p)s con %(k)s permutaciones). Es una asociación entre población y NBI de 2018, "
             "no una causa: no controla otras diferencias entre municipios.") % {
        "n": a.n, "trend": trend, "rho": numbers.number(a.rho, 2), "lo": numbers.number(a.ci_low, 2),
        "hi": numbers.number(a.ci_high, 2), "p": numbers.flexible(a.p_value, 4), "k": numbers.number(a.resamples)}


def _values(code: str) -> dict[str, float]:
    return dict(IndicatorValue.objects.filter(indicator__code=code, year=YEAR)
                .values_list("municipality__divipola", "value"))


_computed: dict = {}  # territorial data version → (rows, association, source, references); one entry


def poverty_and_size() -> dict | None:
    """Subregion rows, the association and its sentence (in the active language); None when the NBI is
    not loaded. The resampling (~0.2 s) runs once per territorial data version and process, not on every
    balance request."""
    version = versioned.version("territorial")
    found = _computed.get(version)
    if found is None:
        found = _compute()
        _computed.clear()
        _computed[version] = found
    if found is None:
        return None
    return {**found, "statement": statement(found["association"])}


def _compute() -> dict | None:
    nbi, pop = _values(NBI_CODE), _values(POPULATION_CODE)
    munis = [m for m in Municipality.objects.select_related("subregion").order_by("subregion__order", "divipola")
             if m.divipola in nbi and m.divipola in pop]
    if len(munis) < 3:
        return None
    total = sum(pop[m.divipola] for m in munis)
    rows = []
    for sub in dict.fromkeys(m.subregion for m in munis):
        mine = [m for m in munis if m.subregion_id == sub.pk]
        p = np.array([pop[m.divipola] for m in mine])
        v = np.array([nbi[m.divipola] for m in mine])
        worst = mine[int(np.argmax(v))]
        rows.append({"subregion": sub.name, "code": sub.code, "municipalities": len(mine),
                     "population": float(p.sum()), "population_share": round(100 * p.sum() / total, 2),
                     "nbi_weighted": round(float((p * v).sum() / p.sum()), 2),
                     "nbi_min": round(float(v.min()), 2), "nbi_max": round(float(v.max()), 2),
                     "nbi_max_name": worst.name})
    assoc = size_association([pop[m.divipola] for m in munis], [nbi[m.divipola] for m in munis])
    ind = Indicator.objects.get(code=NBI_CODE)
    return {"year": YEAR, "rows": rows, "association": assoc, "source": ind.source,
            "references": indicator_references(ind, YEAR)}


COLUMNS = [("subregion", gettext_lazy("Subregión"), ""), ("municipalities", gettext_lazy("Municipios"), ""),
           ("population", gettext_lazy("Población 2018 (CNPV ajustado)"), "hab"),
           ("population_share", gettext_lazy("Participación en la población del Valle"), "%"),
           ("nbi_weighted", gettext_lazy("NBI ponderado por población (calculado)"), "%"),
           ("nbi_min", gettext_lazy("NBI mínimo"), "%"), ("nbi_max", gettext_lazy("NBI máximo"), "%"),
           ("nbi_max_name", gettext_lazy("Municipio con mayor NBI"), "")]


def as_table(result: dict) -> Table:
    return Table("pobreza", gettext_lazy("Pobreza (NBI 2018) y tamaño por subregión"), COLUMNS, result["rows"])


def as_meta(result: dict) -> dict:
    """The JSON-ready summary stored in the report's meta (statement, statistic, interval, p, sources)."""
    a = result["association"]
    return {"year": result["year"], "statement": result["statement"], "n": a.n, "rho": round(a.rho, 4),
            "ci95": [round(a.ci_low, 4), round(a.ci_high, 4)], "p_value": round(a.p_value, 6),
            "resamples": a.resamples, "method": "Spearman; bootstrap BCa (pares); permutación de parejas",
            "source": result["source"], "references": result["references"],
            "weighting_note": _("NBI de subregión = promedio de los NBI municipales ponderado por la población "
                                "CNPV 2018 ajustada (cálculo de GeoSIG; DANE no publica subregiones y su "
                                "denominador son las personas en hogares particulares).")}
