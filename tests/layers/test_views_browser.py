"""«Capas ambientales» in headless Chromium: toggle a layer (MVT drawn), identify a point, draw a
polygon and read the overlay summary, pick a municipality; nothing requested outside the server."""
import geopandas as gpd
import numpy as np
import pytest
import shapely

from layers.services.importing import import_layer
from tests.conftest import external_requests, wait_for_js
from tests.layers.conftest import X0, Y0, square_9377, synthetic_raster, to_4326, write_vector

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shown_layers(tmp_path, loaded_territory_tx):
    polys = gpd.GeoDataFrame({"clase": ["A", "B"]},
                             geometry=to_4326([square_9377(0, 0, 10_000), square_9377(-4000, 1000, 2000)]), crs=4326)
    import_layer(write_vector(tmp_path / "cob.geojson", polys, "GeoJSON"), metadata={"title": "Coberturas prueba"})
    values = np.full((30, 30), 1500.0)
    import_layer(synthetic_raster(tmp_path / "alt.tif", values, west=-76.70, north=3.60, res=0.01),
                 metadata={"title": "Altitud prueba", "unit": "m"})


def _to_screen(page, lon, lat):
    pt = page.evaluate(f"(() => {{ const p = window.GeoSIGLayersMap.latLngToContainerPoint([{lat}, {lon}]);"
                       "const r = document.getElementById('map').getBoundingClientRect();"
                       "return [p.x + r.left, p.y + r.top]; })()")
    return pt[0], pt[1]


def test_toggle_identify_draw_and_pick(page, live_server, shown_layers):
    page.goto(live_server.url + "/capas/")
    page.wait_for_selector("#chk-cob")
    assert page.locator(".layer-row").count() == 2
    legend = page.inner_text("#row-cob .layer-legend")
    assert "A" in legend and "B" in legend

    # toggle the vector layer: its tiles (.pbf) arrive and the canvas draws features
    with page.expect_response(lambda r: "/api/v1/layers/cob/tiles/" in r.url and r.status == 200):
        page.check("#chk-cob")
    wait_for_js(page, "[...document.querySelectorAll('.layer-cob canvas')].some(c => +c.dataset.features > 0)")
    page.uncheck("#chk-cob")
    assert page.locator(".layer-cob").count() == 0
    page.check("#chk-cob")
    page.check("#chk-alt")

    # identify inside square A and on the raster
    centre_a = to_4326([shapely.Point(X0 + 5000, Y0 + 5000)]).iloc[0]
    page.evaluate(f"window.GeoSIGLayersMap.setView([{centre_a.y}, {centre_a.x}], 11)")
    page.wait_for_timeout(300)
    page.mouse.click(*_to_screen(page, centre_a.x, centre_a.y))
    page.wait_for_selector("#identify .identify-layer[data-slug=cob] table")
    assert "clase" in page.inner_text("#identify [data-slug=cob]") and "A" in page.inner_text("#identify [data-slug=cob]")
    assert "1.500" in page.inner_text("#identify [data-slug=alt]")  # es-CO thousands separator

    # draw a polygon around square B (wholly inside) and read the summary
    b = to_4326([square_9377(-4000, 1000, 2000).buffer(500, join_style="mitre")]).iloc[0]
    (x0, y0), (x1, y1) = _to_screen(page, b.bounds[0], b.bounds[1]), _to_screen(page, b.bounds[2], b.bounds[3])
    page.click("#draw")
    for x, y in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]:
        page.mouse.click(x, y)
        page.wait_for_timeout(150)
    page.wait_for_selector("#summary .summary-layer[data-slug=cob] table")
    text = page.inner_text("#summary [data-slug=cob]")
    assert "B" in text and "4" in text  # square B: 4 km²
    assert "A" not in text.split("\n", 1)[1].replace("Área", "")  # A lies outside the drawn polygon
    assert "1.500" in page.inner_text("#summary [data-slug=alt] .stat-mean")

    # pick a municipality: summary for Cali with its area
    page.select_option("#area-kind", "municipio")
    page.select_option("#area-code", "76001")
    page.wait_for_selector("#summary strong:has-text('Cali')")
    assert "km²" in page.inner_text("#summary")

    assert external_requests(page, live_server) == []
