"""Server-side validation of zone geometries: one function, ``validate_features``, run on every save
(editor, import, restore, merge/split), before anything is written.

Errors (the save is refused, nothing changes) are raised; findings that the issue asks to *report*
rather than refuse — a part outside the municipality, overlaps with other zones of the plan — come
back as warnings, with areas in m² measured in EPSG:9377.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.conf import settings
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, shape

from geosig import params
from geosig.errors import CRSMismatch, InvalidGeometry, InvalidParameter, OutsideValle
from territorial.pot.classes import check_soil_class

MIN_ZONE_AREA_M2 = getattr(settings, "GEOSIG_POT_MIN_ZONE_M2", 100.0)  # smaller is a digitising slip
FAR_OUTSIDE_M = 2_000.0  # farther than this from its municipality a zone is a wrong-place error
MIN_REPORT_M2 = 1.0  # below this an overlap/outside part is floating-point noise
GRID_M = 0.01  # metric copies live on a 1 cm grid (robust overlays)

_TO_M = Transformer.from_crs(4326, 9377, always_xy=True)


def to_metres(geom):
    """A shapely geometry (or array) from EPSG:4326 lon/lat to EPSG:9377 metres."""
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_M.transform(xy[:, 0], xy[:, 1])))


def to_multi(geom) -> MultiPolygon:
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "GeometryCollection":  # what make_valid/difference may return
        polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        parts = [p for g in polys for p in (g.geoms if g.geom_type == "MultiPolygon" else [g])]
        return MultiPolygon(parts)
    raise InvalidGeometry(f"Se esperaba un polígono y llegó {geom.geom_type}.")


@dataclass
class CleanZone:
    index: int
    zone_id: int | None
    soil_class: str
    use_category: str
    name: str
    notes: str
    geom: MultiPolygon  # EPSG:4326
    geom_m: MultiPolygon  # EPSG:9377
    area_m2: float


@dataclass
class Validation:
    zones: list[CleanZone] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)


def declared_crs(collection: dict) -> CRS | None:
    crs = collection.get("crs") if isinstance(collection, dict) else None
    if not crs:
        return None
    # GeoJSON 2008 form {"type": "name", "properties": {"name": "EPSG:9377"}} or the bare name
    name = params.mapping(crs.get("properties"), "crs.properties").get("name") if isinstance(crs, dict) else crs
    name = params.text(str(name) if isinstance(name, int) else name, "crs", max_length=200, required=True)
    try:
        return CRS.from_user_input(name)
    except Exception:  # pyproj raises CRSError and others for junk
        raise CRSMismatch(f"No se reconoce el sistema de referencia declarado «{name}».") from None


def _zone_texts(props: dict) -> dict:
    """The zone's attributes, typed and within the Zone model's max_length (nothing is cut silently).
    Numbers are accepted as text: imported files often store names or codes in numeric fields."""
    from territorial.pot.models import Zone

    def value(key):
        v = props.get(key)
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    return {
        "soil_class": check_soil_class(params.model_text(value("soil_class"), "soil_class", Zone)),
        "use_category": params.model_text(value("use_category"), "use_category", Zone),
        "name": params.model_text(value("name"), "name", Zone),
        "notes": params.text(value("notes"), "notes", max_length=5000, multiline=True, default=""),
    }


def _label(i: int, props: dict) -> str:
    name = str(props.get("name") or "")
    name = name if len(name) <= 60 else name[:59] + "…"  # a label, not the value: the value is checked apart
    return f"Zona n.º {i + 1}" + (f" («{name}»)" if name else "")


def _reason_es(reason: str) -> str:
    m = re.match(r"([^\[]+)\[([-\d.eE+]+) ([-\d.eE+]+)\]", reason)
    where = f" cerca de ({float(m.group(2)):.6f}, {float(m.group(3)):.6f})" if m else ""
    text = m.group(1).strip() if m else reason
    spanish = {
        "Self-intersection": "el contorno se cruza a sí mismo",
        "Ring Self-intersection": "un anillo se toca a sí mismo",
        "Too few points in geometry component": "tiene muy pocos vértices",
        "Hole lies outside shell": "un hueco queda fuera del contorno",
        "Nested shells": "hay contornos anidados",
        "Interior is disconnected": "el interior queda desconectado",
        "Nested holes": "hay huecos anidados",
        "Invalid Coordinate": "hay coordenadas no válidas",
        "Ring is not closed": "un anillo no está cerrado",
    }.get(text, text)
    return spanish + where


def _parse(i: int, feature: dict, transformer):
    try:
        props = params.mapping(feature.get("properties"), "properties")
    except InvalidParameter as exc:  # e.g. "properties": [1] (a list has no .get)
        raise InvalidParameter(f"Zona n.º {i + 1}: {exc.message}", index=i) from None
    label = _label(i, props)
    geometry = feature.get("geometry")
    if not geometry:
        raise InvalidGeometry(f"{label}: no trae geometría.", index=i)
    try:
        geom = shape(geometry)
    except Exception as exc:  # shapely raises GeometryTypeError/ValueError/TypeError for junk
        raise InvalidGeometry(f"{label}: la geometría GeoJSON no se puede leer ({exc}).", index=i) from None
    if geom.is_empty:
        raise InvalidGeometry(f"{label}: la geometría está vacía.", index=i)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidGeometry(f"{label}: una zona debe ser un polígono, no {geom.geom_type}.", index=i)
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise InvalidGeometry(f"{label}: hay coordenadas no numéricas.", index=i)
    if transformer is not None:
        geom = shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
        coords = shapely.get_coordinates(geom)
    if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        raise CRSMismatch(
            f"{label}: las coordenadas no son longitud/latitud (p. ej. {coords[0, 0]:.0f}, {coords[0, 1]:.0f}); "
            "parecen metros de otro sistema. Declare su CRS (miembro «crs») o envíe EPSG:4326.",
            index=i,
        )
    minx, miny, maxx, maxy = settings.GEOSIG_VALLE_BBOX
    bx = geom.bounds
    if bx[0] < minx or bx[2] > maxx or bx[1] < miny or bx[3] > maxy:
        raise OutsideValle(
            f"{label}: queda fuera del Valle del Cauca (límites {bx[0]:.3f}, {bx[1]:.3f} – {bx[2]:.3f}, {bx[3]:.3f}). "
            "¿Coordenadas en orden latitud/longitud o en otro CRS?",
            index=i,
        )
    # a bow-tie's signed lobes cancel to area 0 too: only a polygon with nothing to repair is "zero area"
    # (1e-12 deg² ≈ 0.01 m²: collinear vertices rarely cancel to an exact float zero)
    if geom.area < 1e-12 and shapely.make_valid(geom).area < 1e-12:
        raise InvalidGeometry(f"{label}: el polígono no tiene superficie (área cero).", index=i)
    if geom.geom_type == "MultiPolygon" and len(geom.geoms) > 1 and all(p.is_valid for p in geom.geoms):
        parts = np.array(geom.geoms)
        tree = shapely.STRtree(parts)
        a, b = tree.query(parts, predicate="overlaps")
        contained = tree.query(parts, predicate="contains")
        if (a < b).any() or (contained[0] != contained[1]).any():
            raise InvalidGeometry(f"{label}: las partes del multipolígono se superponen entre sí.", index=i)
    if not geom.is_valid:
        raise InvalidGeometry(f"{label}: geometría no válida: {_reason_es(shapely.is_valid_reason(geom))}.", index=i)
    return props, to_multi(geom)


def validate_features(features: list[dict], municipality, crs: CRS | None = None) -> Validation:
    """Check a plan's complete set of zones. ``municipality`` is a territorial Municipality."""
    if not isinstance(features, list):
        raise InvalidParameter("Se esperaba una lista de zonas (features de GeoJSON).")
    transformer = None
    if crs is not None and crs.to_epsg() != 4326 and not crs.equals(CRS.from_user_input("OGC:CRS84")):
        transformer = Transformer.from_crs(crs, 4326, always_xy=True)
    muni = shapely.from_wkb(bytes(municipality.geom.wkb))
    muni_m = to_metres(muni)
    out = Validation()
    for i, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise InvalidParameter(f"Zona n.º {i + 1}: no es un objeto GeoJSON.", index=i)
        props, geom = _parse(i, feature, transformer)
        label = _label(i, props)
        try:
            texts = _zone_texts(props)
        except InvalidParameter as exc:
            raise InvalidParameter(f"{label}: {exc.message}", index=i) from None
        geom_m = to_metres(geom)
        # A 1 cm grid in metres: reprojection can fold near-coincident vertices, and shared edges that
        # differ in the 9th decimal make GEOS predicates throw "side location conflict" later.
        geom_m = to_multi(shapely.set_precision(shapely.make_valid(geom_m, method="structure"), GRID_M))
        area = geom_m.area
        if area < MIN_ZONE_AREA_M2:
            raise InvalidGeometry(
                f"{label}: área de {area:,.1f} m², menor que el mínimo de {MIN_ZONE_AREA_M2:,.0f} m².", index=i
            )
        distance = geom_m.distance(muni_m)
        if distance > FAR_OUTSIDE_M:
            raise OutsideValle(
                f"{label}: está a {distance / 1000:,.1f} km del municipio {municipality.name}; "
                "dibuje dentro del municipio.",
                index=i,
            )
        outside = geom_m.difference(muni_m).area
        if outside >= MIN_REPORT_M2:
            out.warnings.append({
                "kind": "fuera_del_municipio", "index": i, "zone_id": feature.get("id"),
                "area_m2": outside, "pct_zone": 100 * outside / area,
                "message": f"{label}: {outside:,.0f} m² ({100 * outside / area:.1f} %) quedan fuera del límite "
                           f"municipal (MGN 2021, generalizado: puede ser un desajuste del límite).",
            })
        zone_id = feature.get("id")
        known_id = isinstance(zone_id, (int, str)) and str(zone_id).isdigit() and 0 < int(zone_id) < 2**63
        out.zones.append(CleanZone(
            index=i, zone_id=int(zone_id) if known_id else None,  # anything else is a new zone
            **texts, geom=geom, geom_m=geom_m, area_m2=area,
        ))
    if len(out.zones) > 1:
        geoms = np.array([z.geom_m for z in out.zones])
        tree = shapely.STRtree(geoms)
        a, b = tree.query(geoms, predicate="intersects")
        keep = a < b
        inter = shapely.area(shapely.intersection(geoms[a[keep]], geoms[b[keep]]))
        for x, y, area in zip(a[keep], b[keep], inter):
            if area >= MIN_REPORT_M2:
                zx, zy = out.zones[x], out.zones[y]
                out.warnings.append({
                    "kind": "superposicion", "index": int(x), "other_index": int(y), "area_m2": float(area),
                    "message": f"Zonas n.º {x + 1} y n.º {y + 1} se superponen en {area:,.0f} m² "
                               f"({zx.soil_class} / {zy.soil_class}).",
                })
    return out
