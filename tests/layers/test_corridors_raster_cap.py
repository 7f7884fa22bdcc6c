"""A resistance raster resampled to a finer cell for a corridor (or Circuitscape between-cores) run is
size-checked on the target grid's shape before anything is resampled into it: an oversize request is the
Spanish 400 with the cell size that fits, not a resampling of (say) 10¹⁰ cells that exhausts the worker's memory."""
import numpy as np
import pytest
import rasterio
from affine import Affine

from geosig.errors import InvalidParameter
from layers.corridors import inputs, services


def _raster(path, rows=20, cols=20, cell=100.0):
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="float32",
                       crs="EPSG:9377", transform=Affine(cell, 0, 4_600_000, 0, -cell, 2_000_000)) as ds:
        ds.write(np.ones((1, rows, cols), np.float32))
    return path


def test_oversize_resample_refused_before_resampling(tmp_path, settings, monkeypatch):
    settings.CORRIDORS_MAX_CELLS = 10_000
    ref = inputs.store(_raster(tmp_path / "r.tif"), "r.tif", "resistance")

    def no_resampling(*a, **k):
        raise AssertionError("an oversize target grid was resampled into")

    monkeypatch.setattr(services, "align", no_resampling)
    # 20 × 20 cells of 100 m at 10 m: 200 × 200 = 40,000 cells > 10,000; 20 m (100 × 100) would fit
    with pytest.raises(InvalidParameter) as exc:
        services._file_resistance({"raster": ref}, 10.0)
    assert exc.value.details["min_cell_size"] == 20
    assert "40.000 celdas" in exc.value.message


def test_within_the_cap_it_is_resampled(tmp_path, settings):
    settings.CORRIDORS_MAX_CELLS = 10_000
    ref = inputs.store(_raster(tmp_path / "r.tif"), "r.tif", "resistance")
    grid, surface, _label = services._file_resistance({"raster": ref}, 20.0)
    assert grid.shape == (100, 100) and surface.array.shape == (100, 100)
    assert np.allclose(surface.array, 1.0)  # a uniform raster stays uniform whatever the resampling
