"""Official municipal statistics of all Colombia (DANE NBI 2018, DNP IDF 2023) loaded for the Valle's 42.

Each table is a flat CSV keyed by DIVIPOLA copied from an official workbook (both in the manifest). The
values of the 42 municipalities become indicator values; the references they are read against come
from the official rows only:

* national: the table's own national row (``00000``) when it has one, else stored as «no publicado»;
* department: the row the publisher gives for the Valle in the workbook (a registry per table below),
  stored with a note saying exactly what that row is.

Nothing is averaged. Read and validated before the loader's transaction; written inside it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geosig.errors import DataFileError
from territorial.models import Indicator, IndicatorReference, IndicatorValue, Municipality
from territorial.services import sources as S


@dataclass
class LoadedTable:
    table: S.OfficialTable
    values: dict[str, dict[str, float]] = field(default_factory=dict)      # code → {divipola: value}
    references: dict[str, list[dict]] = field(default_factory=dict)        # code → [reference fields]


def _path(data_dir: Path, rel: str) -> Path:
    path = Path(data_dir) / rel
    if not path.exists():
        raise DataFileError(f"Falta el archivo {path}. Ejecute 'python manage.py fetch_data'.", file=str(path))
    return path


def _finite(value, where: str, path: Path) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v):
        raise DataFileError(f"{path}, {where}: valor no numérico o vacío ({value!r}).", file=str(path))
    return v


def read_table(table: S.OfficialTable, data_dir: Path, codes: set[str]) -> LoadedTable:
    """The 42 values of every column, the national row and the department row, validated."""
    path = _path(data_dir, table.csv)
    try:
        df = pd.read_csv(path, dtype={"divipola": str})
    except Exception as exc:
        raise DataFileError(f"No se puede leer {path}: {exc}", file=str(path)) from exc
    missing = [c for c in ("divipola", *(col.column for col in table.columns)) if c not in df.columns]
    if missing:
        raise DataFileError(f"{path}: faltan los campos {', '.join(missing)}.", file=str(path), field=missing[0])
    df["divipola"] = df["divipola"].str.strip()
    if df["divipola"].duplicated().any():
        raise DataFileError(f"{path}: códigos DIVIPOLA repetidos.", file=str(path), field="divipola")
    rows = df.set_index("divipola")
    absent = sorted(codes - set(rows.index))
    if absent:
        raise DataFileError(f"{path}: faltan municipios del Valle: {', '.join(absent)}.", file=str(path))
    out = LoadedTable(table)
    department = DEPARTMENT_READERS[table.key](table, _path(data_dir, table.workbook))
    for col in table.columns:
        out.values[col.code] = {c: _finite(rows.at[c, col.column], f"{c}, campo '{col.column}'", path) for c in sorted(codes)}
        refs = [department[col.code]]
        if S.NATIONAL_CODE in rows.index:
            refs.append({"scope": "nacional", "label": "Total nacional", "source": table.source, "note": "",
                         "value": _finite(rows.at[S.NATIONAL_CODE, col.column], f"fila {S.NATIONAL_CODE}", path)})
        else:
            refs.append({"scope": "nacional", "label": "Colombia", "value": None, "source": table.source,
                         "note": "No publicado: la tabla oficial no trae un total nacional."})
        out.references[col.code] = refs
    return out


def _sheet_rows(path: Path, sheet: str) -> list[tuple]:
    import openpyxl  # only the loader needs it

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            return [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]
        finally:
            wb.close()
    except KeyError:
        raise DataFileError(f"{path}: falta la hoja {sheet!r}.", file=str(path)) from None
    except Exception as exc:  # a damaged workbook: name the file, change nothing
        raise DataFileError(f"No se puede leer {path}: {exc}", file=str(path)) from exc


def _row(rows: list[tuple], code: str, path: Path, sheet: str) -> tuple:
    for r in rows:
        if r and r[0] is not None and str(r[0]).strip() == code:
            return r
    raise DataFileError(f"{path}, hoja {sheet!r}: no hay fila con código {code}.", file=str(path))


NBI_DEPARTMENT_SHEET = "Departamento_OLD"


def _nbi_department(table: S.OfficialTable, path: Path) -> dict[str, dict]:
    """DANE's department sheet (2 decimals). It is an earlier release than the municipal sheet (the note
    gives both national totals so a reader sees the difference instead of a silent mix)."""
    rows = _sheet_rows(path, NBI_DEPARTMENT_SHEET)
    valle, nation = _row(rows, S.DEPARTMENT_CODE, path, NBI_DEPARTMENT_SHEET), _row(rows, "00", path, NBI_DEPARTMENT_SHEET)
    banner = next((str(r[0]) for r in rows if r and isinstance(r[0], str) and "actualización" in r[0]), "")
    updated = banner.split("actualización:")[-1].strip().rstrip(".") if "actualización:" in banner else ""
    out = {}
    for col in table.columns:
        i = S.nbi_workbook_index(col.column)
        value = _finite(valle[i], f"hoja {NBI_DEPARTMENT_SHEET}, fila 76", path)
        note = (f"Fila oficial del departamento en la hoja «{NBI_DEPARTMENT_SHEET}» del libro de DANE"
                + (f" (actualización: {updated})" if updated else "")
                + "; es una publicación anterior a la tabla municipal: su total nacional es "
                + f"{_finite(nation[i], 'fila 00', path):.2f} %".replace(".", ",")
                + ", distinto del total nacional de la tabla municipal (la referencia nacional).")
        out[col.code] = {"scope": "departamento", "label": S.DEPARTMENT_NAME, "value": value,
                         "source": table.source, "note": note}
    return out


IDF_DEPARTMENT_SHEET = "Departamentos 2023"


def _idf_department(table: S.OfficialTable, path: Path) -> dict[str, dict]:
    """DNP publishes the IDF of each department's own government: it is the Gobernación's fiscal
    performance, not an aggregate of its municipalities — said in the note, shown as such."""
    rows = _sheet_rows(path, IDF_DEPARTMENT_SHEET)
    header = next((r for r in rows if r and str(r[0] or "").strip() == "Código"), None)
    if header is None:
        raise DataFileError(f"{path}, hoja {IDF_DEPARTMENT_SHEET!r}: sin fila de encabezados.", file=str(path))
    index = {str(h).strip(): i for i, h in enumerate(header) if h is not None}
    valle = _row(rows, S.DEPARTMENT_CODE + "000", path, IDF_DEPARTMENT_SHEET)
    out = {}
    for col in table.columns:
        if col.workbook_column not in index:
            raise DataFileError(f"{path}, hoja {IDF_DEPARTMENT_SHEET!r}: falta la columna {col.workbook_column!r}.",
                                file=str(path))
        value = _finite(valle[index[col.workbook_column]], f"hoja {IDF_DEPARTMENT_SHEET}, fila 76000", path)
        out[col.code] = {
            "scope": "departamento", "label": "Gobernación del Valle del Cauca", "value": value,
            "source": table.source,
            "note": "IDF de la Gobernación (entidad departamental), hoja «Departamentos 2023» del DNP: mide las "
                    "finanzas del departamento, no es un promedio de sus municipios.",
        }
    return out


DEPARTMENT_READERS = {"nbi": _nbi_department, "idf": _idf_department}


def write_table(loaded: LoadedTable, report) -> None:
    """Upsert the indicators, their 42 values and their references (inside the loader's transaction)."""
    t = loaded.table
    munis = dict(Municipality.objects.values_list("divipola", "id"))
    for col in t.columns:
        ind, _ = Indicator.objects.update_or_create(code=col.code, defaults={
            "name": col.name, "unit": t.unit, "source": t.source, "derived": False,
            "description": f"{col.description} {t.source}, {t.year}.".strip()})
        old = {m: v for m, v in IndicatorValue.objects.filter(indicator=ind, year=t.year)
               .values_list("municipality_id", "value")}
        todo = [IndicatorValue(indicator=ind, municipality_id=munis[c], year=t.year, value=v, source=t.source)
                for c, v in loaded.values[col.code].items() if old.get(munis[c]) is None
                or abs(old[munis[c]] - v) > 1e-9]
        IndicatorValue.objects.bulk_create(todo, update_conflicts=True, update_fields=["value", "source"],
                                           unique_fields=["indicator", "municipality", "year"])
        report.indicator_values_written += len(todo)
        report.indicator_values_unchanged += len(loaded.values[col.code]) - len(todo)
        for ref in loaded.references[col.code]:
            IndicatorReference.objects.update_or_create(
                indicator=ind, year=t.year, scope=ref["scope"],
                defaults={k: ref[k] for k in ("label", "value", "source", "note")})
