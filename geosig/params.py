"""One way to read request parameters, for every view, API endpoint, command and job.

Each function takes the raw value as it arrives (a query-string ``str``, a JSON value of any type, or
``None`` when absent), the parameter's public ``name`` (used in the message) and its limits, and either
returns a clean Python value or raises ``InvalidParameter`` (HTTP 400) with a Spanish message that names
the parameter, says what was received and what is valid. Nothing here touches the database.

Why one module: the same word must mean the same thing everywhere ("sí" is true in every app), every
list a request names is de-duplicated and capped (a list repeated 20,000 times is refused, not looped
over), and every number is finite and bounded before it reaches a computation or a cache key.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Iterable, Sequence

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from geosig.errors import InvalidParameter

TRUE_WORDS = frozenset({"1", "true", "t", "si", "sí", "s", "yes", "y", "on", "verdadero"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off", "falso"})
DEFAULT_MAX_ITEMS = 50  # overridden by the setting GEOSIG_MAX_LIST_ITEMS (see max_list_items)
DEFAULT_MAX_TEXT = 200
MAX_JSON_TEXT = 100_000  # a JSON object sent inside a form field (e.g. a class mapping)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029]")


def _shown(value: Any, limit: int = 40) -> str:
    """The received value as it may be quoted back to the user: short, one line."""
    text = repr(value)
    text = _LINE_BREAK.sub(" ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _missing(name: str):
    return InvalidParameter(_("Falta el parámetro «%(name)s».") % {"name": name}, parameter=name)


# Messages are translated when raised (per request, in the request's language); named placeholders keep
# the Spanish and English word order independent.
def _not_integer(name: str, value: Any) -> InvalidParameter:
    return InvalidParameter(_("«%(name)s» debe ser un número entero; recibido %(value)s.")
                            % {"name": name, "value": _shown(value)}, parameter=name)


def _not_number(name: str, value: Any) -> InvalidParameter:
    return InvalidParameter(_("«%(name)s» debe ser un número; recibido %(value)s.")
                            % {"name": name, "value": _shown(value)}, parameter=name)


def _not_object(name: str, value: Any) -> InvalidParameter:
    return InvalidParameter(_("«%(name)s» debe ser un objeto JSON ({…}); recibido %(value)s.")
                            % {"name": name, "value": _shown(value)}, parameter=name)


def _too_many(name: str, max_items: int) -> InvalidParameter:
    return InvalidParameter(_("«%(name)s» admite como máximo %(maximum)s valores distintos.")
                            % {"name": name, "maximum": max_items}, parameter=name)


# ------------------------------------------------------------------------------------------ scalars


def boolean(value: Any, name: str, *, default: bool = False) -> bool:
    """``true/false``, ``1/0``, ``sí/no``, ``yes/no``, ``on/off`` (any case) or a JSON boolean."""
    if _absent(value):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise InvalidParameter(
        _("«%(name)s» debe ser verdadero o falso (true/false, sí/no, 1/0); recibido %(value)s.")
        % {"name": name, "value": _shown(value)}, parameter=name
    )


def integer(value: Any, name: str, *, default: int | None = None, minimum: int | None = None,
            maximum: int | None = None, required: bool = False) -> int | None:
    """A whole number within ``[minimum, maximum]``; JSON numbers with a fraction are refused."""
    if _absent(value):
        if required:
            raise _missing(name)
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _not_integer(name, value)
    try:
        if isinstance(value, float):
            if not math.isfinite(value) or value != int(value):
                raise ValueError
            number = int(value)
        else:
            text = str(value).strip()
            if len(text) > 20:
                raise ValueError
            number = int(text)
    except ValueError:
        raise _not_integer(name, value) from None
    _check_range(number, name, minimum, maximum)
    return number


def number(value: Any, name: str, *, default: float | None = None, minimum: float | None = None,
           maximum: float | None = None, required: bool = False, exclusive_minimum: bool = False) -> float | None:
    """A finite real number within the range (``NaN``/``Infinity`` are refused). Accepts a decimal comma."""
    if _absent(value):
        if required:
            raise _missing(name)
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _not_number(name, value)
    try:
        if isinstance(value, str):
            text = value.strip()
            if len(text) > 40:
                raise ValueError
            if text.count(",") == 1 and "." not in text:
                text = text.replace(",", ".")  # es-CO decimal comma: "0,5"
            result = float(text)
        else:
            result = float(value)
    except (ValueError, OverflowError):
        raise _not_number(name, value) from None
    if not math.isfinite(result):
        raise InvalidParameter(_("«%(name)s» debe ser un número finito; recibido %(value)s.")
                               % {"name": name, "value": _shown(value)}, parameter=name)
    if exclusive_minimum and minimum is not None and result <= minimum:
        raise InvalidParameter(_("«%(name)s» debe ser mayor que %(minimum)s; recibido %(value)s.")
                               % {"name": name, "minimum": _fmt(minimum), "value": _fmt(result)}, parameter=name)
    _check_range(result, name, minimum, maximum)
    return result


def choice(value: Any, name: str, choices: Iterable[str], *, default: str | None = None,
           required: bool = False) -> str | None:
    """One of ``choices`` (compared as given, after stripping); the error lists the valid ones."""
    valid = list(choices)
    if _absent(value):
        if required:
            raise InvalidParameter(_("Falta el parámetro «%(name)s». Valores válidos: %(choices)s.")
                                   % {"name": name, "choices": ", ".join(valid)}, parameter=name)
        return default
    if isinstance(value, str) and value.strip() in valid:
        return value.strip()
    raise InvalidParameter(
        _("«%(name)s» no admite %(value)s. Valores válidos: %(choices)s.")
        % {"name": name, "value": _shown(value), "choices": ", ".join(valid)}, parameter=name
    )


def text(value: Any, name: str, *, max_length: int = DEFAULT_MAX_TEXT, default: str | None = None,
         required: bool = False, multiline: bool = False) -> str | None:
    """A string (not a number or list), stripped, without control characters, at most ``max_length``.

    Line breaks are refused unless ``multiline`` (they would end up in headers and file names).
    """
    if _absent(value):
        if required:
            raise _missing(name)
        return default
    if not isinstance(value, str):
        raise InvalidParameter(_("«%(name)s» debe ser un texto; recibido %(value)s.")
                               % {"name": name, "value": _shown(value)}, parameter=name)
    result = value.strip()
    if not multiline and _LINE_BREAK.search(result):
        raise InvalidParameter(_("«%(name)s» no puede contener saltos de línea.") % {"name": name}, parameter=name)
    if _CONTROL.search(result):
        raise InvalidParameter(_("«%(name)s» contiene caracteres de control no permitidos.") % {"name": name},
                               parameter=name)
    if len(result) > max_length:
        raise InvalidParameter(
            _("«%(name)s» tiene %(length)s caracteres; el máximo es %(maximum)s.")
            % {"name": name, "length": _fmt(len(result)), "maximum": _fmt(max_length)},
            parameter=name,
        )
    return result


def identifier(value: Any, name: str, *, required: bool = True) -> int | None:
    """A database id: a positive whole number."""
    return integer(value, name, minimum=1, maximum=2**63 - 1, required=required)


def mapping(value: Any, name: str, *, required: bool = False, allowed: Iterable[str] | None = None) -> dict:
    """A JSON object (dict). With ``allowed``, unknown keys are refused by name."""
    if _absent(value):
        if required:
            raise _missing(name)
        return {}
    if not isinstance(value, dict):
        raise _not_object(name, value)
    if allowed is not None:
        unknown = sorted(set(map(str, value)) - set(allowed))
        if unknown:
            raise InvalidParameter(
                _("«%(name)s» tiene claves desconocidas: %(unknown)s. Válidas: %(valid)s.")
                % {"name": name, "unknown": ", ".join(unknown[:10]), "valid": ", ".join(sorted(allowed))},
                parameter=name,
            )
    return value


def body(value: Any) -> dict:
    """A request body that must be a JSON object: a list, string or number parses as JSON but has no keys."""
    if isinstance(value, dict):
        return value
    raise InvalidParameter(_("Envíe un objeto JSON ({\"clave\": valor, …}), no una lista ni un valor suelto; "
                             "recibido %(value)s.") % {"value": _shown(value)}, parameter="body")


def json_mapping(value: Any, name: str, *, allowed: Iterable[str] | None = None) -> dict:
    """A JSON object given as text (a form field) or already decoded; absent → ``{}``."""
    if isinstance(value, str) and not _absent(value):
        if len(value) > MAX_JSON_TEXT:
            raise InvalidParameter(_("«%(name)s» es demasiado largo (máximo %(maximum)s caracteres).")
                                   % {"name": name, "maximum": _fmt(MAX_JSON_TEXT)}, parameter=name)
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise _not_object(name, value) from None
        if value is None:
            return {}
    return mapping(value, name, allowed=allowed)


def model_text(value: Any, name: str, model, field: str | None = None, *, default: str = "",
               required: bool = False, multiline: bool = False) -> str:
    """``text`` limited by the ``max_length`` of ``model``'s field (``field`` defaults to ``name``), so an
    over-long value is a 400 naming the parameter instead of a database error at save time."""
    max_length = model._meta.get_field(field or name).max_length or 100_000
    return text(value, name, max_length=max_length, default=default, required=required, multiline=multiline)


def max_list_items() -> int:
    """The default cap of every list a request names (setting ``GEOSIG_MAX_LIST_ITEMS``, default 50)."""
    return int(getattr(settings, "GEOSIG_MAX_LIST_ITEMS", DEFAULT_MAX_ITEMS))


# -------------------------------------------------------------------------------------------- lists


def _items(value: Any, name: str) -> list:
    if _absent(value):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise InvalidParameter(_("«%(name)s» debe ser una lista (o valores separados por comas); recibido %(value)s.")
                           % {"name": name, "value": _shown(value)}, parameter=name)


def _unique_capped(items: list, name: str, max_items: int) -> list:
    seen: dict = {}
    for item in items:
        seen.setdefault(item, None)
        if len(seen) > max_items:
            raise _too_many(name, max_items)
    return list(seen)


def each(items: Sequence, name: str, parse: Callable[[Any], Any], message: Callable[[int, Any, str], str]) -> list:
    """``parse`` applied to every item of a list of objects; an item's refusal is raised again under ``name``
    with ``message(n, item, reason)`` (n counted from 1), so the answer says which item failed and why."""
    out = []
    for n, item in enumerate(items, start=1):
        try:
            out.append(parse(item))
        except InvalidParameter as exc:
            raise InvalidParameter(message(n, item, exc.message), parameter=name) from None
    return out


def text_list(value: Any, name: str, *, max_items: int | None = None, max_length: int = 100,
              choices: Sequence[str] | None = None, required: bool = False) -> list[str]:
    """Strings from a list or a comma-separated string: de-duplicated (order kept) and capped
    (``max_items``, by default ``max_list_items()``).

    The raw list is refused outright when it is far longer than the cap (a 20,000-item list costs
    nothing to reject and would cost a loop to de-duplicate).
    """
    max_items = max_items or max_list_items()
    items = _items(value, name)
    if len(items) > max_items * 20:
        raise _too_many(name, max_items)
    out = [text(item, name, max_length=max_length, required=True) for item in items]
    out = _unique_capped(out, name, max_items)
    if choices is not None:
        unknown = [v for v in out if v not in choices]
        if unknown:
            raise InvalidParameter(
                _("«%(name)s» no admite %(value)s. Valores válidos: %(choices)s.")
                % {"name": name, "value": ", ".join(unknown[:5]), "choices": ", ".join(choices)},
                parameter=name,
            )
    if required and not out:
        raise _missing(name)
    return out


def id_list(value: Any, name: str, *, max_items: int | None = None, required: bool = False,
            minimum: int = 1) -> list[int]:
    """Database ids from a list or a comma-separated string: de-duplicated (order kept) and capped.
    ``minimum=0`` for ids that start at 0 (e.g. feature ids of a GeoJSON file)."""
    max_items = max_items or max_list_items()
    items = _items(value, name)
    if len(items) > max_items * 20:
        raise _too_many(name, max_items)
    out = _unique_capped([integer(item, name, minimum=minimum, maximum=2**63 - 1, required=True) for item in items],
                         name, max_items)
    if required and not out:
        raise _missing(name)
    return out


def date(value: Any, name: str, *, default=None, required: bool = False):
    """A calendar date: ISO ``YYYY-MM-DD`` text, or a ``date``/``datetime`` (a spreadsheet cell), years 1900–2100."""
    import datetime as dt

    if _absent(value):
        if required:
            raise _missing(name)
        return default
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raw = value.strip() if isinstance(value, str) else None
        try:
            parsed = dt.date.fromisoformat(raw) if raw and len(raw) == 10 else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise InvalidParameter(_("«%(name)s» debe ser una fecha AAAA-MM-DD; recibido %(value)s.")
                                   % {"name": name, "value": _shown(value)}, parameter=name)
        value = parsed
    _check_range(value.year, name + " (año)", 1900, 2100)
    return value


# ------------------------------------------------------------------------------------------ places


def lonlat(lon: Any, lat: Any) -> tuple[float, float]:
    """Longitude and latitude in degrees (EPSG:4326), both required and in range."""
    x = number(lon, "lon", minimum=-180, maximum=180, required=True)
    y = number(lat, "lat", minimum=-90, maximum=90, required=True)
    return x, y


def bbox(value: Any, name: str = "bbox") -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` in degrees (string or list of 4 numbers), not inverted."""
    if _absent(value):
        return None
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, (list, tuple)) or len(parts) != 4:
        raise InvalidParameter(_("«%(name)s» necesita 4 números: minlon,minlat,maxlon,maxlat; recibido %(value)s.")
                               % {"name": name, "value": _shown(value)}, parameter=name)
    x0, x1 = (number(parts[i], name, minimum=-180, maximum=180, required=True) for i in (0, 2))
    y0, y1 = (number(parts[i], name, minimum=-90, maximum=90, required=True) for i in (1, 3))
    if not (x0 < x1 and y0 < y1):
        raise InvalidParameter(_("«%(name)s» invertido o vacío: se espera minlon<maxlon y minlat<maxlat.")
                               % {"name": name}, parameter=name)
    return x0, y0, x1, y1


# ------------------------------------------------------------------------------------------ helpers


def _fmt(value: float) -> str:
    """A figure for messages in the active language: es-CO thousands '.' and decimals ',' (English 1,500.5)."""
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,.6g}"
    if (get_language() or "es").startswith("en"):
        return text
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def _check_range(value: float, name: str, minimum, maximum) -> None:
    if minimum is not None and value < minimum:
        raise InvalidParameter(_("«%(name)s» debe ser ≥ %(limit)s; recibido %(value)s.")
                               % {"name": name, "limit": _fmt(minimum), "value": _fmt(value)}, parameter=name)
    if maximum is not None and value > maximum:
        raise InvalidParameter(_("«%(name)s» debe ser ≤ %(limit)s; recibido %(value)s.")
                               % {"name": name, "limit": _fmt(maximum), "value": _fmt(value)}, parameter=name)
