"""«Corredores ecológicos» in headless Chromium on the real layers: default RUNAP cores (south of 4°N),
derived resistance, run with progress, results drawn and listed, a cached rerun, cancel of a long run."""
import re
from pathlib import Path

import pytest
from django.conf import settings

from layers.corridors.models import CorridorRun
from tests.conftest import browser_login, external_requests
from tests.jobs.live import job_worker  # noqa: F401  (runs are jobs: a real worker computes them)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RAW = Path(settings.GEOSIG_RAW_DIR)


@pytest.fixture
def real_layers_tx(transactional_db, media):
    from layers.services.importing import import_layer
    from layers.services.shipped import SHIPPED

    for e in SHIPPED:
        if e["meta"]["slug"] in ("dem-srtm3", "runap-centroides", "red-vial-nacional", "centros-poblados"):
            import_layer(RAW / e["file"], theme=e["theme"], replace=True, metadata=e["meta"])


def test_anonymous_cannot_run(page, live_server, real_layers_tx):
    page.goto(live_server.url + "/corredores/")
    page.wait_for_selector("#core-list input[data-fid='17']")
    assert page.is_disabled("#run")
    assert "Ingrese" in page.inner_text("#login-hint")


def test_run_show_results_and_cancel(page, live_server, real_layers_tx, media, job_worker, make_user):
    make_user("analista", "Analista CVC")
    browser_login(page, live_server, "analista", "/corredores/")
    page.wait_for_selector("#core-list input[data-fid='17']")
    # Nothing ticked at first; «Sugeridos» ticks the public RUNAP areas on the DEM (Farallones = fid 17);
    # points north of 4°N are disabled, and say the DEM only reaches 4°N.
    assert page.locator("#core-list input:checked").count() == 0
    page.click("#cores-suggested")
    assert page.is_checked("#core-list input[data-fid='17']")
    assert page.locator("#core-list input:disabled").count() > 50
    assert "que solo llega hasta 4°N" in page.inner_text("#core-list label.off >> nth=0")
    assert "Resistencia derivada" in page.inner_text("#res-label")
    assert page.locator("#res-table tbody tr").count() == 4
    page.fill("#cell", "1000")
    page.fill("#width", "10000")
    page.click("#run")
    page.wait_for_selector("#results:not([hidden])", timeout=120_000)
    assert page.inner_text("#status") == "Terminado"
    rows = page.locator("#links tbody tr").count()
    run = CorridorRun.objects.get()
    assert rows == len(run.report["links"]) > 5
    assert page.locator("path.corridor-poly").count() >= 1
    assert page.locator("img.current-overlay").count() == 1  # pinch points (current density) over the map
    notes = page.inner_text("#notes")
    assert "disco" in notes and "NO son los límites reales" in notes and "1.000 m de radio" in notes
    assert "Distancia de dispersión" in notes and not re.search(r"\de[+-]?\d", notes)  # never 1.246e+05
    assert not re.search(r"\de[+-]?\d", page.inner_text("#results"))
    assert page.locator("#downloads a").count() == len(run.report["files"])
    assert page.get_attribute("#downloads a >> nth=0", "href").startswith(f"{live_server.url}/api/v1/corridors/{run.pk}/files/")

    # Same inputs again: the cached run answers at once.
    page.click("#run")
    page.wait_for_selector("#status:has-text('reutilizado')", timeout=20_000)
    assert CorridorRun.objects.count() == 1

    # A finer grid takes long enough to cancel: nothing is kept.
    page.fill("#cell", "100")
    page.click("#run")
    page.wait_for_selector("#cancel:not([disabled])")
    page.click("#cancel")
    page.wait_for_selector("#status:has-text('Cancelada')", timeout=120_000)
    last = CorridorRun.objects.order_by("-pk").first()
    assert last.status == "cancelled"
    assert not (Path(media) / "corridors" / str(last.pk)).exists()
    assert external_requests(page, live_server) == []


def _to_screen(page, lon, lat):
    return page.evaluate(f"(() => {{ const p = window.GeoSIGCorridorsMap.latLngToContainerPoint([{lat}, {lon}]);"
                         "const r = document.getElementById('map').getBoundingClientRect();"
                         "return [p.x + r.left, p.y + r.top]; })()")


def _draw_square(page, lon, lat, d):
    page.click("#draw")
    corners = [(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d), (lon, lat)]
    for x, y in (_to_screen(page, *c) for c in corners):
        page.mouse.click(x, y)
        page.wait_for_timeout(150)


def test_draw_two_cores_and_run(page, live_server, real_layers_tx, job_worker, make_user):
    make_user("analista", "Analista CVC")
    browser_login(page, live_server, "analista", "/corredores/")
    page.wait_for_selector("#core-list input[data-fid='17']")
    while page.locator("#core-list input:checked").count():
        page.locator("#core-list input:checked").first.click()
    page.evaluate("window.GeoSIGCorridorsMap.setView([3.48, -76.55], 11, {animate: false})")
    page.wait_for_timeout(300)
    _draw_square(page, -76.62, 3.40, 0.03)
    _draw_square(page, -76.56, 3.52, 0.03)
    assert "2 dibujados" in page.inner_text("#core-count")
    page.fill("#cell", "500")
    page.click("#run")
    page.wait_for_selector("#results:not([hidden])", timeout=120_000)
    run = CorridorRun.objects.get()
    assert len(run.params["cores"]["geojson"]["features"]) == 2 and "layer" not in run.params["cores"]
    assert [c["kind"] for c in run.report["cores"]] == ["polígono", "polígono"]
    assert page.locator("#links tbody tr").count() == 1
    assert "Polígono dibujado 1" in page.inner_text("#links")


def test_cores_all_and_none(page, live_server, real_layers_tx):
    """«Todos» ticks the listed cores inside the DEM (the filter narrows it, accents ignored); «Ninguno» clears."""
    page.goto(live_server.url + "/corredores/")
    page.wait_for_selector("#core-list input[data-fid='17']")
    enabled = page.locator("#core-list input:not(:disabled)").count()
    page.click("#cores-all")
    assert page.locator("#core-list input:checked").count() == enabled > 10
    assert page.inner_text("#core-count").startswith(f"{enabled} ")
    page.click("#cores-none")
    assert page.locator("#core-list input:checked").count() == 0
    page.fill("#core-filter", "farallones")  # «Farallones de Cali»
    shown = page.locator("#core-list input:not(:disabled)").count()
    assert 1 <= shown < enabled
    page.click("#cores-all")
    page.fill("#core-filter", "")
    assert page.locator("#core-list input:checked").count() == shown
    assert page.is_checked("#core-list input[data-fid='17']")
