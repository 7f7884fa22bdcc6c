"""Downloads: a layer, whole or clipped by a polygon, as GeoPackage/GeoJSON (vector) or GeoTIFF (raster).

Attributes come back as columns (from the JSON kept at import); geometries in EPSG:4326. Clipping cuts
vector geometries at the polygon edge (``geopandas.clip``) and crops rasters to the polygon's cells
(cells touched by the polygon are kept, the rest set to nodata).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geosig.errors import DataFileError, InvalidParameter
from layers.models import Layer
from layers.services.areas import Area


@dataclass
class Export:
    content: bytes
    filename: str
    content_type: str


def export_layer(layer: Layer, fmt: str, *, clip: Area | None = None) -> Export:
    valid = EXPORTERS[layer.kind]
    if fmt not in valid:
        raise InvalidParameter(
            f"Formato «{fmt}» no disponible para una capa {layer.get_kind_display().lower()}. "
            f"Válidos: {', '.join(valid)}."
        )
    return valid[fmt](layer, clip)


def _frame(layer: Layer, clip: Area | None) -> gpd.GeoDataFrame:
    rows = list(layer.features.order_by("fid").values_list("fid", "attributes", "geom"))
    attrs = pd.DataFrame([r[1] for r in rows])
    geoms = [shapely.from_wkb(bytes(r[2].wkb)) for r in rows]
    gdf = gpd.GeoDataFrame(attrs, geometry=geoms, crs=4326)
    if clip is not None:
        gdf = gpd.clip(gdf, shapely.from_wkb(bytes(clip.geom.wkb)))
    return gdf


def _vector(driver: str, ext: str, content_type: str):
    def write(layer: Layer, clip: Area | None) -> Export:
        gdf = _frame(layer, clip)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{layer.slug}.{ext}"
            if gdf.empty:
                gdf = gpd.GeoDataFrame({"vacio": []}, geometry=[], crs=4326)
            gdf.to_file(path, driver=driver, layer=layer.slug, engine="pyogrio")
            content = path.read_bytes()
        suffix = "-recorte" if clip is not None else ""
        return Export(content, f"{layer.slug}{suffix}.{ext}", content_type)

    return write


def _geotiff(layer: Layer, clip: Area | None) -> Export:
    import rasterio
    from rasterio.io import MemoryFile
    from rasterio.mask import mask

    path = layer.raster_path
    if not path or not path.exists():
        raise DataFileError(f"Falta el archivo ráster de la capa «{layer.slug}».")
    if clip is None:
        return Export(path.read_bytes(), f"{layer.slug}.tif", "image/tiff")
    with rasterio.open(path) as src:
        try:
            data, transform = mask(src, [shapely.geometry.mapping(shapely.from_wkb(bytes(clip.geom.wkb)))],
                                   crop=True, all_touched=True, filled=True)
        except ValueError as exc:  # polygon does not overlap the raster
            raise InvalidParameter(f"El polígono no se superpone con el ráster «{layer.slug}».") from exc
        profile = src.profile.copy()
    profile.update(driver="GTiff", height=data.shape[1], width=data.shape[2], transform=transform,
                   compress="deflate", tiled=False)
    for key in ("blockxsize", "blockysize", "interleave"):
        profile.pop(key, None)
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(data)
        return Export(mem.read(), f"{layer.slug}-recorte.tif", "image/tiff")


# Registry: layer kind → format → writer.
EXPORTERS = {
    Layer.Kind.VECTOR: {
        "gpkg": _vector("GPKG", "gpkg", "application/geopackage+sqlite3"),
        "geojson": _vector("GeoJSON", "geojson", "application/geo+json"),
    },
    Layer.Kind.RASTER: {"tif": _geotiff},
}
