"""An uploaded resistance raster's grid is size-checked at the request, from its header: an oversize request is a
Spanish 4xx with no run and no job, and no pixel is read to say so. The header arithmetic gives the very grid the
job builds (its own grid, a resampled one, cut to an area); the job keeps its own check."""
import math

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer

from geosig.errors import InvalidParameter
from jobs.models import Job
from layers.connectivity import analysis
from layers.connectivity.models import ConnectivityRun
from tests.layers.test_connectivity_api import square

pytestmark = pytest.mark.django_db
TO_9377 = Transformer.from_crs(4326, 9377, always_xy=True)
ROWS, COLS, CELL = 50, 60, 100.0
X0, Y1 = (round(v, -2) for v in TO_9377.transform(-76.60, 3.50))  # top-left corner, near Cali


@pytest.fixture
def raster(tmp_path):
    path = tmp_path / "resistencia.tif"
    values = np.random.default_rng(3).uniform(1, 50, (ROWS, COLS))
    with rasterio.open(path, "w", driver="GTiff", width=COLS, height=ROWS, count=1, dtype="float64", crs="EPSG:9377",
                       transform=rasterio.transform.from_origin(X0, Y1, CELL, CELL), nodata=-9999) as dst:
        dst.write(values, 1)
    return path


@pytest.fixture
def analyst(client, make_user, media):
    client.force_login(make_user("analista", "Analista CVC"))
    return client


def upload(client, path) -> dict:
    with open(path, "rb") as f:
        r = client.post("/api/v1/corridors/inputs/", {"kind": "resistance", "file": f})
    assert r.status_code in (200, 201), r.content
    return {"file": r.json()["file"], "name": r.json()["name"]}


def refuse_pixel_reads(monkeypatch):
    """From here on, reading a raster's pixels fails: what the request decides comes from headers alone."""
    def refuse(*a, **k):
        raise AssertionError("pixels read at the request")

    monkeypatch.setattr(rasterio.io.DatasetReader, "read", refuse)


def body(ref, **extra):
    return {"resistance": {"raster": ref}, "radius": 3, "block_size": 1, **extra}


def polygon_9377(x0, y0, x1, y1):
    """A rectangle given in EPSG:9377 as a GeoJSON polygon in EPSG:4326."""
    to4326 = Transformer.from_crs(9377, 4326, always_xy=True)
    box = shapely.box(x0, y0, x1, y1)
    return shapely.geometry.mapping(shapely.transform(box, lambda xy: np.column_stack(to4326.transform(xy[:, 0], xy[:, 1]))))


def test_oversize_own_grid_and_resampled_grid_refused_from_the_header(analyst, raster, settings, monkeypatch):
    ref = upload(analyst, raster)
    refuse_pixel_reads(monkeypatch)
    settings.CONNECTIVITY_MAX_CELLS = 2999  # the raster has 50 × 60 = 3000 cells
    r = analyst.post("/api/v1/connectivity/", body(ref), content_type="application/json")
    assert r.status_code == 400, r.content
    detail = r.json()["detail"]
    assert "3.000 celdas" in detail and "50 × 60" in detail and "2.999" in detail
    assert f"al menos {math.ceil(CELL * math.sqrt(3000 / 2999))} m" in detail
    # resampled to 50 m in its own CRS: 100 × 120 = 12 000 cells
    settings.CONNECTIVITY_MAX_CELLS = 11999
    r = analyst.post("/api/v1/connectivity/", body(ref, cell_size=50), content_type="application/json")
    assert r.status_code == 400 and "12.000 celdas" in r.json()["detail"] and "100 × 120" in r.json()["detail"]
    assert not ConnectivityRun.objects.exists() and not Job.objects.exists()


