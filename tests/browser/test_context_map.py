"""The offline context map on every map page (Chromium): its panes fill with tiles from this site, the
layers control switches it off, nothing leaves localhost; the optional online base map still works."""
import pytest

from tests.conftest import external_requests, wait_for_js
from tests.territorial.test_context_map import import_shipped

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTEXT = "Contexto (datos propios)"
LINES = ".leaflet-geosigContext-pane canvas.geosig-context-tile"
RELIEF = ".leaflet-geosigRelief-pane img"
LABELS = ".leaflet-geosigContextLabels-pane .geosig-context-label"
MAP_PAGES = ["/", "/pot/conflictos/", "/capas/", "/corredores/", "/ciudades/?year=2018&basis=cabecera"]


@pytest.fixture
def context_layers(loaded_territory_tx, settings, tmp_path):
    from geosig import versioned

    settings.MEDIA_ROOT = tmp_path / "media"
    versioned._local.clear()
    import_shipped("rio-cauca", "red-vial-nacional")


@pytest.fixture
def cities_loaded(context_layers):
    from cities.services.loading import load_cities

    load_cities()


def toggle(page, name):
    page.hover(".leaflet-control-layers")  # the control is collapsed: it opens on hover
    page.locator(".leaflet-control-layers-overlays label", has_text=name).locator("input").click()


def test_every_map_page_shows_the_context_and_can_switch_it_off(page, live_server, cities_loaded):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    for path in MAP_PAGES:
        page.goto(live_server.url + path)
        wait_for_js(page, f'document.querySelectorAll("{LINES}").length > 0 && '
                          f'document.querySelectorAll("{RELIEF}").length > 0', timeout=20_000)
        wait_for_js(page, f"""Array.from(document.querySelectorAll("{LINES}"))
            .some(c => (c.dataset.layers || "").includes("departamento"))""", timeout=20_000)
        assert page.locator(".leaflet-control-layers-overlays label", has_text=CONTEXT).count() == 1, path
        assert "Relieve: SRTM, sólo al sur de 4°N" in page.inner_text(".leaflet-control-attribution"), path
        if path == "/":  # the default view (zoom 8): every seat has its label, as text
            wait_for_js(page, f'document.querySelectorAll("{LABELS}").length === 42')
            names = page.evaluate(f'Array.from(document.querySelectorAll("{LABELS}")).map(el => el.textContent)')
            assert "Santiago de Cali" in names and len(set(names)) == 42
            page.wait_for_timeout(300)  # the declutter pass runs on the next animation frame
            shown = page.evaluate(f"""Array.from(document.querySelectorAll("{LABELS}"))
                .filter(el => getComputedStyle(el).visibility === "visible")
                .map(el => {{ const r = el.getBoundingClientRect();
                             return [el.textContent, r.left, r.top, r.right, r.bottom]; }})""")
            assert "Santiago de Cali" in [s[0] for s in shown] and 10 < len(shown) < 42  # overlaps hidden
            for i, a in enumerate(shown):  # no two visible labels overlap
                for b in shown[i + 1:]:
                    assert a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2], (a, b)
        toggle(page, CONTEXT)
        wait_for_js(page, f'document.querySelectorAll("{LINES}, {RELIEF}, {LABELS}").length === 0')
        toggle(page, CONTEXT)  # and back on
        wait_for_js(page, f'document.querySelectorAll("{LINES}").length > 0')
    assert errors == []
    assert external_requests(page, live_server) == []
    assert any("/api/v1/context/tiles/" in u for u in page.requested_urls)
    assert any("/api/v1/context/relief/" in u for u in page.requested_urls)


def test_online_base_map_is_a_second_switchable_layer(page, live_server, context_layers, settings):
    # an "online" base map served by the test server itself, so the test stays offline
    settings.GEOSIG_BASEMAP_URL = live_server.url + "/static/base-en-linea/{z}/{x}/{y}.png"
    page.goto(live_server.url + "/capas/")
    wait_for_js(page, f'document.querySelectorAll("{LINES}").length > 0')
    labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [t.strip() for t in labels][:2] == ["Mapa base en línea", CONTEXT]
    wait_for_js(page, 'document.querySelectorAll(".leaflet-tile-pane img[src*=\'base-en-linea\']").length > 0')
    toggle(page, "Mapa base en línea")
    wait_for_js(page, 'document.querySelectorAll(".leaflet-tile-pane img[src*=\'base-en-linea\']").length === 0')
    assert page.locator(LINES).count() > 0  # the context stays
