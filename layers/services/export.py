"""Downloads: a layer, whole or clipped by a polygon, as GeoPackage/GeoJSON (vector) or GeoTIFF (raster).

Attributes come back as columns (from the JSON kept at import); geometries in EPSG:4326. Clipping cuts
vector geometries at the polygon edge (``geopandas.clip``) and crops rasters to the polygon's cells
(cells touched by the polygon are kept, the rest set to nodata).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import rasterio
import shapely
from rasterio.mask import mask

from geosig import formats
from geosig.errors import DataFileError, InvalidParameter
from layers.models import Layer
from layers.services.areas import Area


@dataclass
class Export:
    content: bytes | Path  # a Path (a whole raster file) is streamed by ``formats.attachment``
    filename: str
    format: formats.Format

    @property
    def content_type(self) -> str:
        return self.format.content_type


def export_layer(layer: Layer, fmt: str, *, clip: Area | None = None) -> Export:
    offer = OFFERS[layer.kind]
    if fmt not in offer:
        raise InvalidParameter(
            f"Formato «{fmt}» no disponible para una capa {layer.get_kind_display().lower()}. "
            f"Válidos: {', '.join(offer.keys)}."
        )
    content, f = offer.render(fmt, layer, clip)
    suffix = "-recorte" if clip is not None else ""
    return Export(content, f"{layer.slug}{suffix}.{f.extension}", f)


def _frame(layer: Layer, clip: Area | None) -> gpd.GeoDataFrame:
    rows = list(layer.features.order_by("fid").values_list("fid", "attributes", "geom"))
    attrs = pd.DataFrame([r[1] for r in rows])
    geoms = [shapely.from_wkb(bytes(r[2].wkb)) for r in rows]
    gdf = gpd.GeoDataFrame(attrs, geometry=geoms, crs=4326)
    if clip is not None:
        gdf = gpd.clip(gdf, shapely.from_wkb(bytes(clip.geom.wkb)))
    return gdf


def _vector(layer: Layer, clip: Area | None) -> dict:
    gdf = _frame(layer, clip)
    if gdf.empty:
        gdf = gpd.GeoDataFrame({"vacio": []}, geometry=[], crs=4326)
    return {layer.slug: gdf}


def _raster(layer: Layer, clip: Area | None) -> formats.Raster | Path:
    path = layer.raster_path
    if not path or not path.exists():
        raise DataFileError(f"Falta el archivo ráster de la capa «{layer.slug}».")
    if clip is None:
        return Path(path)
    with rasterio.open(path, driver="GTiff") as src:
        geom = shapely.from_wkb(bytes(clip.geom.wkb))
        if src.crs is not None and src.crs.to_epsg() != 4326:  # the raster is stored in its source CRS
            geom = gpd.GeoSeries([geom], crs=4326).to_crs(src.crs).iloc[0]
        try:
            data, transform = mask(src, [shapely.geometry.mapping(geom)], crop=True, all_touched=True, filled=True)
        except ValueError as exc:  # polygon does not overlap the raster
            raise InvalidParameter(f"El polígono no se superpone con el ráster «{layer.slug}».") from exc
        profile = src.profile.copy()
    profile.update(height=data.shape[1], width=data.shape[2], transform=transform, compress="deflate", tiled=False)
    for key in ("blockxsize", "blockysize", "interleave"):
        profile.pop(key, None)
    return formats.Raster(data, profile)


# The formats of each layer kind; content types, extensions and writers come from geosig.formats.
OFFERS = {
    Layer.Kind.VECTOR: formats.Offer(gpkg=_vector, geojson=_vector),
    Layer.Kind.RASTER: formats.Offer(tif=_raster),
}
