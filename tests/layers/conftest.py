"""Fixtures of the layers tests: every input file is BUILT here (nothing read from data/ except the
shipped-layer tests), so each expected value can be computed independently."""
from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin

# A reference point in the Valle: Cali's centre, and its EPSG:9377 coordinates (computed by pyproj).
CALI_LON, CALI_LAT = -76.5225, 3.4372
TO_9377 = Transformer.from_crs(4326, 9377, always_xy=True)
X0, Y0 = (round(v, -2) for v in TO_9377.transform(CALI_LON, CALI_LAT))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Rasters are written under MEDIA_ROOT: give each test its own, so 'nothing stored' is checkable."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def square_9377(x, y, side):
    """A square whose corners are exact in EPSG:9377 (so its area there is exactly side²)."""
    return shapely.box(X0 + x, Y0 + y, X0 + x + side, Y0 + y + side)


def to_4326(geoms):
    return gpd.GeoSeries(geoms, crs=9377).to_crs(4326)


def write_vector(path: Path, gdf: gpd.GeoDataFrame, driver: str, layer: str | None = None, **kw) -> Path:
    gdf.to_file(path, driver=driver, layer=layer, engine="pyogrio", **kw)
    return path


def zip_dir(files: list[Path], dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, f.name)
    return dest


def shapefile_zip(tmp_path: Path, gdf: gpd.GeoDataFrame, name: str, *, encoding="ISO-8859-1", cpg=True,
                  prj=True) -> Path:
    folder = tmp_path / f"shp-{name}"
    folder.mkdir()
    gdf.to_file(folder / f"{name}.shp", engine="pyogrio", encoding=encoding)
    if not cpg:
        (folder / f"{name}.cpg").unlink(missing_ok=True)
    if not prj:
        (folder / f"{name}.prj").unlink(missing_ok=True)
    return zip_dir(sorted(folder.iterdir()), tmp_path / f"{name}.zip")


def synthetic_raster(path: Path, values: np.ndarray, *, west=-76.60, north=3.50, res=0.01, crs="EPSG:4326",
                     nodata=-9999.0) -> Path:
    h, w = values.shape
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32", crs=crs,
                       transform=from_origin(west, north, res, res), nodata=nodata) as dst:
        dst.write(values.astype("float32"), 1)
    return path
