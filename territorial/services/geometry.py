"""Geometry helpers of the territorial registry: measuring CRS, display simplification, topology, unions."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.db.models import Union
from django.contrib.gis.db.models.functions import Area, Transform
from django.contrib.gis.geos import MultiPolygon

from geosig.errors import CRSMismatch
from territorial.models import Department, Municipality, Subregion
from territorial.services import sources as S

MIN_FINDING_M2 = 1.0  # overlaps/gaps smaller than this are floating-point noise, not findings
DISPLAY_TOLERANCE_M = 120.0  # ~1 pixel at zoom 10; the source itself is generalised (≈47 vertices each)


def to_measure_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Geometries in EPSG:9377 (MAGNA-SIRGAS Origen Nacional), where areas and distances are measured."""
    if gdf.crs is None:
        raise CRSMismatch("Las geometrías no tienen CRS: no se pueden medir.")
    return gdf.geometry.to_crs(settings.GEOSIG_MEASURE_SRID)


def simplify_coverage(gdf: gpd.GeoDataFrame, tolerance_m: float = DISPLAY_TOLERANCE_M) -> gpd.GeoSeries:
    """Topology-preserving simplification of the whole coverage (shared edges simplified once, so
    neighbours still meet), done in metres and returned in EPSG:4326 rounded to ~1 m."""
    measured = to_measure_crs(gdf)
    simple = shapely.coverage_simplify(measured.values, tolerance_m, simplify_boundary=True)
    out = gpd.GeoSeries(simple, crs=measured.crs).to_crs(4326)
    rounded = shapely.set_precision(out.values, 1e-5)  # same vertex → same rounding: edges stay shared
    rounded = np.where(shapely.is_valid(rounded), rounded, shapely.make_valid(rounded))
    return gpd.GeoSeries(rounded, crs=4326, index=gdf.index)


def topology_findings(measured: gpd.GeoSeries, codes: list[str]) -> tuple[list[dict], list[dict]]:
    """Overlaps between neighbours and gaps (holes of the union), with areas in m² of EPSG:9377."""
    geoms = measured.values
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    overlaps = []
    if keep.any():
        inter = shapely.intersection(geoms[left[keep]], geoms[right[keep]])
        areas = shapely.area(inter)
        for a, b, area in zip(left[keep], right[keep], areas):
            if area >= MIN_FINDING_M2:
                overlaps.append({"a": codes[a], "b": codes[b], "area_m2": float(area)})
    union = shapely.union_all(geoms)
    holes = []
    for poly in getattr(union, "geoms", [union]):
        holes.extend(shapely.Polygon(ring) for ring in poly.interiors)
    gaps = []
    for hole in holes:
        if hole.area < MIN_FINDING_M2:
            continue
        neighbours = [codes[i] for i in tree.query(hole, predicate="intersects")]
        gaps.append({"area_m2": float(hole.area), "neighbours": neighbours})
    return overlaps, gaps


def recompute_aggregates(subregion_ids=None) -> None:
    """Subregion and department geometries are the union of their members; recompute after changes."""
    subregions = Subregion.objects.all()
    if subregion_ids is not None:
        subregions = subregions.filter(pk__in=subregion_ids)
    for sub in subregions:
        geom = Municipality.objects.filter(subregion=sub).aggregate(u=Union("geom"))["u"]
        sub.geom = _as_multi(geom)
        sub.area_km2 = _area_km2(geom)
        sub.save(update_fields=["geom", "area_km2"])
    geom = Municipality.objects.aggregate(u=Union("geom"))["u"]
    if geom is not None:
        Department.objects.update_or_create(
            code=S.DEPARTMENT_CODE,
            defaults={"name": S.DEPARTMENT_NAME, "geom": _as_multi(geom), "area_km2": _area_km2(geom)},
        )


def _as_multi(geom):
    if geom is None:
        return None
    return geom if geom.geom_type == "MultiPolygon" else MultiPolygon(geom, srid=geom.srid)


def _area_km2(geom):
    if geom is None:
        return None
    g = geom.transform(settings.GEOSIG_MEASURE_SRID, clone=True)
    return g.area / 1e6


def area_km2_sql(queryset, field="geom"):
    """Annotate areas computed by PostGIS in EPSG:9377 (used to cross-check the Python measurement)."""
    return queryset.annotate(area_9377=Area(Transform(field, settings.GEOSIG_MEASURE_SRID)))
