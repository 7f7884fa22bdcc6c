"""Poverty (NBI 2018) and city size in the city-balance report, checked against scipy.stats and the staged
CSVs read here with the csv module (independent of the database and of the service's own code)."""
import csv

import numpy as np
import pytest
from scipy import stats

from cities.services import poverty
from cities.services.report import balance_report
from territorial.services import sources as S
from tests.conftest import RAW

pytestmark = pytest.mark.django_db


def staged():
    with open(RAW / S.NBI_FILE, newline="", encoding="utf-8") as fh:
        nbi = {r["divipola"]: float(r["total_nbi"]) for r in csv.DictReader(fh) if r["divipola"].startswith("76")}
    with open(RAW / S.FACTS_FILE, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    pop = {r["divipola"]: float(r["pop2018_adj_total"]) for r in rows}
    sub = {r["divipola"]: r["subregion_dane2005"] for r in rows}
    codes = sorted(nbi)
    return codes, np.array([pop[c] for c in codes]), np.array([nbi[c] for c in codes]), sub


def test_rho_interval_and_p_match_scipy():
    codes, pop, nbi, _ = staged()
    assert len(codes) == 42
    got = poverty.size_association(pop, nbi, resamples=999, seed=7)
    ref = stats.spearmanr(pop, nbi)
    assert got.rho == pytest.approx(ref.statistic, abs=1e-12)
    assert got.rho == pytest.approx(stats.spearmanr(np.log(pop), nbi).statistic, abs=1e-12)  # ranks: log changes nothing
    rho = lambda x, y: stats.spearmanr(x, y).statistic  # noqa: E731  the plain, unvectorised statistic
    boot = stats.bootstrap((pop, nbi), rho, paired=True, vectorized=False, n_resamples=999, method="BCa",
                           random_state=np.random.default_rng(7))
    assert (got.ci_low, got.ci_high) == pytest.approx(
        (boot.confidence_interval.low, boot.confidence_interval.high), abs=1e-9)
    perm = stats.permutation_test((pop, nbi), rho, permutation_type="pairings", vectorized=False,
                                  n_resamples=999, random_state=np.random.default_rng(7))
    assert got.p_value == pytest.approx(perm.pvalue, abs=1e-12)
    # what the sentence reports on the real data: ρ ≈ −0,57, interval below zero
    assert round(ref.statistic, 2) == -0.57 and got.ci_high < 0 and got.ci_low < got.rho < got.ci_high


def test_statement_says_the_statistic_not_a_claim():
    a = poverty.SizeAssociation(42, -0.5686, -0.79, -0.26, 0.0001, 9999)
    text = poverty.statement(a)
    assert "menor NBI" in text and "-0,57" in text and "-0,79" in text and "0,0001" in text and "no una causa" in text
    flat = poverty.statement(poverty.SizeAssociation(42, 0.1, -0.2, 0.4, 0.5, 9999))
    assert "no se distingue" in flat


def test_subregion_table_against_the_csvs(cities):
    codes, pop, nbi, sub = staged()
    found = poverty.poverty_and_size()
    rows = {r["code"]: r for r in found["rows"]}
    assert sum(r["population_share"] for r in rows.values()) == pytest.approx(100, abs=0.05)
    assert sum(r["municipalities"] for r in rows.values()) == 42
    sur = [i for i, c in enumerate(codes) if sub[c] == "SUR"]
    assert rows["sur"]["population_share"] == pytest.approx(100 * pop[sur].sum() / pop.sum(), abs=0.01)
    assert rows["sur"]["nbi_weighted"] == pytest.approx((pop[sur] * nbi[sur]).sum() / pop[sur].sum(), abs=0.01)
    assert rows["buenaventura"]["nbi_max"] == round(nbi[codes.index("76109")], 2) == 16.65
    assert found["association"].rho == pytest.approx(stats.spearmanr(pop, nbi).statistic, abs=1e-12)


def test_report_carries_table_and_statement(client, cities):
    r = balance_report(2024, "total")
    assert r.table("pobreza") is not None and len(r.table("pobreza").rows) == 5
    meta = r.meta["poverty"]
    assert meta["year"] == 2018 and meta["n"] == 42 and meta["ci95"][1] < 0 and "ρ de Spearman" in meta["statement"]
    html = client.get("/ciudades/?year=2024&basis=total").content.decode()
    assert 'id="poverty-statement"' in html and "ρ de Spearman = -0,57" in html
