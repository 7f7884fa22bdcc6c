from django import template
from django.utils import formats

register = template.Library()


def _num(value, digits):
    return formats.number_format(value, digits, use_l10n=True, force_grouping=True)


@register.filter
def cell(row, key):
    """A table cell formatted for people (see ``fmt``)."""
    return fmt(row.get(key) if isinstance(row, dict) else getattr(row, key, None))


@register.filter
def fmt(value, digits=None):
    """Grouped thousands, at most 4 significant decimals, '—' for missing values."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, int):
        return _num(value, 0)
    if isinstance(value, float):
        if digits is not None:
            return _num(value, int(digits))
        if abs(value) >= 1000:
            return _num(value, 0)
        text = _num(value, 4 if abs(value) < 10 else 2)
        dec = formats.get_format("DECIMAL_SEPARATOR")
        return text.rstrip("0").rstrip(dec) if dec in text else text
    return value
