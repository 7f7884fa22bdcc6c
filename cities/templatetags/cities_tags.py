import base64

from django import template
from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import mark_safe

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


@register.filter
def chart(markup, as_image=False):
    """A chart from ``cities.services.charts`` for a template. In the web page (``as_image``) an SVG goes in
    as an <img> data URI: matplotlib's SVG carries <style> and style="" that the page's
    Content-Security-Policy (no 'unsafe-inline') would refuse, and an image can never run script. The
    standalone HTML file keeps the SVG inline (no CSP there); PNG <img> markup (PDF) passes through."""
    text = str(markup or "")
    if as_image and text.lstrip().startswith("<svg"):
        data = base64.b64encode(text.encode("utf-8")).decode("ascii")
        return format_html('<img class="chart" alt="" src="data:image/svg+xml;base64,{}">', data)
    return mark_safe(text)  # markup made by charts.py (matplotlib escapes the names it draws)
