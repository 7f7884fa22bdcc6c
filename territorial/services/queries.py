"""Read-side services of the territorial registry: what the API, the map and the downloads show."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point, Polygon
from django.db import connection
from django.db.models import OuterRef, Subquery

from geosig import params
from geosig.errors import InvalidParameter, NotFound
from territorial.models import Indicator, IndicatorReference, IndicatorValue, Municipality, Subregion

CENSUS_YEAR = 2018
POPULATION = "poblacion_total"
COORD_DECIMALS = 5  # ~1 m: enough for department-scale maps, keeps the payload small


def municipalities_queryset(subregion: str | None = None, bbox=None):
    """``bbox``: ``minlon,minlat,maxlon,maxlat`` as text or 4 numbers (checked by ``geosig.params.bbox``)."""
    qs = Municipality.objects.select_related("subregion")
    subregion = params.text(subregion, "subregion", max_length=60)
    if subregion:
        sub = Subregion.objects.filter(code=subregion.lower()).first() or Subregion.objects.filter(
            name__iexact=subregion
        ).first()
        if sub is None:
            valid = ", ".join(Subregion.objects.values_list("code", flat=True))
            raise InvalidParameter(f"Subregión desconocida {subregion!r}. Válidas: {valid}.")
        qs = qs.filter(subregion=sub)
    box = params.bbox(bbox)
    if box is not None:
        qs = qs.filter(geom__bboverlaps=Polygon.from_bbox(box))
    return qs


def municipalities_geojson(subregion=None, bbox=None, simplified=False) -> str:
    """The FeatureCollection built by PostGIS in one query (no per-row Python serialisation)."""
    pop = IndicatorValue.objects.filter(
        indicator__code=POPULATION, year=CENSUS_YEAR, municipality=OuterRef("pk")
    ).values("value")[:1]
    qs = (
        municipalities_queryset(subregion, bbox)
        .annotate(population=Subquery(pop))
        .values(
            "divipola", "name", "subregion__name", "subregion__code", "area_km2", "official_area_km2",
            "cabecera_name", "population", "geom_simplified" if simplified else "geom",
        )
        .order_by("divipola")
    )
    sql, params = qs.query.sql_with_params()
    geom_col = "geom_simplified" if simplified else "geom"
    wrapped = f"""
        SELECT json_build_object(
          'type', 'FeatureCollection',
          'features', coalesce(json_agg(json_build_object(
             'type', 'Feature',
             'id', q.divipola,
             'geometry', ST_AsGeoJSON(q.{geom_col}, {COORD_DECIMALS})::json,
             'properties', json_build_object(
                'divipola', q.divipola, 'name', q.name, 'subregion', q.subregion_name,
                'subregion_code', q.subregion_code, 'area_km2', round(q.area_km2::numeric, 2),
                'official_area_km2', q.official_area_km2, 'cabecera', q.cabecera_name,
                'population', q.population, 'population_year', {CENSUS_YEAR}
             )) ORDER BY q.divipola), '[]'::json)
        )::text
        FROM ({sql}) AS q(divipola, name, subregion_name, subregion_code, area_km2, official_area_km2,
                          cabecera_name, population, {geom_col})
    """
    with connection.cursor() as cur:
        cur.execute(wrapped, params)
        return cur.fetchone()[0]


def get_municipality(divipola: str) -> Municipality:
    divipola = params.text(divipola, "divipola", max_length=10, required=True)
    try:
        return Municipality.objects.select_related("subregion").get(divipola=divipola)
    except Municipality.DoesNotExist:
        raise NotFound(f"No existe un municipio con código DIVIPOLA {divipola!r} en el Valle del Cauca.")


def municipality_series(m: Municipality) -> dict:
    """All indicator values of one municipality, grouped by indicator code."""
    out: dict[str, dict] = {}
    rows = (
        IndicatorValue.objects.filter(municipality=m)
        .select_related("indicator")
        .order_by("indicator__code", "year")
    )
    for v in rows:
        entry = out.setdefault(
            v.indicator.code,
            {"name": v.indicator.name, "unit": v.indicator.unit, "source": v.indicator.source, "values": []},
        )
        entry["values"].append({"year": v.year, "value": v.value})
    return out


@dataclass
class IndicatorSelection:
    indicator: Indicator
    year: int
    years: list[int]
    values: list[dict]
    references: list[dict]


def indicator_values(code: str | None, year: str | None) -> IndicatorSelection:
    valid = list(Indicator.objects.values_list("code", flat=True))
    code = params.model_text(code, "code", Indicator)
    if not code:
        raise InvalidParameter(f"Falta el parámetro code. Indicadores disponibles: {', '.join(valid)}.")
    chosen = params.integer(year, "year", minimum=1, maximum=9999)
    ind = Indicator.objects.filter(code=code).first()
    if ind is None:
        raise InvalidParameter(f"Indicador desconocido {code!r}. Disponibles: {', '.join(valid)}.")
    years = sorted(set(IndicatorValue.objects.filter(indicator=ind).values_list("year", flat=True)))
    if not years:  # an indicator defined without values yet: nothing to map, but not a server error
        raise NotFound(f"El indicador {code} no tiene valores cargados.")
    if chosen is None:
        chosen = years[-1]
    else:
        if chosen not in years:
            raise InvalidParameter(
                f"No hay datos de {code} para {chosen}. Años disponibles: {', '.join(map(str, years))}."
            )
    values = list(
        IndicatorValue.objects.filter(indicator=ind, year=chosen)
        .order_by("municipality__divipola")
        .values("municipality__divipola", "municipality__name", "value", "source")
    )
    rows = [
        {"divipola": v["municipality__divipola"], "name": v["municipality__name"], "value": v["value"],
         "source": v["source"]}
        for v in values
    ]
    return IndicatorSelection(ind, chosen, years, rows, indicator_references(ind, chosen))


def indicator_references(indicator: Indicator, year: int) -> list[dict]:
    """The department and national values published for this indicator and year (``value`` None =
    not published), in scope order: department first."""
    return [
        {"scope": r.scope, "label": r.label, "value": r.value, "published": r.value is not None,
         "source": r.source, "note": r.note}
        for r in IndicatorReference.objects.filter(indicator=indicator, year=year).order_by("scope")
    ]


def locate(lon, lat) -> dict:
    """Which municipality and subregion contain the point; a clear answer when it is outside the Valle."""
    x, y = params.lonlat(lon, lat)
    pt = Point(x, y, srid=4326)
    m = Municipality.objects.select_related("subregion").filter(geom__intersects=pt).order_by("divipola").first()
    if m is not None:
        return {
            "inside": True, "lon": x, "lat": y,
            "municipality": {"divipola": m.divipola, "name": m.name},
            "subregion": {"code": m.subregion.code, "name": m.subregion.name},
        }
    # on the spheroid, not in EPSG:9377: a point on another continent is outside that projection's
    # domain (PROJ fails), and the distance to the nearest municipality is still a valid answer
    nearest = Municipality.objects.annotate(d=Distance("geom", pt, spheroid=True)).order_by("d").first()
    distance_km = nearest.d.m / 1000 if nearest else None
    return {
        "inside": False, "lon": x, "lat": y,
        "detail": f"El punto ({x:.5f}, {y:.5f}) está fuera del Valle del Cauca, a {distance_km:.1f} km de "
                  f"{nearest.name}.",
        "nearest": {"divipola": nearest.divipola, "name": nearest.name, "distance_km": round(distance_km, 3)},
    }
