"""The map explorer in headless Chromium: loads offline, 42 shapes, click → info panel."""
import pytest

from tests.conftest import external_requests

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_explorer_map(page, live_server, loaded_territory_tx):
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=20000)
    shapes = page.locator("path.leaflet-interactive")
    assert shapes.count() == 42
    assert page.locator(".legend").inner_text().count("\n") >= 5  # title + 5 subregions

    # Clicking a shape fills the panel with that municipality. The click is dispatched on the SVG path
    # itself (Leaflet finds the layer from the event target), so the test does not depend on where the
    # shape's centre falls on screen.
    shapes.nth(0).dispatch_event("click")  # features are ordered by DIVIPOLA: 76001 first
    page.wait_for_selector("#info-name:has-text('Cali')")
    assert "76001" in page.inner_text("#info")

    # Search by name, the panel shows Buenaventura's facts.
    page.fill("#search", "Buenaventura")
    page.dispatch_event("#search", "change")
    page.wait_for_selector("#info-name:has-text('Buenaventura')")
    info = page.inner_text("#info")
    assert "76109" in info and "Buenaventura" in info and "2018" in info
    assert page.locator("#info svg.chart circle").count() == 13  # 2012–2024

    # Choropleth of density: legend shows the indicator and year.
    page.select_option("#mode", "densidad_poblacion")
    page.wait_for_selector(".legend:has-text('Densidad de población')")
    assert "2024" in page.inner_text(".legend")

    assert external_requests(page, live_server) == []
