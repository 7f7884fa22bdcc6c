"""Imports of the plan follow-up from CSV or XLSX templates: programs, projects, budgets, goals, progress
reports. A file is read and validated whole; one bad row and nothing is written, and the message names
every bad row and column (rows counted as a spreadsheet shows them: the header is row 1).

Each row goes through the same services as the API (plan/services/portfolio.py): one set of rules.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import Callable

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from geosig.errors import GeoSIGError, InvalidParameter, PermissionDeniedError, UploadTooLarge
from plan.services import access, portfolio

MAX_ROWS = 5000
MAX_XLSX_UNPACKED = 50 * 1024 * 1024
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


@dataclass(frozen=True)
class Kind:
    columns: dict  # template column → API key
    required: tuple
    numeric: tuple
    lists: tuple
    office_only: bool
    write: Callable  # (user, payload) for one row (or one group of rows: budgets of one project)


def _write_budgets(user, payload):
    from plan.models import Project

    pk = Project.objects.filter(code=payload["project"]).values_list("pk", flat=True).first()
    if pk is None:
        raise InvalidParameter(_("no existe el proyecto «%(c)s»") % {"c": payload["project"]}, parameter="project")
    portfolio.update_project(user, pk, {"budgets": payload["budgets"]})


def _write_report(user, payload):
    from plan.models import Goal, Project

    kind = {"proyecto": "project", "meta": "goal"}.get(str(payload.pop("kind", "")).strip().lower())
    if kind is None:
        raise InvalidParameter(_("debe ser «proyecto» o «meta»"), parameter="kind")
    model = Project if kind == "project" else Goal
    pk = model.objects.filter(code=str(payload.pop("code", ""))).values_list("pk", flat=True).first()
    if pk is None:
        raise InvalidParameter(_("no existe"), parameter="code")
    portfolio.add_report(user, kind, pk, payload)


KINDS: dict[str, Kind] = {
    "programs": Kind({"codigo": "code", "nombre": "name", "linea": "line", "peso": "weight",
                      "objetivos": "objectives"}, ("codigo", "nombre", "linea"), ("peso",), ("objetivos",), True,
                     portfolio.save_program),
    "projects": Kind({"codigo": "code", "nombre": "name", "descripcion": "description", "programa": "program",
                      "entidad": "entity", "plazo": "term", "inicio": "start_date", "fin": "end_date",
                      "estado": "status", "avance": "progress", "peso": "weight", "geometria": "geometry",
                      "municipios": "municipalities", "publicado": "published", "fuente": "source"},
                     ("codigo", "nombre", "programa", "entidad", "plazo"), ("avance", "peso"), ("municipios",), True,
                     portfolio.upsert_project),
    "budgets": Kind({"proyecto": "project", "anio": "year", "fuente_financiacion": "funding_source",
                     "valor_cop": "amount_cop"}, ("proyecto", "anio", "fuente_financiacion", "valor_cop"),
                    ("valor_cop",), (), True, _write_budgets),
    "goals": Kind({"codigo": "code", "meta": "name", "programa": "program", "proyecto": "project",
                   "entidad": "entity", "indicador": "indicator", "unidad": "unit", "linea_base": "baseline_value",
                   "anio_base": "baseline_year", "fuente_base": "baseline_source", "valor_meta": "target_value",
                   "anio_meta": "target_year", "peso": "weight", "publicado": "published"},
                  ("codigo", "meta", "programa", "entidad", "indicador", "unidad", "linea_base", "anio_base",
                   "fuente_base", "valor_meta", "anio_meta"), ("linea_base", "valor_meta", "peso"), (), True,
                  portfolio.upsert_goal),
    "reports": Kind({"tipo": "kind", "codigo": "code", "valor": "value", "fecha": "date", "nota": "note",
                     "enlace_evidencia": "evidence_url"}, ("tipo", "codigo", "valor"), ("valor",), (), False,
                    _write_report),
}


class RowError(InvalidParameter):
    pass


def _row_error(number: int, column: str | None, message: str, *, denied: bool = False) -> RowError:
    where = _("fila %(n)s, columna «%(c)s»") % {"n": number, "c": column} if column else _("fila %(n)s") % {"n": number}
    err = RowError(f"{where}: {message}", row=number, column=column)
    err.denied = denied  # a row on another entity's project: the whole refusal is a 403 if every row is
    return err


def template(kind: str) -> bytes:
    """The empty CSV template of ``kind`` (UTF-8 with BOM: Excel opens the accents right)."""
    return ("\ufeff" + ",".join(_kind(kind).columns) + "\r\n").encode("utf-8")


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise InvalidParameter(_("Tipo de importación desconocido «%(k)s»; válidos: %(v)s.")
                               % {"k": kind, "v": ", ".join(KINDS)}, parameter="kind")
    return KINDS[kind]


# ------------------------------------------------------------------ reading
def read_rows(data: bytes, filename: str) -> list[tuple[int, dict]]:
    """(spreadsheet row number, {header: cell}) of a CSV (UTF-8, ``,`` or ``;``) or XLSX (first sheet)."""
    limit = int(getattr(settings, "GEOSIG_MAX_UPLOAD_BYTES", 100 * 1024 * 1024))
    if len(data) > limit:
        raise UploadTooLarge(_("El archivo supera el tamaño máximo."), parameter="file")
    ext = PurePath(filename or "").suffix.lower()
    if ext == ".csv":
        return _csv_rows(data)
    if ext == ".xlsx":
        return _xlsx_rows(data)
    raise InvalidParameter(_("El archivo debe ser .csv o .xlsx; recibido «%(e)s».") % {"e": ext or "?"},
                           parameter="file")


def _csv_rows(data: bytes) -> list[tuple[int, dict]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidParameter(_("El CSV debe estar en UTF-8."), parameter="file") from None
    if "\x00" in text:
        raise InvalidParameter(_("El CSV contiene bytes nulos: no es un texto."), parameter="file")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = list(reader)
    return _as_dicts(rows)


def _xlsx_rows(data: bytes) -> list[tuple[int, dict]]:
    if not data.startswith(b"PK\x03\x04"):
        raise InvalidParameter(_("El contenido no es un archivo XLSX."), parameter="file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(i.file_size for i in zf.infolist()) > MAX_XLSX_UNPACKED:
                raise InvalidParameter(_("El XLSX descomprimido es demasiado grande."), parameter="file")
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        ws = wb.worksheets[0]
        rows = [list(r) for _i, r in zip(range(MAX_ROWS + 2), ws.iter_rows(values_only=True))]
        wb.close()
    except InvalidParameter:
        raise
    except Exception as exc:  # a damaged workbook: openpyxl and zipfile raise many kinds
        raise InvalidParameter(_("No se pudo leer el XLSX: %(e)s") % {"e": str(exc)[:200]}, parameter="file") from None
    return _as_dicts(rows)


def _as_dicts(rows: list[list]) -> list[tuple[int, dict]]:
    if not rows:
        raise InvalidParameter(_("El archivo está vacío."), parameter="file")
    header = [str(h or "").strip().lower() for h in rows[0]]
    body = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(c not in (None, "") for c in r)]
    if len(body) > MAX_ROWS:
        raise InvalidParameter(_("El archivo tiene más de %(n)s filas.") % {"n": MAX_ROWS}, parameter="file")
    if not body:
        raise InvalidParameter(_("El archivo no tiene filas de datos."), parameter="file")
    return [(n, {h: (r[i] if i < len(r) else None) for i, h in enumerate(header) if h}) for n, r in body]


# ------------------------------------------------------------------ validating and writing
def _payload(spec: Kind, row: dict) -> dict:
    out = {}
    for column, key in spec.columns.items():
        value = row.get(column)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, ""):
            continue
        if column in spec.numeric and isinstance(value, str) and _DECIMAL_COMMA.match(value):
            value = value.replace(",", ".")  # a Spanish spreadsheet's decimal comma
        if column in spec.lists:
            value = [v.strip() for v in str(value).split("|") if v.strip()]
        if isinstance(value, float) and value.is_integer() and key in ("year", "baseline_year", "target_year"):
            value = int(value)
        out[key] = value
    return out


def _check_columns(spec: Kind, rows) -> None:
    header = set(rows[0][1]) if rows else set()
    unknown = sorted(header - set(spec.columns))
    missing = [c for c in spec.required if c not in header]
    if unknown or missing:
        parts = []
        if missing:
            parts.append(_("faltan las columnas %(c)s") % {"c": ", ".join(missing)})
        if unknown:
            parts.append(_("columnas desconocidas %(c)s") % {"c": ", ".join(unknown)})
        raise InvalidParameter(_("Fila 1 (encabezado): %(p)s. Columnas válidas: %(v)s.")
                               % {"p": "; ".join(parts), "v": ", ".join(spec.columns)}, parameter="file")


def _units(kind: str, spec: Kind, rows) -> list[tuple[int, dict]]:
    units = []
    for number, row in rows:
        payload = _payload(spec, row)
        missing = [c for c in spec.required if spec.columns[c] not in payload]
        units.append((number, payload, missing))
    if kind != "budgets":
        return units
    grouped: dict[str, tuple] = {}
    out = []
    for number, payload, missing in units:
        if missing:
            out.append((number, payload, missing))
            continue
        code = str(payload.pop("project"))
        entry = grouped.setdefault(code, (number, {"project": code, "budgets": []}, []))
        entry[1]["budgets"].append(payload)
    return out + list(grouped.values())


def import_file(user, kind: str, data: bytes, filename: str) -> dict:
    """Validate and write the whole file in one transaction; on any bad row nothing is written and the error
    lists the bad rows (row, column, reason)."""
    spec = _kind(kind)
    if spec.office_only:
        access.require_office(user)
    elif not (access.is_office(user) or access.entity_ids(user)):
        raise PermissionDeniedError(_("Sólo la oficina de planeación o una entidad ejecutora importan reportes."))
    rows = read_rows(data, filename)
    _check_columns(spec, rows)
    back = {v: k for k, v in spec.columns.items()}
    errors = []
    with transaction.atomic():
        for number, payload, missing in _units(kind, spec, rows):
            if missing:
                errors.append(_row_error(number, missing[0], _("falta el valor")))
                continue
            sid = transaction.savepoint()
            try:
                spec.write(user, payload)
                transaction.savepoint_commit(sid)
            except GeoSIGError as exc:
                transaction.savepoint_rollback(sid)
                column = back.get(exc.details.get("parameter"), exc.details.get("parameter"))
                errors.append(_row_error(number, column, exc.message, denied=isinstance(exc, PermissionDeniedError)))
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise _refusal(errors)
    return {"kind": kind, "rows": len(rows), "written": len(rows)}


def _refusal(errors: list[RowError]) -> GeoSIGError:
    errors.sort(key=lambda e: e.details["row"])
    shown = "; ".join(e.message for e in errors[:20])
    more = _(" (y %(n)s más)") % {"n": len(errors) - 20} if len(errors) > 20 else ""
    message = _("El archivo tiene %(n)s fila(s) con errores; no se guardó nada. %(e)s%(m)s") % {
        "n": len({e.details['row'] for e in errors}), "e": shown, "m": more}
    cls = PermissionDeniedError if all(e.denied for e in errors) else InvalidParameter
    return cls(message, errors=[{"row": e.details["row"], "column": e.details["column"], "detail": e.message}
                                for e in errors[:100]])
