"""«Corredores ecológicos» with files (issue 15): a cores GeoPackage and a resistance GeoTIFF uploaded from
the page, a run on the raster's own grid, Linkage Mapper downloads; a bad raster answered in Spanish."""
import numpy as np
import pytest

from layers.corridors.models import CorridorRun
from tests.conftest import browser_login, external_requests
from tests.layers.test_corridors_files import COLS, ROWS, cores_gdf, resistance_array, write_tif

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)])
def test_upload_files_and_run_on_the_raster_grid(page, live_server, media, make_user, tmp_path, viewport, settings):
    settings.CORRIDORS_BACKGROUND = False  # the run executes in the request (no worker in this test)
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    tif = write_tif(tmp_path / "resistencia.tif", resistance_array())
    gpkg = tmp_path / "nucleos.gpkg"
    cores_gdf().to_file(gpkg, driver="GPKG")
    r = resistance_array()
    r[4, 9] = 0.0
    bad = write_tif(tmp_path / "con_cero.tif", r)
    make_user("analista", "Analista CVC")
    browser_login(page, live_server, "analista", "/corredores/")
    page.wait_for_selector("#res-table tbody tr")
    # a resistance with a 0: refused by the server, said in Spanish with where it is
    page.set_input_files("#res-file", str(bad))
    page.wait_for_selector("#error:not([hidden])")
    err = page.inner_text("#error")
    assert "1 celda(s) con valor ≤ 0" in err and "fila 5, columna 10" in err and "cobertura" in err
    page.set_input_files("#cores-file", str(gpkg))
    page.wait_for_selector("#cores-file-status:has-text('listo')")
    page.set_input_files("#res-file", str(tif))
    page.wait_for_selector("#res-file-status:has-text('listo')")
    page.uncheck("#pinch")
    page.fill("#width", "1000000")
    page.click("#run")
    page.wait_for_selector("#results:not([hidden])", timeout=120_000)
    run = CorridorRun.objects.get()
    assert run.params["resistance"]["raster"]["name"] == "resistencia.tif" and "cell_size" not in run.params
    assert f"grilla {ROWS} × {COLS} de 100 m" in page.inner_text("#summary")
    assert "sin remuestreo" in page.inner_text("#notes")
    links = [a.inner_text() for a in page.locator("#downloads a").all()]
    assert "corredores_linkTable.csv" in links and "cwd_1.tif" in links
    assert page.locator("#links tbody tr").count() == len(run.report["links"]) > 2
    assert np.isfinite(run.report["links"][0]["cwd"])
    assert external_requests(page, live_server) == []
