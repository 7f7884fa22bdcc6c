"""Report files from a ``BalanceReport`` in html, pdf, csv, xlsx and json: this module builds each format's
content, ``geosig.formats`` writes it. The HTML file is self-contained: inline SVG charts and, for the
interactive map, Leaflet's own JS/CSS inlined from the local static files (no CDN, opens offline)."""
from __future__ import annotations

from django.template.loader import render_to_string

from cities.services import charts
from cities.services.balance import PARAM_DOCS, BalanceReport
from cities.services.loading import road_routes
from geosig import formats
from territorial.models import Municipality


def _context(report: BalanceReport, outlines=None, for_pdf=False) -> dict:
    fig = "png" if for_pdf else "svg"
    return {
        "r": report,
        "meta": report.meta,
        "tables": report.tables,
        "subregions": report.table("subregiones"),
        "municipalities": report.table("municipios"),
        "theil_table": report.table("theil"),
        "poverty": report.table("pobreza"),
        "scalogram": report.table("escalograma"),
        "comparison": report.comparison,
        "svg_rank_size": charts.rank_size_svg(report, fmt=fig),
        "svg_lorenz": charts.lorenz_svg(report, fmt=fig),
        "svg_theil": charts.theil_svg(report, fmt=fig),
        "svg_trend": charts.trend_svg(report, fmt=fig) if report.trend else "",
        "trend": report.trend,
        "svg_map": charts.map_svg(report, outlines, fmt=fig, roads=_roads()) if for_pdf else "",
        "roads_source": _roads_source(),
        "params": [(k, PARAM_DOCS.get(k, k), v) for k, v in report.meta.get("params", {}).items()],
        "for_pdf": for_pdf,
    }


def page_context(report: BalanceReport) -> dict:
    """Template context of the "Sistema de ciudades" page: the HTML report's, with SVG charts (no static map)."""
    return _context(report)


def _roads():
    return road_routes()["routes"]


def _roads_source():
    return road_routes()["source"]


def map_data(report: BalanceReport, outlines=None) -> dict:
    return {"cities": report.meta.get("map", []), "links": report.links, "places": report.places,
            "outlines": outlines or [], "roads": road_routes()["routes"]}


def _html_text(report: BalanceReport, outlines=None) -> str:
    ctx = _context(report, outlines)
    ctx.update({"leaflet_css": formats.static_text("leaflet/leaflet.css"), "leaflet_js": formats.static_text("leaflet/leaflet.js"),
                "map_js": formats.static_text("cities/balance_map.js"), "map_data": map_data(report, outlines)})
    return render_to_string("cities/report.html", ctx)


def _pdf_html(report: BalanceReport, outlines=None) -> str:
    return render_to_string("cities/report.html", _context(report, outlines, for_pdf=True))


def _meta_columns(report: BalanceReport) -> dict:
    m = report.meta
    return {"anio": m.get("year"), "base": m.get("basis"), "escenario": (m.get("scenario") or {}).get("name", ""),
            "fuente_poblacion": m.get("population_source", ""), "fuente_viajes": m.get("travel_source", "")}


def _tidy_rows(report: BalanceReport, meta: dict):
    for t in report.all_tables():
        for i, row in enumerate(t.rows, start=1):
            rid = row.get("code") or row.get("key") or i
            for key, label, unit in t.columns:
                unit = row.get("unit", unit) if t.key in ("indicadores", "comparacion") and key in ("value", "a", "b", "change") else unit
                yield [t.key, rid, key, label, row.get(key), unit, *meta.values()]


def _tidy_table(report: BalanceReport, outlines=None) -> formats.Table:
    """One tidy CSV with every table: tabla, fila, columna, valor, unidad + year, basis, scenario, sources."""
    meta = _meta_columns(report)
    return formats.Table(["tabla", "fila", "columna", "etiqueta", "valor", "unidad", *meta],
                         list(_tidy_rows(report, meta)), bom=True)


def _wide_table(report: BalanceReport, outlines=None) -> formats.Table:
    """One row per municipality, its indicators as columns (label and unit in the header), then year,
    basis, scenario and sources: the table a spreadsheet user filters and charts directly."""
    t = report.table("municipios")
    meta = _meta_columns(report)
    header = [lab + (f" ({u})" if u else "") for _, lab, u in t.columns] + list(meta)
    rows = [[row.get(k) for k, _, _ in t.columns] + list(meta.values()) for row in t.rows]
    return formats.Table(header, rows, bom=True)


def _sheets(report: BalanceReport, outlines=None) -> list[formats.Sheet]:
    m = report.meta
    meta = [[k, v] for k, v in [
        ("Sistema", m.get("label")), ("Año", m.get("year")), ("Base de población", m.get("basis_label")),
        ("Fuente de población", m.get("population_source")), ("Matriz de viaje", m.get("travel_matrix")),
        ("Fuente de la matriz", m.get("travel_source")), ("Unidad de la matriz", m.get("travel_unit")),
        ("Centros poblados", m.get("centres_note")),
        ("Escenario", (m.get("scenario") or {}).get("name", "—")),
        ("Inventario de funciones", (m.get("functions") or {}).get("inventory", "ninguno importado"))]]
    meta += [[], ["Parámetro", "Descripción", "Valor"]]
    meta += [[k, PARAM_DOCS.get(k, k), v] for k, v in m.get("params", {}).items()]
    sheets = [formats.Sheet("metadatos", meta)]
    for t in report.all_tables():
        rows = [[f"{t.title} — {m.get('label', '')}"], [lab + (f" ({u})" if u else "") for _, lab, u in t.columns]]
        rows += [[row.get(k) for k, _, _ in t.columns] for row in t.rows]
        sheets.append(formats.Sheet(t.key, rows, bold_rows=1))
    return sheets


def _data(report: BalanceReport, outlines=None) -> dict:
    return report.as_dict()


# The report's formats; content types, extensions and writers come from geosig.formats.
REPORT = formats.Offer(html=_html_text, pdf=_pdf_html, csv=_tidy_table, csv_es=_tidy_table, xlsx=_sheets, json=_data)
FORMATS = {key: REPORT.get(key) for key in REPORT}  # key → Output (render, content_type, extension)
# The per-municipality table alone (wide: one row per municipality), as CSV or «Excel (es)».
MUNICIPALITIES = formats.Offer(csv=_wide_table, csv_es=_wide_table)


def get_format(name: str, table: str = "informe") -> formats.Output:
    """``get_format(key).render(report, outlines)`` → bytes; a Spanish 400 for an unknown key.
    ``table="municipios"``: the wide per-municipality table (csv, csv_es) instead of the whole report."""
    return (MUNICIPALITIES if table == "municipios" else REPORT).get(name)


def file_stem(report: BalanceReport, fmt: str, table: str = "informe") -> str:
    """sistema_ciudades_<año>_<base>[_<escenario>][_municipios][_excel]: the download's file name."""
    stem = f"sistema_ciudades_{report.meta['year']}_{report.meta['basis']}"
    if report.meta.get("scenario"):
        stem += f"_{report.meta['scenario']['name']}"
    if table == "municipios":
        stem += "_municipios"
    return stem + ("_excel" if fmt == "csv_es" else "")


def municipality_outlines() -> list:
    """Simplified municipal outlines as lists of rings [[lon, lat], ...] (for the maps)."""
    out = []
    for g in Municipality.objects.order_by("divipola").values_list("geom_simplified", flat=True):
        rings = []
        for poly in g:
            rings.extend([list(map(list, ring.coords)) for ring in poly])
        out.append([[[round(x, 5), round(y, 5)] for x, y in ring] for ring in rings])
    return out
