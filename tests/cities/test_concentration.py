"""Size-distribution indices against PySAL ``inequality`` and against closed-form answers."""
import numpy as np
import pytest
from inequality.gini import Gini
from inequality.theil import Theil, TheilD

from cities.services import concentration as C
from geosig.errors import InvalidParameter

RNG = np.random.default_rng(7)
SIZES = np.round(RNG.pareto(1.1, 60) * 10_000 + 1_000)
GROUPS = np.array(list("ABCDE") * 12)


def test_gini_matches_pysal():
    assert C.gini(SIZES) == pytest.approx(Gini(SIZES).g, rel=1e-12)


def test_gini_hand_values():
    assert C.gini([1, 1, 1, 1]) == 0.0
    # one city holds everything among n: G = (n-1)/n
    assert C.gini([1e-9, 1e-9, 1e-9, 1]) == pytest.approx(0.75, abs=1e-6)


def test_theil_matches_pysal():
    assert C.theil(SIZES) == pytest.approx(float(Theil(SIZES).T), rel=1e-12)


def test_theil_decomposition_matches_pysal_and_sums_to_total():
    td = C.theil_decomposition(SIZES, GROUPS, permutations=0)
    ref = TheilD(SIZES, GROUPS)
    assert td.total == pytest.approx(float(ref.T), rel=1e-12)
    assert td.between == pytest.approx(float(np.ravel(ref.bg)[0]), rel=1e-10)
    assert td.within == pytest.approx(float(np.ravel(ref.wg)[0]), rel=1e-10)
    assert td.between + td.within == pytest.approx(td.total, rel=1e-12)
    assert sum(g["within_contribution"] for g in td.groups) == pytest.approx(td.within, rel=1e-12)


def test_theil_permutation_pvalue_equals_count_over_the_same_permutations():
    """p-value = (1 + #{bg(perm) ≥ bg}) / (P + 1), recounted here with PySAL's TheilD on each permutation."""
    perms = 49
    td = C.theil_decomposition(SIZES, GROUPS, permutations=perms, seed=3)
    idx = C.permutation_indices(SIZES.size, perms, np.random.default_rng(3))
    observed = float(np.ravel(TheilD(SIZES, GROUPS).bg)[0])
    hits = sum(float(np.ravel(TheilD(SIZES[p], GROUPS).bg)[0]) >= observed - 1e-12 for p in idx)
    assert td.p_value == pytest.approx((1 + hits) / (perms + 1))


def test_theil_permutation_detects_segregated_groups():
    sizes = np.r_[np.full(10, 1000.0), np.full(10, 100_000.0)] * (1 + np.arange(20) / 1000)
    groups = np.array(["small"] * 10 + ["big"] * 10)
    td = C.theil_decomposition(sizes, groups, permutations=99, seed=1)
    assert td.p_value == pytest.approx(1 / 100)  # no permutation is as segregated as the data


def test_plain_ols_on_exact_zipf_gives_exponent_one():
    sizes = 1_000_000 / np.arange(1, 51)
    fit = C.rank_size(sizes, method="ols")
    assert fit.exponent == pytest.approx(1.0, abs=1e-12)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12)


def test_gabaix_ibragimov_against_its_formula():
    sizes = 1_000_000 / np.arange(1, 51)
    fit = C.rank_size(sizes, method="gabaix_ibragimov")
    # independent: numpy's polyfit of ln(rank − 1/2) on ln(size); SE = b·sqrt(2/n)
    slope, _ = np.polyfit(np.log(sizes), np.log(np.arange(1, 51) - 0.5), 1)
    assert fit.exponent == pytest.approx(-slope, rel=1e-12)
    assert fit.exponent != pytest.approx(1.0, abs=1e-3)  # by design it corrects the rank, so not exactly 1
    assert fit.se == pytest.approx(-slope * np.sqrt(2 / 50), rel=1e-12)
    assert fit.ci_low == pytest.approx(fit.exponent - 1.959963984540054 * fit.se)


def test_rank_size_cut_off_and_errors():
    sizes = 1_000_000 / np.arange(1, 51)
    assert C.rank_size(sizes, min_size=50_000, method="ols").n == 20
    with pytest.raises(InvalidParameter, match="al menos 3"):
        C.rank_size(sizes, min_size=600_000)
    with pytest.raises(InvalidParameter, match="válidos: ols, gabaix_ibragimov"):
        C.rank_size(sizes, method="mle")


def test_primacy_hand_values():
    p = C.primacy([100, 50, 30, 20, 10], k=5)
    assert p["two_city"] == 2.0
    assert p["four_city"] == pytest.approx(100 / 100)
    assert p["k_city"] == pytest.approx(100 / 110)
    assert p["primate_share"] == pytest.approx(100 / 210)


def test_hhi_and_entropy_hand_values():
    h = C.hhi([1, 1, 2])
    assert h["hhi"] == pytest.approx(0.25 ** 2 * 2 + 0.5 ** 2)
    assert C.normalised_entropy([5, 5, 5, 5]) == pytest.approx(1.0)
    s = np.array([0.5, 0.25, 0.25])
    assert C.normalised_entropy([2, 1, 1]) == pytest.approx(-(s * np.log(s)).sum() / np.log(3))


@pytest.mark.parametrize("bad, msg", [([], "vacía"), ([1, np.nan], "faltantes"), ([1, 0], "nulas o negativas"),
                                      ([5, -2], "nulas o negativas")])
def test_bad_populations_are_refused(bad, msg):
    with pytest.raises(InvalidParameter, match=msg):
        C.gini(bad)
