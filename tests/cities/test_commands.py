import csv
import io

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.parametrize("fmt", ["html", "pdf", "csv", "xlsx"])
def test_report_command_writes_each_format(cities, tmp_path, fmt):
    out = tmp_path / f"informe.{fmt}"
    call_command("city_balance_report", "--year", "2018", "--format", fmt, "--output", str(out), stdout=io.StringIO())
    data = out.read_bytes()
    if fmt == "pdf":
        assert data.startswith(b"%PDF")
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        gini = next(r for r in rows if r["tabla"] == "indicadores" and r["fila"] == "gini" and r["columna"] == "value")
        assert 0.5 < float(gini["valor"]) < 1 and gini["anio"] == "2018" and gini["base"] == "cabecera"
        assert {r["tabla"] for r in rows} >= {"indicadores", "municipios", "subregiones", "theil"}
    elif fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(out)
        assert {"metadatos", "indicadores", "municipios", "subregiones", "theil"} <= set(wb.sheetnames)
        assert wb["municipios"]["C3"].value == "Cali"
    else:
        text = data.decode()
        assert "<svg" in text and "Gini" in text and "cdn" not in text.lower() and "https://unpkg" not in text


def test_report_command_errors(cities, tmp_path):
    with pytest.raises(CommandError, match="2019"):
        call_command("city_balance_report", "--year", "2019", "--output", str(tmp_path / "x.html"))
    assert not (tmp_path / "x.html").exists()


def test_batch_over_years(cities, tmp_path):
    err = io.StringIO()
    call_command("city_balance_report", "--basis", "total", "--all-years", "--format", "csv",
                 "--output", str(tmp_path), stdout=io.StringIO(), stderr=err)
    assert len(list(tmp_path.glob("*.csv"))) == 13


def test_scenario_command(cities):
    out = io.StringIO()
    call_command("city_scenario", "pes", "--kind", "pessimistic", "--horizon", "2030", "--adjust", "norte=-0.4",
                 stdout=out)
    assert "pes" in out.getvalue()
    with pytest.raises(CommandError, match="Subregión desconocida"):
        call_command("city_scenario", "mal", "--kind", "optimistic", "--adjust", "luna=1")
