"""Default styles of layers: categorised or graduated colours for vectors, colour ramps for rasters.

A style is plain JSON stored in ``Layer.style``; the web map, the legends and the PNG tile renderer all
read the same dict, so a style edited in the admin changes every view at once.
"""
from __future__ import annotations

import numpy as np

PALETTE = [
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
    "#a6761d", "#1f78b4", "#b15928", "#6a3d9a", "#33a02c", "#fb9a99",
]
MAX_CATEGORIES = len(PALETTE)
SINGLE = {"point": "#c51b7d", "line": "#2166ac", "polygon": "#1b9e77"}

# Raster ramps: name → colours spread evenly between the layer's min and max.
RAMPS = {
    "elevacion": ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#b2653b", "#f5f5f5"],
    "pendiente": ["#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"],
    "viridis": ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"],
}


def categorized(geometry_type: str, field: str, values: list[str]) -> dict:
    classes = [
        {"value": v, "label": v or "(sin valor)", "color": PALETTE[i % len(PALETTE)]} for i, v in enumerate(values)
    ]
    return {"type": "categorized", "geometry": geometry_type, "field": field, "classes": classes,
            "default_color": "#888888", **_strokes(geometry_type)}


def graduated(geometry_type: str, field: str, breaks: list[float], ramp: str = "viridis") -> dict:
    colours = _sample(RAMPS[ramp], len(breaks) - 1)
    classes = [{"min": breaks[i], "max": breaks[i + 1], "color": colours[i],
                "label": f"{breaks[i]:g} – {breaks[i + 1]:g}"} for i in range(len(breaks) - 1)]
    return {"type": "graduated", "geometry": geometry_type, "field": field, "classes": classes,
            "default_color": "#888888", **_strokes(geometry_type)}


def single(geometry_type: str, color: str | None = None, label: str = "") -> dict:
    return {"type": "single", "geometry": geometry_type, "color": color or SINGLE.get(geometry_type, "#555"),
            "label": label, **_strokes(geometry_type)}


def ramp(vmin: float, vmax: float, name: str = "elevacion", unit: str = "") -> dict:
    if name not in RAMPS:
        raise ValueError(f"rampa desconocida {name}; válidas: {', '.join(RAMPS)}")
    colours = RAMPS[name]
    values = np.linspace(vmin, vmax, len(colours))
    return {"type": "ramp", "ramp": name, "unit": unit,
            "stops": [[round(float(v), 3), c] for v, c in zip(values, colours)]}


def legend(style: dict) -> list[dict]:
    """[{color, label}] for the map legend."""
    kind = style.get("type")
    if kind in ("categorized", "graduated"):
        return [{"color": c["color"], "label": c["label"]} for c in style["classes"]]
    if kind == "ramp":
        unit = style.get("unit", "")
        return [{"color": c, "label": f"{v:g} {unit}".strip()} for v, c in style["stops"]]
    if kind == "single":
        return [{"color": style["color"], "label": style.get("label", "")}]
    return []


def apply_ramp(values: np.ma.MaskedArray, style: dict) -> np.ndarray:
    """RGBA uint8 image of a masked 2-D array through the style's colour stops (masked → transparent)."""
    stops = style["stops"]
    xs = np.array([s[0] for s in stops], dtype="float64")
    rgb = np.array([_hex(s[1]) for s in stops], dtype="float64")
    data = np.ma.getdata(values).astype("float64")
    out = np.zeros(data.shape + (4,), dtype="uint8")
    for ch in range(3):
        out[..., ch] = np.interp(data, xs, rgb[:, ch]).round().astype("uint8")
    out[..., 3] = np.where(np.ma.getmaskarray(values), 0, 255)
    return out


def _strokes(geometry_type: str) -> dict:
    return {"weight": 2 if geometry_type == "line" else 1, "fill_opacity": 0.5, "radius": 4}


def _hex(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _sample(colours: list[str], n: int) -> list[str]:
    if n <= 1:
        return colours[:1]
    idx = np.linspace(0, len(colours) - 1, n).round().astype(int)
    return [colours[i] for i in idx]
