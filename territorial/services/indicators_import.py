"""Import indicator values (NBI, ICV, IDH, ...) from CSV without code changes.

Format (UTF-8 CSV, header required):
    divipola,indicator,year,value[,unit][,name][,source]
An unknown indicator is created when the file gives its ``unit`` and ``name``; values are upserted.
Everything is validated before anything is written; one transaction.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from geosig import params, versioned
from geosig.errors import DataFileError, InvalidParameter
from territorial.models import Indicator, IndicatorValue, Municipality

REQUIRED = ("divipola", "indicator", "year", "value")


@dataclass
class ImportReport:
    rows: int = 0
    created_indicators: list[str] = field(default_factory=list)
    written: int = 0

    def __str__(self):
        new = ", ".join(self.created_indicators) or "ninguno"
        return f"Filas leídas: {self.rows}; valores escritos: {self.written}; indicadores nuevos: {new}."


def import_indicators(path: Path, default_source: str = "") -> ImportReport:
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataFileError(f"No se puede leer {path}: {exc}")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataFileError(f"{path}: faltan las columnas {', '.join(missing)} (formato: {','.join(REQUIRED)}[,unit,name,source]).")
    if not rows:
        raise DataFileError(f"{path}: el archivo no tiene filas de datos.")
    munis = dict(Municipality.objects.values_list("divipola", "id"))
    known = {i.code: i for i in Indicator.objects.all()}
    new_defs, parsed = {}, []
    for n, r in enumerate(rows, start=2):
        where = f"{path}, línea {n}"
        try:
            code, year, value, source, definition = _row(r, default_source)
        except InvalidParameter as exc:  # the same checks as a request parameter, located in the file
            raise DataFileError(f"{where}: {exc.message}") from None
        divipola = (r["divipola"] or "").strip()
        if divipola not in munis:
            raise DataFileError(f"{where}: divipola desconocido {r['divipola']!r}.")
        if code not in known and code not in new_defs:
            if not (definition["unit"] and definition["name"]):
                raise DataFileError(f"{where}: indicador nuevo {code!r} sin columnas unit y name.")
            new_defs[code] = definition
        parsed.append((code, munis[divipola], year, value, source))
    report = ImportReport(rows=len(parsed))
    with transaction.atomic():
        for code, d in new_defs.items():
            known[code] = Indicator.objects.create(code=code, **d)
            report.created_indicators.append(code)
        objs = [IndicatorValue(indicator=known[c], municipality_id=m, year=y, value=v, source=s)
                for c, m, y, v, s in parsed]
        IndicatorValue.objects.bulk_create(objs, update_conflicts=True, unique_fields=["indicator", "municipality", "year"],
                                           update_fields=["value", "source"])
        report.written = len(objs)
        transaction.on_commit(lambda: versioned.bump("territorial"))
    return report


def _row(r: dict, default_source: str) -> tuple:
    """One CSV row → (code, year, value, source, definition of a new indicator), every text within the
    model's max_length and every number finite (an ``inf`` value would break the JSON API later)."""
    code = params.model_text(r.get("indicator"), "indicator", Indicator, "code", required=True)
    if not code.replace("-", "").replace("_", "").isalnum():
        raise InvalidParameter(f"el código de indicador {code!r} solo admite letras, números, '-' y '_'.")
    year = params.integer(r.get("year"), "year", minimum=1, maximum=9999, required=True)
    value = params.number(r.get("value"), "value", required=True)
    source = params.model_text(r.get("source"), "source", IndicatorValue) or default_source
    definition = {"name": params.model_text(r.get("name"), "name", Indicator),
                  "unit": params.model_text(r.get("unit"), "unit", Indicator),
                  "source": params.model_text(source, "source", Indicator)}
    return code, year, value, source, definition
