"""Charts of the balance report as inline SVG (matplotlib, Agg backend): the page, the HTML file and the
PDF all embed the same drawings, so no chart library or network access is needed."""
from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from django.utils.translation import gettext as _  # noqa: E402

from cities.services.balance import BalanceReport  # noqa: E402
from geosig.numbers import number, pct_label  # noqa: E402

plt.rcParams.update({"font.size": 9, "svg.fonttype": "none", "axes.spines.top": False, "axes.spines.right": False})


def _svg(fig, fmt: str = "svg") -> str:
    """Inline markup: an <svg> element (page, HTML file) or a PNG <img> data URI (PDF: WeasyPrint renders
    PNG faster and without warnings about matplotlib's SVG styles)."""
    if fmt == "png":
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
        plt.close(fig)
        return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog/doctype: the SVG is inlined into HTML


def rank_size_svg(r: BalanceReport, fmt: str = "svg") -> str:
    pts = r.rank_size["points"]
    rank = np.array([p["rank"] for p in pts], float)
    size = np.array([p["size"] for p in pts], float)
    gi, ols = r.rank_size["gabaix_ibragimov"], r.rank_size["ols"]
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    ax.loglog(rank, size, "o", ms=4, color="#0b6e4f", label=_("cabeceras"))
    for i, p in enumerate(pts[:5]):
        ax.annotate(p["name"], (rank[i], size[i]), xytext=(4, 2), textcoords="offset points", fontsize=7)
    xs = np.linspace(size.min(), size.max(), 50)
    # ln(r − shift) = a − b ln S  →  r = shift + exp(a)·S^−b
    ax.loglog(0.5 + np.exp(gi["intercept"]) * xs ** -gi["exponent"], xs, "-", color="#d95f02",
              label=f"Gabaix–Ibragimov: b = {number(gi['exponent'], 3)} [{number(gi['ci_low'], 3)}; {number(gi['ci_high'], 3)}]")
    ax.loglog(np.exp(ols["intercept"]) * xs ** -ols["exponent"], xs, "--", color="#7570b3",
              label=_("MCO: b = %(b)s, R² = %(r2)s") % {"b": number(ols["exponent"], 3), "r2": number(ols["r2"], 3)})
    ax.set_xlabel(_("Rango (escala log)"))
    ax.set_ylabel(_("Población, %(unit)s (escala log)") % {"unit": r.meta.get("population_unit", _("hab"))})
    ax.set_title(_("Rango-tamaño, %(label)s") % {"label": r.meta.get("label_short", "")}, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return _svg(fig, fmt)


def lorenz_svg(r: BalanceReport, fmt: str = "svg") -> str:
    x, y = np.array(r.lorenz["x"], float), np.array(r.lorenz["y"], float)
    fig, ax = plt.subplots(figsize=(3.8, 3.6))
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, label=_("igualdad"))
    ax.plot(x, y, color="#0b6e4f", lw=1.6, label=f"Lorenz (Gini = {number(r.lorenz['gini'], 3)})")
    ax.fill_between(x, y, x, color="#0b6e4f", alpha=0.12)
    ax.set_xlabel(_("Proporción acumulada de ciudades"))
    ax.set_ylabel(_("Proporción acumulada de población"))
    ax.set_aspect("equal")
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return _svg(fig, fmt)


def theil_svg(r: BalanceReport, fmt: str = "svg") -> str:
    t = r.theil
    fig, ax = plt.subplots(figsize=(4.2, 1.6))
    ax.barh([0], [t["between"]], color="#d95f02", label=_("entre subregiones (%(pct)s)") % {"pct": pct_label(100 * t["between_share"])})
    ax.barh([0], [t["within"]], left=[t["between"]], color="#1b9e77", label=_("dentro de subregiones"))
    ax.set_yticks([])
    ax.set_xlabel(_("Theil T = %(t)s (p entre = %(p)s)") % {"t": number(t["total"], 3), "p": number(t["p_value"], 3)})
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.55), ncol=2)
    return _svg(fig, fmt)


def map_svg(r: BalanceReport, outlines=None, fmt: str = "svg", roads=None) -> str:
    """Static map for the PDF: municipality outlines (GeoJSON-like polygons), cabeceras sized by population,
    centros poblados as dots, network links weighted by gravity."""
    pts = {c["code"]: c for c in r.meta.get("map", [])}
    fig, ax = plt.subplots(figsize=(5.5, 6.2))
    for poly in outlines or []:
        for ring in poly:
            xy = np.asarray(ring)
            ax.plot(xy[:, 0], xy[:, 1], color="#b8c4c8", lw=0.5)
    for k, road in enumerate(roads or []):
        xy = np.asarray(road["coords"])
        ax.plot(xy[:, 0], xy[:, 1], color="#1f78b4", lw=0.8, alpha=0.7, label=_("red vial nacional") if k == 0 else None)
    for lk in r.links:
        a, b = pts.get(lk["a"]), pts.get(lk["b"])
        if a and b:
            ax.plot([a["lon"], b["lon"]], [a["lat"], b["lat"]], color="#d95f02",
                    lw=0.4 + 3 * (lk["gravity_rel"] or 0) ** 0.5, alpha=0.6)
    if r.places:
        ax.scatter([p["lon"] for p in r.places], [p["lat"] for p in r.places], s=2, color="#777", label=_("centros poblados"))
    pop = np.array([c["population"] for c in pts.values()])
    ax.scatter([c["lon"] for c in pts.values()], [c["lat"] for c in pts.values()], s=8 + 600 * np.sqrt(pop / pop.max()),
               color="#0b6e4f", alpha=0.7, edgecolor="white", lw=0.5, label=_("cabeceras (área ∝ población)"))
    ax.set_aspect(1 / np.cos(np.radians(4)))
    ax.set_axis_off()
    ax.legend(fontsize=7, frameon=False, loc="lower left", markerscale=0.4)
    return _svg(fig, fmt)


def trend_svg(r: BalanceReport, fmt: str = "svg") -> str:
    """Gini, primate share and the between-subregion share of Theil, year by year (scenario point dashed)."""
    rows = r.trend.rows
    labels = [row["year"] for row in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(6.2, 2.8))
    for key, lab, color, scale in (("gini", "Gini", "#0b6e4f", 100), ("primate_share_pct", _("Participación de la ciudad principal (%)"),
                                                                          "#d95f02", 1),
                                   ("theil_between_pct", _("Theil entre subregiones (%)"), "#7570b3", 1)):
        y = np.array([row[key] for row in rows], float) * scale
        obs = np.array([lab_.isdigit() for lab_ in labels])
        ax.plot(x[obs], y[obs], "o-", ms=3, color=color, label=lab + (" ×100" if scale == 100 else ""))
        if (~obs).any():
            last = np.flatnonzero(obs)[-1]
            ax.plot([x[last], x[~obs][0]], [y[last], y[~obs][0]], "o--", ms=3, color=color)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    ax.legend(fontsize=7, frameon=False, ncol=3, loc="upper center", bbox_to_anchor=(0.5, 1.18))
    ax.set_ylabel("%")
    return _svg(fig, fmt)
