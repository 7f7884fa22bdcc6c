"""Zonal statistics vs numpy on a small synthetic raster (cell edges known, partial cells weighted)."""
import numpy as np
import pytest
import shapely

from geosig.errors import InvalidParameter
from layers.models import Layer
from layers.services.importing import import_layer
from layers.services.zonal import zonal_stats
from tests.layers.conftest import synthetic_raster

pytestmark = pytest.mark.django_db
WEST, NORTH, RES = -76.60, 3.50, 0.01
VALUES = np.arange(100, dtype="float64").reshape(10, 10) * 3.0 + 7.0


def _cells(row0, row1, col0, col1):
    """Box covering rows row0..row1 and cols col0..col1 (fractions allowed: 3.5 = half of column 3)."""
    return shapely.box(WEST + col0 * RES, NORTH - row1 * RES, WEST + col1 * RES, NORTH - row0 * RES)


@pytest.fixture
def dem(tmp_path):
    values = VALUES.copy()
    values[8, 8] = -9999  # one nodata cell
    import_layer(synthetic_raster(tmp_path / "sint.tif", values, west=WEST, north=NORTH, res=RES))
    return Layer.objects.get(slug="sint")


def test_whole_cells_equal_numpy(dem):
    (s,) = zonal_stats(dem, _cells(2, 5, 3, 7))
    block = VALUES[2:5, 3:7]
    assert s["min"] == block.min() and s["max"] == block.max()
    assert s["mean"] == pytest.approx(block.mean(), rel=1e-9)
    assert s["cells"] == pytest.approx(12.0, rel=1e-9)
    edges = np.linspace(7.0, VALUES.max(), 11)
    assert s["histogram"]["edges"] == pytest.approx(edges.tolist())
    assert s["histogram"]["counts"] == pytest.approx(np.histogram(block, bins=edges)[0].tolist())


def test_partial_cells_are_weighted_by_coverage(dem):
    (s,) = zonal_stats(dem, _cells(2, 5, 3.5, 7))  # column 3 only half inside
    block = VALUES[2:5, 3:7]
    weights = np.ones_like(block)
    weights[:, 0] = 0.5
    assert s["mean"] == pytest.approx(np.average(block, weights=weights), rel=1e-6)
    assert s["cells"] == pytest.approx(weights.sum(), rel=1e-6)
    assert s["min"] == block.min()  # a touched cell counts for min/max whatever its coverage
    edges = np.linspace(7.0, VALUES.max(), 11)
    expected = np.histogram(block, bins=edges, weights=weights)[0]
    assert s["histogram"]["counts"] == pytest.approx(expected.tolist(), rel=1e-6)


def test_nodata_cells_are_ignored_and_several_polygons(dem):
    a, b = zonal_stats(dem, [_cells(7, 10, 7, 10), _cells(0, 1, 0, 1)])
    block = VALUES[7:10, 7:10].copy().ravel().tolist()
    block.remove(VALUES[8, 8])
    assert a["cells"] == pytest.approx(8.0) and a["mean"] == pytest.approx(np.mean(block))
    assert b["min"] == b["max"] == VALUES[0, 0]


def test_polygon_off_the_raster_gives_empty_stats(dem):
    (s,) = zonal_stats(dem, shapely.box(-76.0, 3.0, -75.9, 3.1))
    assert s["cells"] == 0 and s["mean"] is None


def test_zonal_needs_a_raster_layer(tmp_path):
    import geopandas as gpd

    from tests.layers.conftest import write_vector

    gdf = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(-76.5, 3.4)], crs=4326)
    import_layer(write_vector(tmp_path / "v.geojson", gdf, "GeoJSON"))
    with pytest.raises(InvalidParameter, match="no es ráster"):
        zonal_stats(Layer.objects.get(slug="v"), _cells(0, 1, 0, 1))


def test_multiband_raster_uses_band_one(tmp_path):
    from rasterio.transform import from_origin

    path = tmp_path / "dos_bandas.tif"
    with rasterio_open(path, "w", driver="GTiff", width=10, height=10, count=2, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(WEST, NORTH, RES, RES)) as dst:
        dst.write(VALUES.astype("float32"), 1)
        dst.write((VALUES * 0 - 1).astype("float32"), 2)
    report = import_layer(path)
    assert "2 bandas" in " ".join(report.layers[0].notes)
    (s,) = zonal_stats(Layer.objects.get(slug="dos-bandas"), _cells(2, 5, 3, 7))
    assert s["mean"] == pytest.approx(VALUES[2:5, 3:7].mean())


def rasterio_open(*a, **k):
    import rasterio

    return rasterio.open(*a, **k)


def test_too_many_cells_is_refused_before_reading(dem, settings):
    # _cells(2, 5, 3, 7): a 3 × 4 window = 12 cells; two polygons add up (exact_extract holds them all at once).
    settings.GEOSIG_ZONAL_MAX_CELLS = 12
    (s,) = zonal_stats(dem, _cells(2, 5, 3, 7))
    assert s["cells"] == pytest.approx(12.0)
    settings.GEOSIG_ZONAL_MAX_CELLS = 11
    with pytest.raises(InvalidParameter, match=r"unas 12 celdas .*máximo .* es 11"):
        zonal_stats(dem, _cells(2, 5, 3, 7))
    settings.GEOSIG_ZONAL_MAX_CELLS = 20
    with pytest.raises(InvalidParameter, match="unas 24 celdas"):
        zonal_stats(dem, [_cells(2, 5, 3, 7), _cells(5, 8, 3, 7)])
    # only the part over the raster counts: a box half off the west edge reads 3 × 2 cells
    settings.GEOSIG_ZONAL_MAX_CELLS = 6
    (s,) = zonal_stats(dem, _cells(2, 5, -2, 2))
    assert s["cells"] == pytest.approx(6.0)
