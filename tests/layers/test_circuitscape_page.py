"""«Corredores ecológicos» page: the Circuitscape circuit options reach the stored run (headless Chromium)."""
from pathlib import Path

import pytest
from django.conf import settings

from layers.corridors.models import CorridorRun
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RAW = Path(settings.GEOSIG_RAW_DIR)


@pytest.fixture
def core_layers_tx(transactional_db, media):
    from layers.services.importing import import_layer
    from layers.services.shipped import SHIPPED

    for e in SHIPPED:
        if e["meta"]["slug"] in ("dem-srtm3", "runap-centroides"):
            import_layer(RAW / e["file"], theme=e["theme"], replace=True, metadata=e["meta"])


def test_circuit_options_are_sent_and_stored(page, live_server, core_layers_tx, make_user):
    make_user("analista", "Analista CVC")
    browser_login(page, live_server, "analista", "/corredores/")
    page.wait_for_selector("#core-list input[data-fid='17']")
    assert page.inner_text("#circuit-options legend") == "Circuito (opciones de Circuitscape)"
    page.click("#cores-suggested")
    page.select_option("#circuit-connectivity", "4")
    page.select_option("#circuit-averaging", "conductance")
    page.select_option("#circuit-combine", "cumulative")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/corridors/") and r.request.method == "POST") as resp:
        page.click("#run")
    assert resp.value.status in (200, 202), resp.value.text()
    run = CorridorRun.objects.get()
    assert run.params["circuit"] == {"connectivity": 4, "averaging": "conductance", "combine": "cumulative"}
    page.click("#cancel")
