"""Hillshade of a DEM (layers.services.hillshade): the standard formula, checked by hand and against GDAL."""
import subprocess

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from layers.services.hillshade import hillshade


def plane(gx, gy, cell=10.0):
    """3×3 elevations rising gx metres per metre eastwards and gy southwards (rows go north → south)."""
    i, j = np.mgrid[0:3, 0:3]
    return 100 + gx * j * cell + gy * i * cell


@pytest.mark.parametrize("gx, gy, expected", [
    # rising east (facing west), sun from the north-west at 45°: slope 45°, aspect 270°
    # 255·(cos45·cos45 + sin45·sin45·cos(135° − 180°)) = 255·(0.5 + 0.5·0.70711) = 217.656
    (1.0, 0.0, 217.656),
    # rising south-east (facing north-west, toward the sun): slope atan(√2) = 54.7356°
    # 255·cos(54.7356° − 45°) = 255·0.98560 = 251.328
    (1.0, 1.0, 251.328),
    # rising north-west (facing away from the sun): 255·cos(54.7356° + 45°) < 0 → 0
    (-1.0, -1.0, 0.0),
    # flat: 255·cos(zenith 45°) = 180.312
    (0.0, 0.0, 180.312),
])
def test_hand_computed_3x3_patches(gx, gy, expected):
    shade = hillshade(plane(gx, gy), 10.0, 10.0)
    assert shade[1, 1] == pytest.approx(expected, abs=0.01)
    border = np.ones((3, 3), bool)
    border[1, 1] = False
    assert np.isnan(shade[border]).all()  # no full 3×3 window: no invented shading


def test_void_cells_leave_their_neighbours_unshaded():
    z = np.full((7, 7), 100.0)
    z[3, 3] = np.nan
    shade = hillshade(z, 30.0, 30.0)
    assert np.isnan(shade[2:5, 2:5]).all()  # the void and its 8 neighbours
    assert shade[1, 1] == pytest.approx(180.312, abs=0.01) and shade[1, 5] == pytest.approx(180.312, abs=0.01)


def test_agrees_with_gdaldem_on_a_projected_dem(tmp_path):
    """GDAL's own hillshade (Horn, az 315°, alt 45°) of a rough synthetic DEM: the same values."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:60, 0:80]
    z = (300 * np.sin(xx / 9.0) * np.cos(yy / 7.0) + 8 * xx + rng.normal(0, 5, xx.shape)).astype("float32")
    src = tmp_path / "dem.tif"
    with rasterio.open(src, "w", driver="GTiff", width=80, height=60, count=1, dtype="float32", crs="EPSG:9377",
                       transform=from_origin(4_600_000, 2_000_000, 30, 30)) as dst:
        dst.write(z, 1)
    ref = tmp_path / "hs.tif"
    subprocess.run(["gdaldem", "hillshade", "-q", "-az", "315", "-alt", "45", str(src), str(ref)], check=True)
    with rasterio.open(ref) as r:
        theirs = r.read(1).astype(float)
    ours = hillshade(z, 30.0, 30.0)
    inner = (slice(1, -1), slice(1, -1))
    # GDAL writes 1 + 254·(cos … ) so that 0 stays nodata, then rounds to a byte
    assert np.abs(1 + ours[inner] * 254 / 255 - theirs[inner]).max() <= 0.51
    assert np.isfinite(ours[inner]).all() and theirs[inner].std() > 20  # a rough surface, fully compared


@pytest.mark.django_db
def test_stored_hillshade_of_a_dem_kept_in_its_projected_crs(tmp_path, media):
    """A DEM imported in EPSG:9377 stays in EPSG:9377 (issue 15): its stored hillshade uses the metric cell
    and agrees with gdaldem run on the same file."""
    from layers.models import Layer
    from layers.services.hillshade import ensure_hillshade
    from layers.services.importing import import_layer

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:50, 0:70]
    z = (250 * np.sin(xx / 8.0) * np.cos(yy / 6.0) + 1000 + rng.normal(0, 4, xx.shape)).astype("float32")
    src = tmp_path / "dem9377.tif"
    with rasterio.open(src, "w", driver="GTiff", width=70, height=50, count=1, dtype="float32", crs="EPSG:9377",
                       transform=from_origin(4_600_000, 1_950_000, 30, 30)) as dst:
        dst.write(z, 1)
    import_layer(src, theme="relieve")
    with rasterio.open(ensure_hillshade(Layer.objects.get(slug="dem9377"))) as r:
        ours = r.read(1).astype(float)
        assert r.crs.to_epsg() == 9377
    ref = tmp_path / "hs.tif"
    subprocess.run(["gdaldem", "hillshade", "-q", "-az", "315", "-alt", "45", str(src), str(ref)], check=True)
    with rasterio.open(ref) as r:
        theirs = r.read(1).astype(float)
    inner = (slice(1, -1), slice(1, -1))
    # stored as round(255·cos …) clipped to 1..255; GDAL as 1 + 254·cos …
    assert np.abs(1 + ours[inner] * 254 / 255 - theirs[inner]).max() <= 1.6
