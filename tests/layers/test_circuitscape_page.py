"""«Corredores ecológicos» page: the Circuitscape circuit options reach the stored run (headless Chromium)."""
from pathlib import Path

import pytest
from django.conf import settings

from layers.corridors.models import CorridorRun
from tests.conftest import browser_login
from tests.layers.strip import strip_files

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


FIX = Path(__file__).parent / "fixtures" / "circuitscape"


def test_circuitscape_modes_page_runs_one_to_all_on_a_phone(page, live_server, make_user, settings, media):
    """/corredores/circuitscape/ at 390×844: a one-to-all run of Circuitscape.jl's case oneToAllVerify1 (its
    files uploaded through the form, its options chosen) shows Circuitscape.jl's published resistances and
    offers the outputs under Circuitscape's names; nothing is wider than the phone's screen."""
    import numpy as np

    settings.CORRIDORS_BACKGROUND = False
    make_user("analista", "Analista CVC")
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(page, live_server, "analista", "/corredores/circuitscape/")
    page.wait_for_selector("#cs-scenario")
    assert page.is_hidden("#cs-advanced") and page.is_visible("#cs-point_file")  # pairwise by default
    page.select_option("#cs-scenario", "advanced")
    assert page.is_visible("#cs-advanced") and page.is_visible("#cs-source_file") and page.is_hidden("#cs-point_file")
    page.select_option("#cs-scenario", "one-to-all")
    case = FIX / "input/raster/one_to_all/1"
    for key, name in (("habitat_file", "cellmap.asc"), ("point_file", "points.asc"), ("polygon_file", "polygons.asc")):
        page.set_input_files(f"#cs-{key}", str(case / name))
        page.wait_for_selector(f"[data-key={key}] .cs-file-status:has-text('listo')")
    page.select_option("#cs-connect_four_neighbors_only", "true")
    page.select_option("#cs-connect_using_avg_resistances", "true")
    page.check("[data-flag=write_volt_maps]")
    page.fill("#cs-output_file", "oneToAllVerify1")
    page.click("#cs-run")
    page.wait_for_selector("#cs-results:not([hidden])", timeout=60_000)
    expected = np.loadtxt(FIX / "output_verify/oneToAllVerify1_resistances.out", ndmin=2)
    rows = page.eval_on_selector_all("#cs-resistances tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert [int(r[0]) for r in rows] == [int(x) for x in expected[:, 0]]
    shown = [float(r[1].replace(".", "").replace(",", ".")) for r in rows]  # es-CO: 1.234,5
    np.testing.assert_allclose(shown, expected[:, 1], atol=1e-5)
    names = page.eval_on_selector_all("#cs-downloads a", "as => as.map(a => a.textContent)")
    assert "oneToAllVerify1_resistances.out" in names and "oneToAllVerify1_cum_curmap.asc" in names
    assert any(n.startswith("oneToAllVerify1_voltmap_") for n in names)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_corridors_page_runs_one_to_all_between_its_cores_on_a_phone(page, live_server, core_layers_tx, make_user,
                                                                     settings, tmp_path):
    """The corridors page's «Circuitscape entre los núcleos elegidos»: its cores file and resistance raster, 4
    neighbours, one-to-all → a strip of w = 4 rows × l = 9 columns of resistance 5 between cores over its end
    columns gives R = 5 × (l − 1)/w = 10 for each core (hand-computed: l − 1 series stages of w parallel
    resistors), shown by core name; downloads under Circuitscape's names; no horizontal scroll at 390 px."""
    settings.CORRIDORS_BACKGROUND = False
    make_user("analista", "Analista CVC")
    gpkg, tif = strip_files(tmp_path)
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(page, live_server, "analista", "/corredores/")
    page.wait_for_selector("#core-list input[data-fid='17']")
    page.set_input_files("#cores-file", str(gpkg))
    page.wait_for_selector("#cores-file-status:has-text('listo')")
    page.set_input_files("#res-file", str(tif))
    page.wait_for_selector("#res-file-status:has-text('listo')")
    page.select_option("#circuit-connectivity", "4")
    page.select_option("#cs-mode", "one-to-all")
    page.click("#cs-run")
    page.wait_for_selector("#cs-table:not([hidden])", timeout=60_000)
    rows = page.eval_on_selector_all("#cs-table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert rows[1:] == [["Oeste", "10"], ["Este", "10"]], rows
    names = page.eval_on_selector_all("#cs-downloads a", "as => as.map(a => a.textContent)")
    assert "circuitscape_resistances.out" in names and "circuitscape_cum_curmap.tif" in names
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
