"""Cores → label grid, resistance recipes, explicit alignment and the cell-count limit (no database)."""
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from geosig.errors import InvalidParameter, OutsideValle
from layers.corridors.cores import rasterize_cores
from layers.corridors.grid import Grid, align, check_cell_count, template
from layers.corridors.resistance import build_resistance

X0, Y0 = 4_600_000.0, 1_950_000.0  # EPSG:9377


def grid(rows=50, cols=60, cell=100.0):
    return template((X0, Y0 - rows * cell, X0 + cols * cell, Y0), cell, "EPSG:9377")


def test_point_cores_cell_and_disc():
    g = grid()
    pts = gpd.GeoDataFrame({"n": ["A", "B"]}, geometry=[shapely.Point(X0 + 550, Y0 - 550),
                                                         shapely.Point(X0 + 4050, Y0 - 3050)], crs=9377)
    one = rasterize_cores(pts, g, "n")
    assert one.labels[5, 5] == 1 and one.labels[30, 40] == 2 and (one.labels > 0).sum() == 2
    disc = rasterize_cores(pts, g, "n", point_radius=300)
    # Cell centres within 300 m of a cell centre: the 29 lattice points with i² + j² ≤ 9.
    assert (disc.labels == 1).sum() == sum(1 for i in range(-3, 4) for j in range(-3, 4) if i * i + j * j <= 9)
    assert any("NO son los límites reales" in n for n in disc.notes)
    assert disc.cores[0]["kind"] == "punto con disco"


def test_polygon_cores_reprojected_and_bad_cores():
    g = grid()
    sq = gpd.GeoDataFrame({"n": ["P"]}, geometry=[shapely.box(X0 + 1000, Y0 - 2000, X0 + 2000, Y0 - 1000)], crs=9377)
    cs = rasterize_cores(sq.to_crs(4326), g, "n")
    assert abs((cs.labels == 1).sum() - 100) <= 12  # 10 × 10 cells, edges wobble after 4326 round trip
    assert any("reproyectados" in n for n in cs.notes)
    far = gpd.GeoDataFrame({"n": ["lejos"]}, geometry=[shapely.Point(X0 - 50_000, Y0)], crs=9377)
    with pytest.raises(OutsideValle, match="lejos"):
        rasterize_cores(far, g, "n")
    two = gpd.GeoDataFrame({"n": ["A", "B"]}, geometry=[shapely.Point(X0 + 550, Y0 - 550),
                                                        shapely.Point(X0 + 600, Y0 - 600)], crs=9377)
    with pytest.raises(InvalidParameter, match="superponen"):
        rasterize_cores(two, g, "n", point_radius=200)


def test_cell_limit_message_gives_needed_size():
    with pytest.raises(InvalidParameter) as exc:
        check_cell_count(3000, 4000, 30.0, 1_000_000)
    # 12 M cells over a 1 M limit: cell × √12 = 103.9 → 104 m.
    assert "12.000.000" in exc.value.message and "104 m" in exc.value.message


def test_align_reprojects_explicitly_and_says_so():
    target = grid(20, 20, 100)
    src = Grid(np.arange(400, dtype=float).reshape(20, 20), target.transform, "EPSG:9377", None)
    same = align(src, target)
    np.testing.assert_array_equal(same.array, src.array)
    coarse = Grid(np.full((5, 5), 7.0), Affine(400, 0, X0, 0, -400, Y0), "EPSG:9377", None)
    a = align(coarse, target, "nearest", "DEM")
    assert np.all(a.array == 7.0)
    assert "remuestreado a celdas de 100" in a.notes[0]
    g4326 = Grid(np.full((10, 10), 5.0), Affine(0.001, 0, -76.6, 0, -0.001, 3.5), "EPSG:4326", None)
    out = align(g4326, grid(10, 10, 100))
    assert "reproyectado de EPSG:4326 a EPSG:9377" in out.notes[0]


def test_recipe_combines_components():
    g = grid(30, 30, 100)
    # A plane rising 10 m per 100 m eastwards: slope = atan(0.1) = 5.711°.
    dem = Grid(np.tile(np.arange(30) * 10.0 + 1000, (30, 1)), g.transform, g.crs, None)
    road = gpd.GeoSeries([shapely.LineString([(X0, Y0 - 1550), (X0 + 3000, Y0 - 1550)])], crs=9377)
    s = build_resistance([
        {"source": "slope", "weight": 1.0, "data": dem},
        {"source": "elevation", "weight": 2.0, "reference": 1500.0, "data": dem},
        {"source": "proximity", "weight": 10.0, "scale": 500.0, "data": road, "label": "vías"},
    ], g)
    r, c = 5, 10  # 1,000 m from the road (row 15), elevation 1100 m
    expected = 1 + math.degrees(math.atan(0.1)) + 2 * 0.4 + 10 * math.exp(-1000 / 500)
    assert s.array[r, c] == pytest.approx(expected, rel=1e-9)
    assert len(s.recipe) == 4
    wall = build_resistance([{"source": "barrier", "absolute": True, "data": road}], g)
    assert np.isnan(wall.array[15]).all() and np.isfinite(wall.array[5]).all()
    lc = Grid(np.where(np.arange(900).reshape(30, 30) % 2, 1, 2).astype(float), g.transform, g.crs, None)
    with pytest.raises(InvalidParameter, match="sin resistencia en la tabla: 2"):
        build_resistance([{"source": "landcover", "table": {1: 5}, "data": lc}], g)
    with pytest.raises(InvalidParameter, match="no válida; use una de"):
        build_resistance([{"source": "magia"}], g)


def test_uploaded_raster_in_other_crs_is_reprojected_and_checked():
    g = grid(20, 20, 100)
    # 0.0005° cells (~55 m) in EPSG:4326 covering the grid: constant 7 → every analysis cell gets 7.
    from pyproj import Transformer

    to4326 = Transformer.from_crs(9377, 4326, always_xy=True)
    xs, ys = to4326.transform([X0, X0 + 2000], [Y0 - 2000, Y0])
    west, east, south, north = min(xs) - 0.01, max(xs) + 0.01, min(ys) - 0.01, max(ys) + 0.01
    n_c, n_r = int((east - west) / 0.0005) + 1, int((north - south) / 0.0005) + 1
    up = Grid(np.full((n_r, n_c), 7.0), Affine(0.0005, 0, west, 0, -0.0005, north), "EPSG:4326", None)
    s = build_resistance([{"source": "raster", "weight": 1.0, "data": up}], g, base=0.0)
    np.testing.assert_allclose(s.array, 7.0)
    assert any("reproyectado de EPSG:4326 a EPSG:9377" in n for n in s.notes)
    bad = Grid(np.zeros((n_r, n_c)), up.transform, "EPSG:4326", None)
    with pytest.raises(InvalidParameter, match="≤ 0"):
        build_resistance([{"source": "raster", "data": bad}], g, base=0.0)
