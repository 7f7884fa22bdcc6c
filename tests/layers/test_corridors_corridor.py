"""Least-cost corridors checked against CWDs computed independently with skimage.graph.MCP_Geometric."""

import numpy as np
import pytest
from skimage.graph import MCP_Geometric

from geosig.errors import InvalidParameter
from layers.corridors.corridor import corridors


def sk_cwd(res, cells, cell):
    sk = np.where(np.isfinite(res), res, np.inf)
    costs, _ = MCP_Geometric(sk, fully_connected=True, sampling=(cell, cell)).find_costs([tuple(c) for c in cells])
    return costs


def smooth_field(shape, seed):
    rng = np.random.default_rng(seed)
    small = rng.uniform(1, 30, (shape[0] // 8 + 2, shape[1] // 8 + 2))
    big = np.kron(small, np.ones((8, 8)))[: shape[0], : shape[1]]
    return big + rng.uniform(0, 3, shape)


def test_nlcc_is_cwd_sum_minus_lcd_and_zero_on_lcp():
    res = smooth_field((64, 90), 3)
    cores = np.zeros(res.shape, np.int32)
    cores[5:10, 5:10] = 1
    cores[50:56, 75:82] = 2
    cores[8:12, 70:74] = 3
    width = 400.0
    out = corridors(res, cores, cell_size=10.0, width=width, threads=2)
    cwd = {k: sk_cwd(res, np.argwhere(cores == k), 10.0) for k in (1, 2, 3)}
    ok_links = [lk for lk in out.links if lk.status == "ok"]
    assert {(lk.a, lk.b) for lk in ok_links} == {(1, 2), (1, 3), (2, 3)}
    expected = np.full(res.shape, np.inf)
    for lk in ok_links:
        lcd = cwd[lk.a][cores == lk.b].min()  # independent LCD
        assert lk.lcd == pytest.approx(lcd, rel=1e-9)
        nlcc = cwd[lk.a] + cwd[lk.b] - lcd
        # Along the least-cost path the independent NLCC is zero (to rounding) ...
        on_path = nlcc[lk.path[:, 0], lk.path[:, 1]]
        np.testing.assert_allclose(on_path, 0.0, atol=1e-9 * lcd)
        assert out.corridor[lk.path[:, 0], lk.path[:, 1]].max() <= 1e-9 * lcd
        expected = np.minimum(expected, nlcc)
    # ... and everywhere inside the truncated corridor the mosaic equals min over pairs of CWD_A + CWD_B − LCD.
    inside = expected <= width
    assert inside.sum() > 200
    np.testing.assert_allclose(out.corridor[inside], expected[inside], rtol=1e-9, atol=1e-7)
    assert np.array_equal(out.truncated(), inside)


def test_link_table_on_uniform_surface():
    res = np.ones((20, 40))
    cores = np.zeros(res.shape, np.int32)
    cores[8:12, 2:5] = 1
    cores[8:12, 16:19] = 2
    out = corridors(res, cores, cell_size=10.0, width=50.0)
    (lk,) = out.links
    # Edge cells in column 4 and 16: 12 cardinal steps of 10 m through resistance 1.
    assert lk.status == "ok"
    assert lk.lcd == pytest.approx(120.0)
    assert lk.euclid == pytest.approx(120.0)
    assert lk.path_len == pytest.approx(120.0)
    assert lk.cwd_to_euclid == pytest.approx(1.0) and lk.cwd_to_path == pytest.approx(1.0)
    row = out.link_rows({1: "A", 2: "B"})[0]
    assert row["name_a"] == "A" and row["cwd"] == pytest.approx(120.0)


def two_channels():
    """Top channel (resistance 1) holds core 3 midway; bottom channel (resistance 3) is free.

    A (1) and B (2) sit in the left/right connectors: their allocation zones meet in the bottom channel, so
    they are adjacent, but their least-cost path runs along the cheaper top channel through core 3.
    """
    res = np.full((21, 61), np.nan)
    res[5, 2:59] = 1.0
    res[15, 2:59] = 3.0
    res[5:16, 2] = 1.0
    res[5:16, 58] = 1.0
    cores = np.zeros(res.shape, np.int32)
    cores[10, 2] = 1
    cores[10, 58] = 2
    cores[5, 30] = 3
    return res, cores


def test_link_through_another_core_is_dropped():
    res, cores = two_channels()
    out = corridors(res, cores, cell_size=1.0, width=5.0)
    by_pair = {(lk.a, lk.b): lk for lk in out.links}
    assert by_pair[(1, 2)].status == "through_core" and by_pair[(1, 2)].via == 3
    assert by_pair[(1, 3)].status == "ok" and by_pair[(2, 3)].status == "ok"
    # The dropped link is not in the corridor mosaic.
    assert all(out.links[i - 1].status == "ok" for i in np.unique(out.corridor_link) if i)


def test_too_long_links_dropped_and_touching_cores_reported():
    res, cores = two_channels()
    out = corridors(res, cores, cell_size=1.0, width=5.0, max_link_cwd=30.0)
    # A–3 costs 4 + √2 + 27 ≈ 32.4 > 30, 3–B the same, A–B ≈ 66: all three are too long.
    assert [lk.status for lk in out.links] == ["too_long"] * 3
    assert np.isinf(out.corridor).all()
    res = np.ones((10, 10))
    cores = np.zeros(res.shape, np.int32)
    cores[2:5, 2:5] = 1
    cores[2:5, 5:8] = 2  # shares an edge with core 1
    out = corridors(res, cores, cell_size=1.0, width=3.0)
    assert out.links[0].status == "touching" and out.links[0].lcd == pytest.approx(1.0)
    assert any("contiguos" in n for n in out.notes)


def test_bad_inputs():
    res = np.ones((10, 10))
    one = np.zeros(res.shape, np.int32)
    one[2, 2] = 1
    with pytest.raises(InvalidParameter, match="al menos dos núcleos"):
        corridors(res, one, 1.0, 5.0)
    split = np.ones((10, 10))
    split[:, 5] = np.nan
    two = one.copy()
    two[7, 8] = 2
    with pytest.raises(InvalidParameter, match="Ningún par"):
        corridors(split, two, 1.0, 5.0)
    with pytest.raises(InvalidParameter, match="ancho"):
        corridors(res, two, 1.0, 0)
    three = two.copy()
    three[7, 1] = 3  # core 3 and 1 share the left half; core 2 is cut off by the wall
    out = corridors(split, three, 1.0, 5.0)
    assert any("aislados" in n and "2" in n for n in out.notes)
    blocked = res.copy()
    blocked[2, 2] = np.nan
    with pytest.raises(InvalidParameter, match="barreras"):
        corridors(blocked, two, 1.0, 5.0)
    neg = res.copy()
    neg[0, 0] = -1
    with pytest.raises(InvalidParameter, match="≤ 0"):
        corridors(neg, two, 1.0, 5.0)
