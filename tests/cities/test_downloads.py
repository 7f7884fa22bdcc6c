"""City-system report downloads go through geosig.formats: content type, Content-Disposition, and the
files themselves (CSV and XLSX readable, PDF a PDF)."""
import csv
import io

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.django_db
STEM = "sistema_ciudades_2018_cabecera"


@pytest.mark.parametrize("fmt, ctype", [
    ("csv", "text/csv; charset=utf-8"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("pdf", "application/pdf"),
])
def test_report_downloads(client, cities, fmt, ctype):
    r = client.get(f"/api/v1/cities/balance/report.{fmt}?year=2018")
    assert r.status_code == 200
    assert r["Content-Type"] == ctype
    assert r["Content-Disposition"] == f'attachment; filename="{STEM}.{fmt}"'
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        cali = next(row for row in rows if row["tabla"] == "municipios" and row["columna"] == "name" and row["valor"] == "Cali")
        assert cali["anio"] == "2018"
    elif fmt == "xlsx":
        wb = load_workbook(io.BytesIO(r.content))
        assert wb["municipios"]["C3"].value == "Cali" and wb["municipios"]["A1"].font.b
        assert wb["metadatos"]["A1"].value == "Sistema"
        numbers = [c for row in wb["municipios"].iter_rows(min_row=3) for c in row if isinstance(c.value, float)]
        assert numbers and all(c.data_type == "n" for c in numbers)
    else:
        assert r.content.startswith(b"%PDF")


def test_import_template_download(client, cities):
    r = client.get("/api/v1/cities/templates/funciones.csv")
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"] == 'attachment; filename="plantilla_funciones.csv"'
    assert r.content == b"codigo,funcion,cantidad,fuente\r\n"