def test_an_area_cut_within_the_limit_is_accepted_and_one_outside_refused(analyst, raster, settings, monkeypatch):
    ref = upload(analyst, raster)
    refuse_pixel_reads(monkeypatch)
    settings.CONNECTIVITY_MAX_CELLS = 2999  # the whole raster does not fit; a 2 × 2 km piece (≈ 20 × 20) does
    area = {"geojson": polygon_9377(X0 + 1000, Y1 - 3000, X0 + 3000, Y1 - 1000)}
    r = analyst.post("/api/v1/connectivity/", body(ref, area=area), content_type="application/json")
    assert r.status_code == 202, r.content
    assert Job.objects.filter(kind="connectivity", state="queued").count() == 1
    far = {"geojson": square(-76.0, 4.5, 2000)}  # in the Valle, far from the raster
    r = analyst.post("/api/v1/connectivity/", body(ref, area=far), content_type="application/json")
    assert r.status_code == 422 and "no cubre ninguna celda" in r.json()["detail"], r.content
    assert ConnectivityRun.objects.count() == 1 and Job.objects.count() == 1


@pytest.mark.parametrize("cell_size, area", [
    (None, None),
    (50, None),
    (250, None),
    (None, (1000, 3000, 3000, 1000)),  # a rectangle inside (offsets from the top-left corner, m)
    (50, (1050, 3470, 3030, 1010)),  # edges off the cell lines
    (None, (-2000, 2500, 2500, -2000)),  # half outside the raster
])
def test_header_grid_equals_the_grid_the_job_builds(analyst, raster, settings, cell_size, area):
    """The independent answer: the job's own path (read the raster, build its grid, clip to the area)."""
    ref = upload(analyst, raster)
    spec = {"raster": ref}
    polygon = None
    if area:
        dx0, dy0, dx1, dy1 = area
        geom = polygon_9377(X0 + dx0, Y1 - dy0, X0 + dx1, Y1 - dy1)
        polygon, _label = analysis.resolve_area({"geojson": geom})
    grid, *_ = analysis.resistance_surface(spec, polygon, cell_size)
    if polygon is not None:
        grid, _missing = analysis.clip_to_area(grid, polygon)
    rows, cols = grid.shape
    settings.CONNECTIVITY_MAX_CELLS = rows * cols
    analysis.check_raster_cells(spec, polygon, cell_size)  # exactly at the limit: accepted
    settings.CONNECTIVITY_MAX_CELLS = rows * cols - 1
    with pytest.raises(InvalidParameter) as err:
        analysis.check_raster_cells(spec, polygon, cell_size)
    assert err.value.details["cells"] == rows * cols
    assert f"({rows:,} × {cols:,}".replace(",", ".") in str(err.value)


def test_a_raster_in_degrees_is_counted_on_the_epsg9377_grid_the_job_builds(analyst, settings, tmp_path):
    path = tmp_path / "grados.tif"
    with rasterio.open(path, "w", driver="GTiff", width=40, height=30, count=1, dtype="float32", crs="EPSG:4326",
                       transform=rasterio.transform.from_origin(-76.7, 3.6, 0.005, 0.005)) as dst:
        dst.write(np.full((30, 40), 5, np.float32), 1)
    spec = {"raster": upload(analyst, path)}
    grid, *_ = analysis.resistance_surface(spec, None, 250)
    assert grid.crs.to_epsg() == 9377
    settings.CONNECTIVITY_MAX_CELLS = grid.shape[0] * grid.shape[1] - 1
    with pytest.raises(InvalidParameter) as err:
        analysis.check_raster_cells(spec, None, 250)
    assert err.value.details["cells"] == grid.shape[0] * grid.shape[1]


def test_the_job_keeps_its_own_check(analyst, raster, settings, tmp_path):
    ref = upload(analyst, raster)
    settings.CONNECTIVITY_MAX_CELLS = 2999
    with pytest.raises(InvalidParameter, match="3.000 celdas"):
        analysis.run_connectivity({"resistance": {"raster": ref}, "radius": 3, "block_size": 1}, tmp_path / "out")
