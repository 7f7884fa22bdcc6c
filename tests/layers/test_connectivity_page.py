"""«Conectividad omnidireccional» in headless Chromium at 1440×900 and 390×844: anonymous users read, an analyst
runs Omniscape on one municipality (Cali, on the DEM) with the derived resistance; a worker thread runs the job;
the four maps come as tiles with legends, the classes table, honest notes and downloads."""
import threading
import time

import pytest
from django.db import connection

from jobs import services as jobs
from jobs.models import Job
from layers.connectivity.models import ConnectivityRun
from tests.conftest import browser_login, external_requests
from tests.layers.test_connectivity_api import import_real_layers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup_tx(transactional_db, media, loaded_territory_tx):
    import_real_layers()


@pytest.fixture
def worker():
    """Runs queued connectivity jobs in a thread, through the worker's own code path (jobs.run_inline)."""
    stop = threading.Event()

    def loop():
        try:
            while not stop.is_set():
                for job in Job.objects.filter(kind="connectivity", state="queued"):
                    jobs.run_inline(job)
                time.sleep(0.2)
        finally:
            connection.close()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield
    stop.set()
    t.join(30)


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)])
def test_run_on_a_municipality_shows_maps_legends_classes_and_downloads(page, live_server, setup_tx, worker,
                                                                        make_user, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(live_server.url + "/conectividad/")
    page.wait_for_selector("#area-codes option[value='76001']")
    assert page.is_disabled("#run") and "Ingrese" in page.inner_text("#login-hint")  # anonymous: read only
    assert "al sur de 4°N" in page.inner_text("#dem-note")

    make_user("analista", "Analista CVC")
    browser_login(page, live_server, "analista", "/conectividad/")
    page.wait_for_selector("#area-codes option[value='76001']")
    page.select_option("#area-kind", "municipio")
    page.select_option("#area-codes", ["76001"])
    page.fill("#cell", "1000")
    page.fill("#radius", "4")
    page.fill("#block", "3")
    page.click("#run")
    page.wait_for_selector("#results:not([hidden])", timeout=180_000)
    assert page.inner_text("#status") == "Terminado"
    run = ConnectivityRun.objects.get()
    assert run.params["area"] == {"kind": "municipio", "codes": ["76001"]}
    # the cumulative current is shown first, as tiles of this run, with its legend (quantile stops)
    page.wait_for_selector("img.leaflet-tile.leaflet-tile-loaded >> nth=0", state="attached", timeout=30_000)
    srcs = page.eval_on_selector_all(".omni-tiles img", "els => els.map(e => e.src)")
    assert srcs and all(f"/api/v1/connectivity/{run.pk}/tiles/corriente/" in s for s in srcs)
    assert page.locator("#legend .legend-row").count() == len(run.report["maps"]["corriente"]["legend"])
    page.check("#map-clases")
    assert page.locator("#legend .legend-row").count() == 4
    assert "Impedido" in page.inner_text("#legend") and "Intensificado" in page.inner_text("#legend")
    rows = page.locator("#classes tbody tr")
    assert rows.count() == 4
    cells = sum(c["cells"] for c in run.report["classes"])
    assert cells > 100
    notes = page.inner_text("#notes")
    assert "Resistencia derivada" in notes and "1 / resistencia" in notes and "efecto de borde" in notes
    assert page.locator("#downloads a").count() == len(run.report["files"])
    # usable on a phone: the panel's controls stay within the viewport's width
    assert page.evaluate("document.querySelector('#run').getBoundingClientRect().right") <= size[0]
    # anyone may view a finished public run: anonymous, it is listed and opens with its maps
    page.context.clear_cookies()
    page.goto(live_server.url + "/conectividad/")
    page.click(f"#recent button[data-run='{run.pk}']")
    page.wait_for_selector("#results:not([hidden])", timeout=30_000)
    assert "Cali" in page.inner_text("#recent") and page.locator("#classes tbody tr").count() == 4
    assert page.locator("#legend .legend-row").count() == len(run.report["maps"]["corriente"]["legend"])
    assert external_requests(page, live_server) == []
