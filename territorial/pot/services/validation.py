"""Server-side validation of zone geometries: one function, ``validate_features``, run on every save
(editor, import, restore, merge/split), before anything is written.

Every POT rule has a severity (``SEVERITY``): an *error* refuses the save (nothing changes), a *gate*
lets the plan be saved but not submitted — nor approved unless a reviewer waives it in writing —, a
*warning* informs. Unreadable geometry and unknown classes are raised while parsing; the plan-level
rules (``plan_findings``: zones outside the municipality, coverage, gaps, overlaps) are measured on
the stored zones in EPSG:9377 against the thresholds of ONE editable place, the PotRulesSettings row
(admin), read by ``rules()``. ``fit_zones`` clips new or changed zones to the municipality and to the
zones already there (those win), and says how much it cut.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, shape

from geosig import params
from geosig.errors import CRSMismatch, GeoSIGError, InvalidGeometry, InvalidParameter, OutsideValle
from geosig.numbers import area_label, length_label, pct_label
from territorial.pot.classes import check_soil_class, soil_label
from territorial.pot.models import PotRulesSettings, Zone

MIN_ZONE_AREA_M2 = getattr(settings, "GEOSIG_POT_MIN_ZONE_M2", 100.0)  # smaller is a digitising slip
FAR_OUTSIDE_M = 2_000.0  # farther than this from its municipality a zone is a wrong-place error
MIN_REPORT_M2 = 1.0  # below this an overlap/outside part is floating-point noise
GRID_M = 0.01  # metric copies live on a 1 cm grid (robust overlays)

_TO_M = Transformer.from_crs(4326, 9377, always_xy=True)
_TO_DEG = Transformer.from_crs(9377, 4326, always_xy=True)


def to_metres(geom):
    """A shapely geometry (or array) from EPSG:4326 lon/lat to EPSG:9377 metres."""
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_M.transform(xy[:, 0], xy[:, 1])))


def to_degrees(geom):
    """The inverse of ``to_metres``: EPSG:9377 metres to EPSG:4326 lon/lat."""
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_DEG.transform(xy[:, 0], xy[:, 1])))


def to_multi(geom) -> MultiPolygon:
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "GeometryCollection":  # what make_valid/difference may return
        polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        parts = [p for g in polys for p in (g.geoms if g.geom_type == "MultiPolygon" else [g])]
        return MultiPolygon(parts)
    raise InvalidGeometry(_("Se esperaba un polígono y llegó %(type)s.") % {"type": geom.geom_type})


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
    clipped: list[dict] = field(default_factory=list)  # what ``fit_zones`` cut, per zone


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
        raise CRSMismatch(_("No se reconoce el sistema de referencia declarado «%(name)s».") % {"name": name}) from None


def _zone_texts(props: dict) -> dict:
    """The zone's attributes, typed and within the Zone model's max_length (nothing is cut silently).
    Numbers are accepted as text: imported files often store names or codes in numeric fields."""
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
    return (_("Zona n.º %(n)d («%(name)s»)") if name else _("Zona n.º %(n)d")) % {"n": i + 1, "name": name}


def _reason_es(reason: str) -> str:
    m = re.match(r"([^\[]+)\[([-\d.eE+]+) ([-\d.eE+]+)\]", reason)
    where = _(" cerca de (%(x).6f, %(y).6f)") % {"x": float(m.group(2)), "y": float(m.group(3))} if m else ""
    text = m.group(1).strip() if m else reason
    spanish = {
        "Self-intersection": _("el contorno se cruza a sí mismo"),
        "Ring Self-intersection": _("un anillo se toca a sí mismo"),
        "Too few points in geometry component": _("tiene muy pocos vértices"),
        "Hole lies outside shell": _("un hueco queda fuera del contorno"),
        "Nested shells": _("hay contornos anidados"),
        "Interior is disconnected": _("el interior queda desconectado"),
        "Nested holes": _("hay huecos anidados"),
        "Invalid Coordinate": _("hay coordenadas no válidas"),
        "Ring is not closed": _("un anillo no está cerrado"),
    }.get(text, text)
    return str(spanish) + where


def _parse(i: int, feature: dict, transformer):
    try:
        props = params.mapping(feature.get("properties"), "properties")
    except InvalidParameter as exc:  # e.g. "properties": [1] (a list has no .get)
        raise InvalidParameter(_("Zona n.º %(n)d: %(reason)s") % {"n": i + 1, "reason": exc.message}, index=i) from None
    label = _label(i, props)
    geometry = feature.get("geometry")
    if not geometry:
        raise InvalidGeometry(_("%(zone)s: no trae geometría.") % {"zone": label}, index=i)
    try:
        geom = shape(geometry)
    except Exception as exc:  # shapely raises GeometryTypeError/ValueError/TypeError for junk
        raise InvalidGeometry(_("%(zone)s: la geometría GeoJSON no se puede leer (%(error)s).")
                              % {"zone": label, "error": exc}, index=i) from None
    if geom.is_empty:
        raise InvalidGeometry(_("%(zone)s: la geometría está vacía.") % {"zone": label}, index=i)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidGeometry(_("%(zone)s: una zona debe ser un polígono, no %(type)s.") % {"zone": label, "type": geom.geom_type},
                              index=i)
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise InvalidGeometry(_("%(zone)s: hay coordenadas no numéricas.") % {"zone": label}, index=i)
    if transformer is not None:
        geom = shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
        coords = shapely.get_coordinates(geom)
    if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        raise CRSMismatch(
            _("%(zone)s: las coordenadas no son longitud/latitud (p. ej. %(x).0f, %(y).0f); "
              "parecen metros de otro sistema. Declare su CRS (miembro «crs») o envíe EPSG:4326.")
            % {"zone": label, "x": coords[0, 0], "y": coords[0, 1]},
            index=i,
        )
    minx, miny, maxx, maxy = settings.GEOSIG_VALLE_BBOX
    bx = geom.bounds
    if bx[0] < minx or bx[2] > maxx or bx[1] < miny or bx[3] > maxy:
        raise OutsideValle(
            _("%(zone)s: queda fuera del Valle del Cauca (límites %(x0).3f, %(y0).3f – %(x1).3f, %(y1).3f). "
              "¿Coordenadas en orden latitud/longitud o en otro CRS?")
            % {"zone": label, "x0": bx[0], "y0": bx[1], "x1": bx[2], "y1": bx[3]},
            index=i,
        )
    # a bow-tie's signed lobes cancel to area 0 too: only a polygon with nothing to repair is "zero area"
    # (1e-12 deg² ≈ 0.01 m²: collinear vertices rarely cancel to an exact float zero)
    if geom.area < 1e-12 and shapely.make_valid(geom).area < 1e-12:
        raise InvalidGeometry(_("%(zone)s: el polígono no tiene superficie (área cero).") % {"zone": label}, index=i)
    if geom.geom_type == "MultiPolygon" and len(geom.geoms) > 1 and all(p.is_valid for p in geom.geoms):
        parts = np.array(geom.geoms)
        tree = shapely.STRtree(parts)
        a, b = tree.query(parts, predicate="overlaps")
        contained = tree.query(parts, predicate="contains")
        if (a < b).any() or (contained[0] != contained[1]).any():
            raise InvalidGeometry(_("%(zone)s: las partes del multipolígono se superponen entre sí.") % {"zone": label}, index=i)
    if not geom.is_valid:
        raise InvalidGeometry(_("%(zone)s: geometría no válida: %(reason)s.")
                              % {"zone": label, "reason": _reason_es(shapely.is_valid_reason(geom))}, index=i)
    return props, to_multi(geom)


def validate_features(features: list[dict], municipality, crs: CRS | None = None, existing: dict | None = None,
                      fit: bool = False) -> Validation:
    """Parse and check a plan's complete set of zones (``municipality`` is a territorial Municipality).
    With ``fit``, new or changed zones — those whose id is not in ``existing`` ({zone id: (stored EPSG:4326,
    stored EPSG:9377) shapely geometries}) or whose geometry differs — are clipped to the municipality and
    to the others."""
    if not isinstance(features, list):
        raise InvalidParameter(_("Se esperaba una lista de zonas (features de GeoJSON)."))
    transformer = None
    if crs is not None and crs.to_epsg() != 4326 and not crs.equals(CRS.from_user_input("OGC:CRS84")):
        transformer = Transformer.from_crs(crs, 4326, always_xy=True)
    muni_m = to_metres(shapely.from_wkb(bytes(municipality.geom.wkb)))
    out = Validation()
    for i, feature in enumerate(features):
        try:
            out.zones.append(_clean_zone(i, feature, transformer, municipality, muni_m))
        except GeoSIGError as exc:  # the same error, plus the finding shape the editor lists
            rule = "unknown_class" if exc.details.get("field") == "soil_class" else "invalid_geometry"
            exc.details.setdefault("findings", [finding(rule, exc.message, {}, index=i)])
            raise
    if fit:
        out.clipped = fit_zones(out.zones, existing or {}, muni_m)
    return out


def _clean_zone(i: int, feature, transformer, municipality, muni_m) -> CleanZone:
    if not isinstance(feature, dict):
        raise InvalidParameter(_("Zona n.º %(n)d: no es un objeto GeoJSON.") % {"n": i + 1}, index=i)
    props, geom = _parse(i, feature, transformer)
    label = _label(i, props)
    try:
        texts = _zone_texts(props)
    except InvalidParameter as exc:
        raise InvalidParameter(f"{label}: {exc.message}", index=i, **exc.details) from None
    geom_m = to_metres(geom)
    # A 1 cm grid in metres: reprojection can fold near-coincident vertices, and shared edges that
    # differ in the 9th decimal make GEOS predicates throw "side location conflict" later.
    geom_m = to_multi(shapely.set_precision(shapely.make_valid(geom_m, method="structure"), GRID_M))
    area = geom_m.area
    if area < MIN_ZONE_AREA_M2:
        raise InvalidGeometry(
            _("%(zone)s: área de %(area)s, menor que el mínimo de %(min)s.")
            % {"zone": label, "area": area_label(area), "min": area_label(MIN_ZONE_AREA_M2)}, index=i
        )
    distance = geom_m.distance(muni_m)
    if distance > FAR_OUTSIDE_M:
        raise OutsideValle(
            _("%(zone)s: está a %(distance)s del municipio %(municipality)s; dibuje dentro del municipio.")
            % {"zone": label, "distance": length_label(distance), "municipality": municipality.name},
            index=i,
        )
    zone_id = feature.get("id")
    known_id = isinstance(zone_id, (int, str)) and str(zone_id).isdigit() and 0 < int(zone_id) < 2**63
    return CleanZone(index=i, zone_id=int(zone_id) if known_id else None,  # anything else is a new zone
                     **texts, geom=geom, geom_m=geom_m, area_m2=area)


# ------------------------------------------------------------------ fitting
# Two lon/lat geometries with the same vertices within this tolerance are the same drawing: the editor's
# Leaflet rounds coordinates to 6 decimals (≤ 0,06 m), so an untouched zone comes back a hair off.
SAME_GEOMETRY_DEG = 1e-6


def same_geometry(stored, sent) -> bool:
    return shapely.equals_exact(stored, sent, SAME_GEOMETRY_DEG)


def _changed(zone: CleanZone, existing: dict) -> bool:
    old = existing.get(zone.zone_id) if zone.zone_id is not None else None
    return old is None or not same_geometry(old[0], zone.geom)


def fit_zones(zones: list[CleanZone], existing: dict, muni_m) -> list[dict]:
    """Clip each new or changed zone (in the order given) to the municipality and to every zone kept as it
    was or already fitted: the zones already there win. Returns what was cut from each zone (m² and ha);
    a zone left without area is an error naming it."""
    # the zones kept win with their stored metric geometry: what the rules and the conflict analysis measure
    fixed = [existing[z.zone_id][1] for z in zones if not _changed(z, existing)]
    clipped = []
    for z in zones:
        if not _changed(z, existing):
            continue
        # exact overlays of the zone as drawn (not its 1 cm-grid copy): the stored area is then the area of
        # the intersection itself, and the result stays valid (OverlayNG is robust without a grid)
        drawn = shapely.make_valid(to_metres(z.geom))
        inside = shapely.intersection(drawn, muni_m)
        others = shapely.union_all(fixed) if fixed else None
        result = shapely.difference(inside, others) if others is not None else inside
        result = to_multi(shapely.make_valid(result)) if not result.is_empty else MultiPolygon()
        outside_m2 = max(drawn.area - inside.area, 0.0)
        overlap_m2 = max(inside.area - result.area, 0.0)
        if result.area < MIN_ZONE_AREA_M2:
            where = _("fuera del municipio") if inside.area < MIN_ZONE_AREA_M2 else _("bajo otras zonas del plan")
            raise InvalidGeometry(
                _("%(zone)s: queda %(where)s; al ajustarla al límite municipal y a las zonas existentes no le "
                  "queda área (mínimo %(min)s).")
                % {"zone": _label(z.index, {"name": z.name}), "where": where, "min": area_label(MIN_ZONE_AREA_M2)},
                index=z.index, findings=[finding("invalid_geometry", "La zona queda sin área al ajustarla.", {},
                                                 index=z.index)])
        if outside_m2 < MIN_REPORT_M2 and overlap_m2 < MIN_REPORT_M2:
            fixed.append(drawn)  # nothing to cut: the zone stays as drawn
            continue
        z.geom_m = result
        z.geom = to_multi(to_degrees(result))
        z.area_m2 = result.area
        clipped.append({"index": z.index, "zone_id": z.zone_id, "name": z.name,
                        "outside_m2": outside_m2, "outside_ha": outside_m2 / 10_000,
                        "overlap_m2": overlap_m2, "overlap_ha": overlap_m2 / 10_000,
                        "area_m2": z.area_m2,
                        "message": _clip_message(z, outside_m2, overlap_m2)})
        fixed.append(result)
    return clipped


def _clip_message(z: CleanZone, outside_m2: float, overlap_m2: float) -> str:
    cuts = []
    if outside_m2 >= MIN_REPORT_M2:
        cuts.append(_("%(area)s fuera del municipio") % {"area": area_label(outside_m2)})
    if overlap_m2 >= MIN_REPORT_M2:
        cuts.append(_("%(area)s bajo otras zonas del plan") % {"area": area_label(overlap_m2)})
    # the clip report is answered to the request that saved (not stored): the reader's language
    return _("%(zone)s ajustada: se recortaron %(cuts)s; queda de %(area)s.") % {
        "zone": _label(z.index, {"name": z.name}), "cuts": str(_(" y ")).join(cuts), "area": area_label(z.area_m2)}


# ------------------------------------------------------------------ plan rules (findings)
ERROR, GATE, WARNING = "error", "gate", "warning"
RULE_LABELS = {
    "invalid_geometry": _("Geometría no válida"),
    "unknown_class": _("Clase de suelo desconocida"),
    "overlap": _("Zonas superpuestas"),
    "outside_municipality": _("Zona fuera del municipio"),
    "coverage": _("Cobertura del municipio"),
    "gap": _("Hueco entre zonas"),
}
SEVERITY = {"invalid_geometry": ERROR, "unknown_class": ERROR, "overlap": ERROR,
            "outside_municipality": GATE, "coverage": GATE, "gap": GATE}  # gates may come as warnings below
DISPLAY_TOLERANCE_M = 5.0  # the "ver en el mapa" geometry is simplified: a gap's outline can be huge
GAP_NOISE_WIDTH_M = 0.05  # holes thinner than this are the 1 cm storage grid, not planning gaps


def rules() -> dict:
    """The thresholds, from the one editable place (admin: «Umbrales de validación POT»)."""
    r = PotRulesSettings.load()
    return {k: float(getattr(r, k)) for k in ("outside_band_m", "outside_tolerance_m2", "coverage_min_pct",
                                              "gap_gate_m2", "overlap_tolerance_m2")}


def _geojson(geom_m):
    if geom_m is None or geom_m.is_empty:
        return None
    return json.loads(shapely.to_geojson(to_degrees(shapely.simplify(geom_m, DISPLAY_TOLERANCE_M))))


def finding(rule: str, message: str, figures: dict, zone_ids=(), geometry_m=None, severity: str | None = None,
            **extra) -> dict:
    """One finding in the shape the API, the editor and the review queue share (POT-CONTRACT.md)."""
    return {"rule": rule, "severity": severity or SEVERITY[rule], "label": str(RULE_LABELS[rule]),
            "message": message, "figures": figures, "zone_ids": [int(z) for z in zone_ids],
            "geometry": _geojson(geometry_m), "waived": False, "waiver": None, **extra}


@dataclass
class PlanZone:
    """What the plan rules read of a zone (stored or about to be)."""
    zone_id: int | None
    name: str
    soil_class: str
    geom_m: object

    @property
    def label(self) -> str:
        ident = f"#{self.zone_id}" if self.zone_id else "nueva"
        return f"Zona {ident}" + (f" («{self.name}»)" if self.name else "") + f" ({soil_label(self.soil_class)})"


def plan_findings(zones: list[PlanZone], municipality, thresholds: dict | None = None) -> list[dict]:
    """The plan-level POT rules on a complete set of zones, measured in EPSG:9377."""
    t = thresholds or rules()
    muni_m = to_metres(shapely.from_wkb(bytes(municipality.geom.wkb)))
    out = _overlaps(zones, t) + _outside(zones, muni_m, t, municipality)
    out += _coverage_and_gaps(zones, muni_m, t, municipality)
    return out


def _overlaps(zones, t) -> list[dict]:
    if len(zones) < 2:
        return []
    geoms = np.array([z.geom_m for z in zones])
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    out = []
    for x, y in zip(a[keep], b[keep]):
        inter = shapely.intersection(geoms[x], geoms[y], grid_size=GRID_M)
        area = inter.area
        if area < MIN_REPORT_M2:
            continue
        zx, zy = zones[x], zones[y]
        severity = ERROR if area > t["overlap_tolerance_m2"] else WARNING
        out.append(finding(
            "overlap", f"{zx.label} y {zy.label} se superponen en {area_label(area)} "
                       f"(tolerancia {area_label(t['overlap_tolerance_m2'])}).",
            {"value": area, "threshold": t["overlap_tolerance_m2"], "unit": "m2"},
            [z.zone_id for z in (zx, zy) if z.zone_id], inter, severity=severity))
    return out


def _outside(zones, muni_m, t, municipality) -> list[dict]:
    band = muni_m.buffer(t["outside_band_m"]) if t["outside_band_m"] > 0 else muni_m
    out = []
    for z in zones:
        outside = shapely.difference(z.geom_m, muni_m, grid_size=GRID_M)
        if outside.area < MIN_REPORT_M2:
            continue
        beyond = shapely.difference(z.geom_m, band, grid_size=GRID_M)
        area = z.geom_m.area
        pct = 100 * outside.area / area
        gate = beyond.area > t["outside_tolerance_m2"]
        out.append(finding(
            "outside_municipality",
            f"{z.label}: {area_label(outside.area)} ({pct_label(pct)}) quedan fuera del límite municipal de "
            f"{municipality.name}; {area_label(beyond.area)} más allá de la franja de {length_label(t['outside_band_m'])} "
            f"que absorbe la generalización del límite (MGN 2021), tolerancia {area_label(t['outside_tolerance_m2'])}.",
            {"value": beyond.area, "threshold": t["outside_tolerance_m2"], "unit": "m2", "outside_m2": outside.area,
             "pct_zone": pct, "band_m": t["outside_band_m"]},
            [z.zone_id] if z.zone_id else [], outside, severity=GATE if gate else WARNING))
    return out


def _coverage_and_gaps(zones, muni_m, t, municipality) -> list[dict]:
    muni_area = muni_m.area
    union = shapely.union_all([z.geom_m for z in zones], grid_size=GRID_M) if zones else MultiPolygon()
    covered = shapely.intersection(union, muni_m, grid_size=GRID_M).area if zones else 0.0
    pct = 100 * covered / muni_area
    out = []
    if pct < t["coverage_min_pct"]:
        out.append(finding(
            "coverage", f"Las zonas cubren {pct_label(pct)} de {municipality.name} ({area_label(covered)} de "
                        f"{area_label(muni_area)}): quedan {area_label(muni_area - covered)} sin clase de suelo; "
                        f"el mínimo es {pct_label(t['coverage_min_pct'])}.",
            {"value": pct, "threshold": t["coverage_min_pct"], "unit": "%", "covered_m2": covered,
             "municipality_m2": muni_area, "uncovered_m2": muni_area - covered},
            geometry_m=shapely.difference(muni_m, union, grid_size=GRID_M) if zones else muni_m))
    for hole in _holes(union):
        area = hole.area
        if area < MIN_REPORT_M2 or 2 * area / hole.length < GAP_NOISE_WIDTH_M:
            continue
        gate = area > t["gap_gate_m2"]
        out.append(finding(
            "gap", f"Hueco sin zona de {area_label(area)} rodeado por zonas del plan "
                   f"({'mayor' if gate else 'menor'} que el máximo de {area_label(t['gap_gate_m2'])}).",
            {"value": area, "threshold": t["gap_gate_m2"], "unit": "m2"}, geometry_m=hole,
            severity=GATE if gate else WARNING))
    return out


def _holes(union) -> list:
    polys = union.geoms if union.geom_type in ("MultiPolygon", "GeometryCollection") else [union]
    return [shapely.Polygon(ring) for p in polys if p.geom_type == "Polygon" for ring in p.interiors]
