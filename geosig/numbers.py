"""Numbers in messages built by services, in the active language's conventions (es-CO: 1.208,3; en: 1,208.3).

The browser counterpart is GeoSIG.fmt/fmtArea/fmtPct in geosig/static/geosig/shell.js: same thresholds.
Areas are given in m² (EPSG:9377 measures) and shown in the unit a reader grasps:
below 1 ha in m² (whole numbers), below 100 km² (10 000 ha) in hectares, from 100 km² in km².
"""
import functools
from decimal import Decimal

from django.utils import formats, translation

HECTARE_M2 = 10_000
KM2_M2 = 1_000_000
KM2_FROM_M2 = 100 * KM2_M2  # 100 km²: where hectares stop being a readable unit
NBSP = "\u00a0"


def number(value, digits: int = 0) -> str:
    """Grouped thousands and ``digits`` decimals in the active language (1.234,5 / 1,234.5); '—' if missing.

    Same text as ``formats.number_format(..., use_l10n=True, force_grouping=True)`` (a test compares them), but
    the separators are looked up once per language: Django resolves the format module on every call, and that
    lookup was ~45 % of a one-plan POT conflict report (thousands of labels)."""
    if value is None:
        return "—"
    value = round(float(value), digits)
    seps = _separators(translation.get_language())
    if seps is None or not abs(value) < 1e15:  # other groupings, huge values, NaN/inf: Django's own path
        return formats.number_format(value, decimal_pos=digits, use_l10n=True, force_grouping=True)
    dec, thousands = seps
    # from the shortest repr, as Django's formatter reads a float (not its full binary expansion)
    return f"{Decimal(repr(value)):,.{digits}f}".replace(",", "\0").replace(".", dec).replace("\0", thousands)


@functools.lru_cache(maxsize=32)
def _separators(language: str | None) -> tuple[str, str] | None:
    """(decimal, thousands) of ``language`` when it groups by threes (es, en); None → use Django's formatter."""
    with translation.override(language):
        if formats.get_format("NUMBER_GROUPING") != 3:
            return None
        return formats.get_format("DECIMAL_SEPARATOR"), formats.get_format("THOUSAND_SEPARATOR")


def area_label(m2, digits: int = 1) -> str:
    """12_082_998 → '1.208,3 ha'; 850 → '850 m²'; 877_399_608 → '877,4 km²'."""
    if m2 is None:
        return "—"
    a = abs(float(m2))
    if a < HECTARE_M2:
        return f"{number(m2, 0)}{NBSP}m²"
    if a < KM2_FROM_M2:
        return f"{number(float(m2) / HECTARE_M2, digits)}{NBSP}ha"
    return f"{number(float(m2) / KM2_M2, digits)}{NBSP}km²"


def pct_label(pct, digits: int = 1) -> str:
    """A percentage given in percent units: 25.6 → '25,6 %' (a no-break space, Spanish typography)."""
    if pct is None:
        return "—"
    return f"{number(pct, digits)}{NBSP}%"


def length_label(m, digits: int = 1) -> str:
    """Metres below 1 km, kilometres above: 850 → '850 m'; 12_345 → '12,3 km'."""
    if m is None:
        return "—"
    if abs(float(m)) < 1000:
        return f"{number(m, 0)}{NBSP}m"
    return f"{number(float(m) / 1000, digits)}{NBSP}km"


def flexible(value, digits: int = 3) -> str:
    """Up to ``digits`` decimals, trailing zeros dropped, never scientific notation — the readable
    replacement for ``f"{x:g}"`` in messages: 0.5 → '0,5'; 1000 → '1.000'; 124_600.25 → '124.600,25'."""
    if value is None:
        return "—"
    text = number(value, digits)
    seps = _separators(translation.get_language())
    dec = seps[0] if seps else formats.get_format("DECIMAL_SEPARATOR")
    if digits > 0 and dec in text:
        text = text.rstrip("0").rstrip(dec)
    return "0" if text in ("-0", "") else text
