"""Territorial datasets as GeoDataFrames / CSV for downloads (GeoPackage, GeoJSON for QGIS; CSV)."""
from __future__ import annotations

import geopandas as gpd
import shapely

from geosig import formats
from geosig.errors import InvalidParameter
from territorial.models import IndicatorValue, Municipality, Subregion
from territorial.services.queries import CENSUS_YEAR, POPULATION


def _geoms(objs, field="geom"):
    return [shapely.from_wkb(bytes(getattr(o, field).wkb)) if getattr(o, field) else None for o in objs]


def municipalities_frame() -> gpd.GeoDataFrame:
    munis = list(Municipality.objects.select_related("subregion").order_by("divipola"))
    pop = dict(
        IndicatorValue.objects.filter(indicator__code=POPULATION, year=CENSUS_YEAR).values_list(
            "municipality__divipola", "value"
        )
    )
    return gpd.GeoDataFrame(
        {
            "divipola": [m.divipola for m in munis],
            "nombre": [m.name for m in munis],
            "subregion": [m.subregion.name for m in munis],
            "area_km2_9377": [round(m.area_km2, 3) for m in munis],
            "area_km2_oficial": [m.official_area_km2 for m in munis],
            "cabecera": [m.cabecera_name for m in munis],
            f"poblacion_{CENSUS_YEAR}": [pop.get(m.divipola) for m in munis],
            "fuente_limite": [m.boundary_source for m in munis],
        },
        geometry=_geoms(munis),
        crs=4326,
    )


def subregions_frame() -> gpd.GeoDataFrame:
    subs = list(Subregion.objects.prefetch_related("municipalities").order_by("order"))
    return gpd.GeoDataFrame(
        {
            "codigo": [s.code for s in subs],
            "nombre": [s.name for s in subs],
            "alias_dane": [", ".join(s.aliases) for s in subs],
            "municipios": [", ".join(sorted(m.divipola for m in s.municipalities.all())) for s in subs],
            "area_km2_9377": [round(s.area_km2 or 0, 3) for s in subs],
        },
        geometry=_geoms(subs),
        crs=4326,
    )


VECTOR_DATASETS = {"municipalities": municipalities_frame, "subregions": subregions_frame}


def _dataset_layer(dataset: str) -> dict:
    return {f"valle_{dataset}": VECTOR_DATASETS[dataset]()}


# ``VECTOR_FORMATS.render(fmt, dataset)`` → (bytes, Format): the format is checked before the frame is built.
VECTOR_FORMATS = formats.Offer(gpkg=_dataset_layer, geojson=_dataset_layer)


def indicators_csv(code: str | None = None) -> bytes:
    qs = IndicatorValue.objects.select_related("indicator", "municipality").order_by(
        "indicator__code", "municipality__divipola", "year"
    )
    if code:
        if not qs.filter(indicator__code=code).exists():
            raise InvalidParameter(f"Indicador desconocido {code!r}.")
        qs = qs.filter(indicator__code=code)
    rows = ([v.municipality.divipola, v.municipality.name, v.indicator.code, v.indicator.name,
             v.indicator.unit, v.year, v.value, v.source or v.indicator.source] for v in qs.iterator())
    return formats.write_csv(formats.Table(
        ["divipola", "municipio", "indicador", "nombre_indicador", "unidad", "anio", "valor", "fuente"], rows))
