"""A uniform resistance strip between two square cores: the hand-checkable Circuitscape case of the API and page
tests (R between the cores = r·(cols − 1)/rows for a strip of ``rows`` × ``cols`` cells of resistance r)."""
from pathlib import Path


def strip_files(folder: Path, rows=4, cols=9, r=5.0, cell=100.0) -> tuple[Path, Path]:
    """A uniform resistance strip (EPSG:9377) and two core polygons over its first and last columns."""
    import geopandas as gpd
    import numpy as np
    import rasterio
    import shapely
    from affine import Affine

    x0, y1 = 4_600_000.0, 1_950_000.0
    tif = folder / "franja.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="float64", crs="EPSG:9377",
                       transform=Affine(cell, 0, x0, 0, -cell, y1), nodata=-9999) as ds:
        ds.write(np.full((rows, cols), r), 1)
    y0 = y1 - rows * cell
    boxes = [shapely.box(x0 + 10, y0 + 10, x0 + cell - 10, y1 - 10),
             shapely.box(x0 + (cols - 1) * cell + 10, y0 + 10, x0 + cols * cell - 10, y1 - 10)]
    gpkg = folder / "nucleos.gpkg"
    gpd.GeoDataFrame({"nombre": ["Oeste", "Este"]}, geometry=boxes, crs=9377).to_file(gpkg, driver="GPKG")
    return gpkg, tif
