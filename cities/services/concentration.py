"""Size distribution of a city system: rank-size, primacy and concentration indices.

Pure numpy functions over an array of city sizes (populations). Each returns plain floats / arrays; the
balance report attaches units, year, basis and source.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geosig.errors import InvalidParameter

Z_95 = 1.959963984540054  # two-sided 95 % normal quantile


def check_sizes(sizes, what: str = "poblaciones") -> np.ndarray:
    """Sizes as a float array; refuse empty, missing, zero or negative values (they break logs and shares)."""
    s = np.asarray(sizes, dtype=float)
    if s.ndim != 1 or s.size == 0:
        raise InvalidParameter(f"Selección vacía: no hay {what} para calcular.")
    if np.isnan(s).any():
        raise InvalidParameter(f"Hay {what} faltantes (vacías): {int(np.isnan(s).sum())} valores.")
    if (s <= 0).any():
        raise InvalidParameter(f"Hay {what} nulas o negativas: {int((s <= 0).sum())} valores.")
    return s


# ---------------------------------------------------------------- rank-size
@dataclass(frozen=True)
class RankSizeFit:
    """ln(rank − shift) = a − exponent · ln(size). exponent = 1 is Zipf's law."""

    method: str  # "ols" or "gabaix_ibragimov"
    exponent: float
    se: float
    ci_low: float
    ci_high: float
    intercept: float
    r2: float
    n: int
    min_size: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def rank_size(sizes, min_size: float = 0.0, method: str = "gabaix_ibragimov") -> RankSizeFit:
    """Fit the rank-size rule on cities with size ≥ ``min_size``.

    ``ols``: ln r = a − b ln S with the usual OLS standard error (known to be too small for this regression).
    ``gabaix_ibragimov``: ln(r − ½) = a − b ln S, which removes the small-sample bias of OLS; its standard
    error is b·√(2/n) (Gabaix & Ibragimov 2011, J. Bus. Econ. Stat. 29:24–39).
    """
    if method not in RANK_SIZE_METHODS:
        raise InvalidParameter(
            f"Método de rango-tamaño desconocido {method!r}; válidos: {', '.join(RANK_SIZE_METHODS)}."
        )
    s = check_sizes(sizes)
    s = np.sort(s[s >= min_size])[::-1]
    n = s.size
    if n < 3:
        raise InvalidParameter(
            f"Con un tamaño mínimo de {min_size:,.0f} quedan {n} ciudades; el ajuste rango-tamaño necesita al menos 3."
        )
    shift = RANK_SIZE_METHODS[method]
    y = np.log(np.arange(1, n + 1) - shift)
    x = np.log(s)
    xm, ym = x.mean(), y.mean()
    sxx = ((x - xm) ** 2).sum()
    if sxx == 0:
        raise InvalidParameter("Todas las ciudades tienen el mismo tamaño: la pendiente rango-tamaño no está definida.")
    slope = ((x - xm) * (y - ym)).sum() / sxx
    intercept = ym - slope * xm
    resid = y - (intercept + slope * x)
    sst = ((y - ym) ** 2).sum()
    r2 = 1.0 - (resid @ resid) / sst if sst > 0 else 1.0
    b = -slope
    if method == "gabaix_ibragimov":
        se = abs(b) * np.sqrt(2.0 / n)
    else:
        se = float(np.sqrt((resid @ resid) / (n - 2) / sxx))
    return RankSizeFit(method, float(b), float(se), float(b - Z_95 * se), float(b + Z_95 * se),
                       float(intercept), float(r2), int(n), float(min_size))


RANK_SIZE_METHODS = {"ols": 0.0, "gabaix_ibragimov": 0.5}


# ---------------------------------------------------------------- primacy
def primacy(sizes, k: int = 4) -> dict:
    """Two-city (Jefferson) S1/S2, four-city (Ginsburg) S1/(S2+S3+S4) and S1/Σ S2..Sk."""
    s = np.sort(check_sizes(sizes))[::-1]
    if s.size < 2:
        raise InvalidParameter("La primacía necesita al menos 2 ciudades.")
    if k < 2:
        raise InvalidParameter(f"k debe ser ≥ 2 (es {k}).")
    return {
        "two_city": float(s[0] / s[1]),
        "four_city": float(s[0] / s[1:4].sum()) if s.size >= 4 else None,
        "k": int(min(k, s.size)),
        "k_city": float(s[0] / s[1:k].sum()),
        "primate_share": float(s[0] / s.sum()),
    }


