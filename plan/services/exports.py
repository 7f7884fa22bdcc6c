"""Downloads of the published portfolio: CSV (Excel in Spanish), XLSX, GeoPackage, GeoJSON and a standalone
HTML map (the project's Leaflet and a small map script inlined, works offline; no folium)."""
from __future__ import annotations

import json

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from geosig import formats
from geosig.errors import InvalidParameter
from plan.services import queries, semaphore

PROJECT_COLUMNS = ["codigo", "nombre", "demo", "dimension", "linea", "programa", "entidad", "plazo", "estado",
                   "inicio", "fin", "avance_pct", "avance_esperado_pct", "semaforo", "peso", "municipios",
                   "subregiones", "presupuesto_total_cop", "fuente"]
GOAL_COLUMNS = ["codigo", "meta", "demo", "programa", "entidad", "indicador", "unidad", "linea_base", "anio_base",
                "fuente_base", "valor_meta", "anio_meta", "ultimo_valor", "fecha_ultimo", "avance_pct",
                "avance_esperado_pct", "semaforo"]
BUDGET_COLUMNS = ["codigo_proyecto", "anio", "fuente_financiacion", "valor_cop"]


def _project_row(d: dict) -> list:
    return [d["code"], d["name"], "DEMO" if d["is_demo"] else "", (d["dimension"] or {}).get("name", ""),
            d["line"]["name"], d["program"]["name"], d["entity"]["name"], d["term_label"], d["status_label"],
            d["start_date"] or "", d["end_date"] or "", d["progress"], d["expected_pct"], d["semaphore_label"],
            d["weight"], "|".join(m["divipola"] for m in d["municipalities"]),
            "|".join(s["name"] for s in d["subregions"]), d["budget_total_cop"], d["source"]]


def _goal_row(g: dict) -> list:
    last = g["latest"] or {}
    return [g["code"], g["name"], "DEMO" if g["is_demo"] else "", g["program"]["name"], g["entity"]["name"],
            g["indicator"], g["unit"], g["baseline"]["value"], g["baseline"]["year"], g["baseline"]["source"],
            g["target"]["value"], g["target"]["year"], last.get("value"), last.get("date"), g["progress_pct"],
            g["expected_pct"], g["semaphore_label"]]


def collect(projects_qs, goals_qs) -> dict:
    th, today = semaphore.thresholds(), timezone.localdate()
    projects = [(p, queries.project_dict(p, th, today)) for p in projects_qs]
    goals = [queries.goal_dict(g, th) for g in goals_qs]
    return {"projects": projects, "goals": goals, "demo": any(d["is_demo"] for _p, d in projects)}


def _table(data) -> formats.Table:
    return formats.Table(PROJECT_COLUMNS, [_project_row(d) for _p, d in data["projects"]], bom=True)


def _sheets(data) -> list:
    budgets = [[d["code"], b["year"], b["funding_source"], b["amount_cop"]]
               for _p, d in data["projects"] for b in d["budgets"]]
    return [formats.Sheet(_("Proyectos"), [PROJECT_COLUMNS] + [_project_row(d) for _p, d in data["projects"]], 1),
            formats.Sheet(_("Presupuesto"), [BUDGET_COLUMNS] + budgets, 1),
            formats.Sheet(_("Metas"), [GOAL_COLUMNS] + [_goal_row(g) for g in data["goals"]], 1)]


def _frame(data):
    import geopandas as gpd
    from shapely import wkb

    rows = [_project_row(d) for _p, d in data["projects"]]
    geoms = [wkb.loads(bytes(p.geom.wkb)) if p.geom else None for p, _d in data["projects"]]
    return gpd.GeoDataFrame(rows, columns=PROJECT_COLUMNS, geometry=geoms, crs=4326)


def _layers(data) -> dict:
    return {"proyectos_plan": _frame(data)}


def _html(data) -> str:
    features = [{"type": "Feature", "geometry": json.loads(p.geom.geojson) if p.geom else None,
                 "properties": {k: d[k] for k in ("code", "name", "is_demo", "status", "status_label", "progress",
                                                  "semaphore", "semaphore_label", "term_label")}
                 | {"entity": d["entity"]["name"], "program": d["program"]["name"]}}
                for p, d in data["projects"]]
    return render_to_string("plan/portfolio_map.html", {
        "projects": [d for _p, d in data["projects"]], "demo": data["demo"],
        "generated": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        "map_data": {"type": "FeatureCollection", "features": features},
        "leaflet_css": formats.static_text("leaflet/leaflet.css"), "leaflet_js": formats.static_text("leaflet/leaflet.js"),
        "map_js": formats.static_text("plan/portfolio_map.js")})


OFFER = formats.Offer(csv_es=_table, xlsx=_sheets, gpkg=_layers, geojson=_layers, html=_html)
PATH_FORMATS = {"csv": "csv_es", "xlsx": "xlsx", "gpkg": "gpkg", "geojson": "geojson", "html": "html"}


def render(fmt: str, projects_qs, goals_qs):
    key = PATH_FORMATS.get(fmt)
    if key is None:
        raise InvalidParameter(_("Formato desconocido «%(f)s»; válidos: %(v)s.") % {"f": fmt, "v": ", ".join(PATH_FORMATS)})
    data = collect(projects_qs, goals_qs)
    body, f = OFFER.render(key, data)
    stem = ("DEMO_" if data["demo"] else "") + "portafolio_plan"
    return body, stem, f
