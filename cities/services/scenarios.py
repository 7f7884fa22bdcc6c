"""Population scenarios (the plan's prospective method): trend growth fitted per municipality from the
2012–2024 series, plus user-set adjustments per subregion or municipality, projected to a horizon year."""
from __future__ import annotations

import numpy as np

from geosig.errors import InvalidParameter


def fit_growth(years, series) -> np.ndarray:
    """Exponential growth rate per municipality: OLS slope of ln P on year, for all columns at once.

    ``series`` is (years × municipalities). Returns r (1/year) so that P(t) ≈ P0·e^{r t}.
    """
    y = np.asarray(years, dtype=float)
    p = np.asarray(series, dtype=float)
    if p.ndim != 2 or p.shape[0] != y.size or y.size < 2:
        raise InvalidParameter("La serie de población necesita al menos 2 años para ajustar la tendencia.")
    if not np.isfinite(p).all() or (p <= 0).any():
        raise InvalidParameter("La serie de población tiene valores vacíos, nulos o negativos.")
    xm = y - y.mean()
    lp = np.log(p)
    return (xm @ (lp - lp.mean(axis=0))) / (xm @ xm)


def project(base_pop, rates, base_year: int, horizon_year: int, adjustment_pp=None) -> np.ndarray:
    """P_h = P_base · exp((r + Δ/100)·(h − base)), Δ the adjustment in percentage points per year."""
    if horizon_year < base_year:
        raise InvalidParameter(f"El año horizonte ({horizon_year}) es anterior al año base ({base_year}).")
    r = np.asarray(rates, dtype=float)
    if adjustment_pp is not None:
        r = r + np.asarray(adjustment_pp, dtype=float) / 100.0
    return np.asarray(base_pop, dtype=float) * np.exp(r * (horizon_year - base_year))


def adjustment_vector(codes, subregion_of, adjustments: list[tuple[str, str, float]]) -> np.ndarray:
    """Per-municipality Δ (pp/year) from (target_type, target_code, pp) rows; a municipality's own row
    replaces its subregion's. Unknown targets are an error, not silently ignored."""
    codes = list(codes)
    known_sub = set(subregion_of.values())
    by_sub, by_mun = {}, {}
    for kind, code, pp in adjustments:
        if kind == "subregion":
            if code not in known_sub:
                raise InvalidParameter(f"Subregión desconocida en el escenario: {code!r}; válidas: {', '.join(sorted(known_sub))}.")
            by_sub[code] = pp
        elif kind == "municipality":
            if code not in subregion_of:
                raise InvalidParameter(f"Municipio desconocido en el escenario: {code!r}.")
            by_mun[code] = pp
        else:
            raise InvalidParameter(f"Ámbito de ajuste desconocido {kind!r}; válidos: subregion, municipality.")
    return np.array([by_mun.get(c, by_sub.get(subregion_of[c], 0.0)) for c in codes], dtype=float)