# ---------------------------------------------------------------- concentration
def gini(sizes) -> float:
    """Gini coefficient (mean absolute difference / 2·mean), O(n log n) via the sorted-rank formula."""
    s = np.sort(check_sizes(sizes))
    n = s.size
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * s).sum() / (n * s.sum()))


def lorenz(sizes) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve points (cumulative share of cities, cumulative share of population), from (0, 0)."""
    s = np.sort(check_sizes(sizes))
    x = np.arange(0, s.size + 1) / s.size
    y = np.concatenate([[0.0], np.cumsum(s) / s.sum()])
    return x, y


def theil(sizes) -> float:
    s = check_sizes(sizes)
    share = s / s.sum()
    return float((share * np.log(s.size * share)).sum())


@dataclass(frozen=True)
class TheilDecomposition:
    total: float
    between: float
    within: float
    p_value: float  # permutation p-value of the between-group component
    permutations: int
    groups: list  # per group: code, n, share, theil_within, contribution

    @property
    def between_share(self) -> float:
        return self.between / self.total if self.total else 0.0


def _between(shares_by_group: np.ndarray, n_by_group: np.ndarray, n: int) -> np.ndarray:
    """Between-group Theil for shares (…, g): Σ_g s_g ln(s_g · n / n_g)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = shares_by_group * np.log(shares_by_group * n / n_by_group)
    return np.nansum(np.where(shares_by_group > 0, terms, 0.0), axis=-1)


def theil_decomposition(sizes, groups, permutations: int = 99, seed: int | None = 12345) -> TheilDecomposition:
    """Theil T = between + within subregions, with a permutation test of the between part.

    The p-value is (1 + #{permuted between ≥ observed}) / (permutations + 1), the sizes being shuffled
    over the fixed group labels (same definition as PySAL ``TheilDSim``). All permutations are done at
    once with one bincount over a (permutations × n) label matrix.
    """
    s = check_sizes(sizes)
    g = np.asarray(groups)
    if g.shape != s.shape:
        raise InvalidParameter("Cada ciudad necesita un grupo (subregión).")
    labels, gi = np.unique(g, return_inverse=True)
    n, ng = s.size, labels.size
    total_pop = s.sum()
    n_g = np.bincount(gi, minlength=ng).astype(float)
    pop_g = np.bincount(gi, weights=s, minlength=ng)
    share_g = pop_g / total_pop
    T = theil(s)
    bg = float(_between(share_g, n_g, n))
    # within-group Theil of each group, weighted by its population share
    within_each = np.zeros(ng)
    for k in range(ng):
        sk = s[gi == k]
        within_each[k] = theil(sk) if sk.size > 1 else 0.0
    wg = float((share_g * within_each).sum())
    p = float("nan")
    if permutations and permutations > 0:
        rng = np.random.default_rng(seed)
        perm = permutation_indices(n, permutations, rng)
        ys = s[perm]  # (p, n): shuffled sizes over the fixed labels
        offs = (np.arange(permutations)[:, None] * ng + gi[None, :]).ravel()
        pops = np.bincount(offs, weights=ys.ravel(), minlength=permutations * ng).reshape(permutations, ng)
        sim = _between(pops / total_pop, n_g, n)
        p = float((1 + (sim >= bg - 1e-12).sum()) / (permutations + 1))
    rows = [
        {"code": str(labels[k]), "n": int(n_g[k]), "population_share": float(share_g[k]),
         "theil_within": float(within_each[k]), "within_contribution": float(share_g[k] * within_each[k])}
        for k in range(ng)
    ]
    return TheilDecomposition(T, bg, wg, p, int(permutations or 0), rows)


def permutation_indices(n: int, permutations: int, rng: np.random.Generator) -> np.ndarray:
    """(permutations × n) independent random permutations of range(n)."""
    return np.argsort(rng.random((permutations, n)), axis=1)


def hhi(sizes) -> dict:
    """Herfindahl–Hirschman index Σ s² of population shares, and its normalised form (H − 1/n)/(1 − 1/n)."""
    s = check_sizes(sizes)
    share = s / s.sum()
    h = float((share ** 2).sum())
    n = s.size
    return {"hhi": h, "hhi_normalised": float((h - 1 / n) / (1 - 1 / n)) if n > 1 else 1.0}


def normalised_entropy(sizes) -> float:
    """Shannon entropy of population shares divided by ln n: 1 = perfectly even, → 0 = all in one city."""
    s = check_sizes(sizes)
    if s.size == 1:
        return 0.0
    share = s / s.sum()
    return float(-(share * np.log(share)).sum() / np.log(s.size))
