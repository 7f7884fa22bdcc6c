"""Conflict reports in json, csv, gpkg, html and pdf from one ConflictReport (written by geosig.formats)."""
from __future__ import annotations

import base64
import io

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")  # no display: draw to files
import matplotlib.pyplot as plt  # noqa: E402
import shapely  # noqa: E402
from shapely.geometry import shape  # noqa: E402

from django.template.loader import render_to_string
from django.utils import timezone

from geosig import formats
from territorial.models import Municipality
from territorial.pot.services.conflicts import KIND_LABELS

CSV_COLUMNS = ["kind", "verdict", "municipality", "municipality_name", "plan_id", "plan_name", "plan_version", "is_demo",
               "zone_id", "soil_class", "other_zone_id", "other_class", "other_plan_id", "determinant",
               "area_m2", "pct_zone", "message"]
KIND_COLORS = {"superposicion": "#e31a1c", "hueco": "#6a3d9a", "astilla": "#cab2d6", "vecino_incompatible": "#ff7f00",
               "cruza_limite": "#1f78b4", "desajuste_limite": "#a6cee3", "determinante": "#b15928"}


def _table(report) -> formats.Table:
    # first the plans read (kind «plan_analizado»): the file names its plans and versions even without findings
    analysed = [{"kind": "plan_analizado", "verdict": "ámbito" if p in report.plans else "vecino",
                 "municipality": p["municipality"], "municipality_name": p["municipality_name"], "plan_id": p["id"],
                 "plan_name": p["name"], "plan_version": p["version"], "is_demo": p["is_demo"],
                 "message": f"versión {p['version']} ({p['status_label']})"} for p in report.plans + report.neighbours]
    rows = analysed + [{k: (round(f[k], 2) if isinstance(f.get(k), float) else f.get(k)) for k in CSV_COLUMNS}
                       for f in report.findings]
    return formats.Table(CSV_COLUMNS, rows)


def _data(report) -> dict:
    return report.as_dict()


def findings_frame(report):
    rows = [f for f in report.load_geometry(report.findings) if f.get("geometry")]
    data = {c: [r.get(c) for r in rows] for c in CSV_COLUMNS}
    geoms = [shape(r["geometry"]) for r in rows]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=4326)


def _layers(report) -> dict:
    """One GeoPackage layer per finding kind (multipolygons) and a table ``resumen`` with the counts."""
    gdf = findings_frame(report)
    layers = {}
    for kind, part in gdf.groupby("kind"):
        part = part.copy()
        part["geometry"] = part.geometry.apply(_as_multipolygon)
        layers[kind] = part
    summary = report.summary()
    n = max(1, len(summary))
    layers["resumen"] = gpd.GeoDataFrame({"kind": [s["kind"] for s in summary] or ["(ninguno)"],
                                          "count": [s["count"] for s in summary] or [0],
                                          "area_m2": [s["area_m2"] for s in summary] or [0.0],
                                          "is_demo": [report.has_demo] * n},
                                         geometry=[None] * n, crs=4326)
    # which plans, in which version, the findings come from (scope and cross-border neighbours)
    analysed = [dict(p, role="ámbito") for p in report.plans] + [dict(p, role="vecino") for p in report.neighbours]
    cols = ["role", "id", "name", "municipality", "municipality_name", "version", "status", "is_demo"]
    layers["planes"] = gpd.GeoDataFrame({c: [p[c] for p in analysed] for c in cols},
                                        geometry=[None] * len(analysed), crs=4326)
    return layers


def _as_multipolygon(g):
    polys = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
    for p in shapely.get_parts(g):
        if p.geom_type == "MultiPolygon":
            polys.extend(p.geoms)
    return shapely.MultiPolygon(polys) if polys else None


def map_png(report) -> str | None:
    """A static overview map (base64 PNG) for the HTML/PDF report: municipalities + findings."""
    gdf = findings_frame(report)
    if not len(gdf):
        return None
    fig, ax = plt.subplots(figsize=(7, 7), dpi=110)
    codes = {p["municipality"] for p in report.plans}
    munis = Municipality.objects.filter(divipola__in=codes) if report.scope != "department" else Municipality.objects.all()
    for m in munis:
        g = shapely.from_wkb(bytes(m.geom_simplified.wkb))
        for poly in shapely.get_parts(g):
            x, y = poly.exterior.xy
            ax.plot(x, y, color="#555", lw=0.5)
    for kind, part in gdf.groupby("kind"):
        part.plot(ax=ax, color=KIND_COLORS.get(kind, "#000"), alpha=0.8, label=kind)
    ax.set_aspect("equal")
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _html_text(report, with_map=True):
    ctx = {"r": report, "data": report.as_dict(with_geometry=False), "generated": timezone.now(),
           "map_png": map_png(report) if with_map else None, "kind_labels": KIND_LABELS}
    return render_to_string("territorial/pot/report.html", ctx)


# The report's formats; content types, extensions and writers come from geosig.formats.
REPORT = formats.Offer(json=_data, csv=_table, gpkg=_layers, html=_html_text, pdf=_html_text)
FORMATS = REPORT.keys


def render_report(report, fmt: str) -> tuple[bytes, formats.Format]:
    """The report as a file of format ``fmt``: (bytes, the registry's Format); a Spanish 400 if unknown."""
    return REPORT.render(fmt, report)
