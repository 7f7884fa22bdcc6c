"""«Capas ambientales» list in headless Chromium: layers grouped by theme (collapsible), a search box that
ignores accents and case, one «PARCIAL» (not «PARCIAL: PARCIAL:»), an area overlay that lists empty layers
once (never «Sin elementos en este punto.») and zooms the map to the picked municipality."""
import geopandas as gpd
import pytest

from layers.services.importing import import_layer
from tests.conftest import external_requests, wait_for_js
from tests.layers.conftest import square_9377, to_4326, write_vector

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NORTH = 130_000  # m north of Cali: inside the Valle (Tuluá–Zarzal), far outside Cali


@pytest.fixture
def themed_layers(tmp_path, loaded_territory_tx):
    def layer(slug, title, theme, y, **meta):
        gdf = gpd.GeoDataFrame({"clase": ["A"]}, geometry=to_4326([square_9377(0, y, 2000)]), crs=4326)
        import_layer(write_vector(tmp_path / f"{slug}.geojson", gdf, "GeoJSON"), theme=theme,
                     metadata={"slug": slug, "title": title, **meta})

    layer("rios", "Ríos principales", "hidrografia", 0)
    layer("humedales", "Humedales", "hidrografia", 0)
    layer("paramos", "Páramos delimitados (PARCIAL: solo Chocó)", "ecosistemas", 0, is_partial=True,
          caveat="PARCIAL: faltan los páramos de la cordillera Central.")
    layer("vias", "Vías lejanas", "infraestructura", NORTH)


def test_search_groups_partial_and_area_overlay(page, live_server, themed_layers):
    page.goto(live_server.url + "/capas/")
    page.wait_for_selector("#row-vias")
    groups = page.eval_on_selector_all("details.layer-group > summary", "ss => ss.map(s => s.textContent.trim())")
    assert sorted(groups) == ["Ecosistemas (1)", "Hidrografía (2)", "Infraestructura (1)"]
    assert page.locator("#group-hidrografia .layer-row").count() == 2
    # collapsible: closing a group hides its rows
    page.click("#group-hidrografia > summary")
    assert not page.is_visible("#row-rios") and page.is_visible("#row-vias")
    page.click("#group-hidrografia > summary")

    def shown():
        return sorted(page.eval_on_selector_all(".layer-row", "rs => rs.filter(r => r.offsetParent).map(r => r.id)"))

    page.fill("#layer-search", "RIOS")  # no accent, other case: finds «Ríos principales»
    assert shown() == ["row-rios"]
    assert not page.is_visible("#group-ecosistemas") and not page.is_visible("#layer-none")
    page.fill("#layer-search", "páramo")
    assert shown() == ["row-paramos"]
    page.fill("#layer-search", "hidrografia")  # the theme matches too
    assert shown() == ["row-humedales", "row-rios"]
    page.fill("#layer-search", "zzz")
    assert shown() == [] and page.is_visible("#layer-none")
    page.fill("#layer-search", "")
    assert len(shown()) == 4

    # the title already says PARCIAL: no second badge
    assert page.inner_text("#row-paramos .layer-head").count("PARCIAL") == 1

    # pick Cali with no layer visible: every layer is summarised; the far one is listed once as empty
    zoom0 = page.evaluate("window.GeoSIGLayersMap.getZoom()")
    page.select_option("#area-kind", "municipio")
    page.select_option("#area-code", "76001")
    page.wait_for_selector("#summary strong:has-text('Cali')")
    summary = page.inner_text("#summary")
    assert "PARCIAL: PARCIAL" not in summary and "PARCIAL: faltan los páramos" in summary
    assert "Sin elementos en este punto" not in summary
    assert "Sin elementos en el área: Vías lejanas" in page.inner_text("#summary-empty")
    assert page.locator("#summary .summary-layer[data-slug=vias]").count() == 0
    # the map zooms to Cali
    wait_for_js(page, f"window.GeoSIGLayersMap.getZoom() > {zoom0}")
    assert page.evaluate("window.GeoSIGLayersMap.getBounds().contains([3.45, -76.53])")
    assert page.evaluate("window.GeoSIGLayersMap.getBounds().getEast() < -75.8")
    assert "Sin elementos en este punto" not in page.inner_text("#identify")
    assert external_requests(page, live_server) == []
