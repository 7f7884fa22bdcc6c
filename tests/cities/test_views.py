"""The page uses the services directly: no import from cities.api, no private helpers of outputs."""
import ast
from pathlib import Path

import cities.views
from cities.services import outputs, report


def test_view_and_api_share_report_from_query_from_the_service():
    from cities import api

    assert cities.views.report_from_query is report.report_from_query
    assert api.report_from_query is report.report_from_query
    tree = ast.parse(Path(cities.views.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "cities.api" not in imported
    private = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr.startswith("_")]
    assert private == []
    assert callable(outputs.page_context)


def test_page_context_has_the_report_charts(cities):
    r = report.report_from_query({"year": "2018", "basis": "cabecera"})
    ctx = outputs.page_context(r)
    assert ctx["r"] is r and ctx["municipalities"].rows[0]["name"] == "Cali"
    assert ctx["svg_lorenz"].lstrip().startswith("<svg") and ctx["for_pdf"] is False
