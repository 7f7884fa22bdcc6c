"""Fact sheets in headless Chromium (1440×900 and 390×844): the page from the explorer's link, its tables
inside the viewport, and its PDF — first page rasterised with poppler (pdftoppm) and its text read
(pdftotext): the municipality's name and its NBI as in DANE's table (Buenaventura 16,65 %)."""
import subprocess

import pytest
from PIL import Image

from tests.conftest import external_requests

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_factsheet_page_and_pdf(browser, live_server, loaded_territory_tx, tmp_path, width, height):
    context = browser.new_context(locale="es-CO", viewport={"width": width, "height": height})
    page = context.new_page()
    page.requested_urls = []
    page.on("request", lambda req: page.requested_urls.append(req.url))
    try:
        # from the explorer: search, the panel links to the sheet
        page.goto(live_server.url + "/")
        page.wait_for_selector("body[data-ready=true]", timeout=20000)
        page.fill("#search", "Buenaventura")
        page.dispatch_event("#search", "change")
        page.wait_for_selector("#info-factsheet", timeout=20000)
        assert page.get_attribute("#info-factsheet-subregion", "href") == "/fichas/subregion/buenaventura/"
        page.click("#info-factsheet")
        page.wait_for_selector("#factsheet-title")
        assert page.inner_text("#factsheet-title") == "Ficha municipal: Buenaventura"
        nbi = page.locator("#seccion-indicadores tr", has_text="NBI: personas").first
        assert "16,65" in nbi.inner_text() and "14,28" in nbi.inner_text()
        # nothing wider than the screen: tables scroll inside their own box
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert external_requests(page, live_server) == []

        href = page.get_attribute("#factsheet-pdf", "href")
        resp = page.request.get(page.url.split("?")[0] + href)
        assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
        pdf = tmp_path / "ficha.pdf"
        pdf.write_bytes(resp.body())
        subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-png", str(pdf), str(tmp_path / "p")],
                       check=True)
        png = next(tmp_path.glob("p*.png"))
        img = Image.open(png).convert("L")
        assert img.width < img.height  # A4 portrait
        assert img.getextrema()[0] < 128  # the first page has ink (text), not a blank page
        text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], check=True, capture_output=True,
                              text=True).stdout
        assert "Ficha municipal: Buenaventura" in text and "16,65" in text
    finally:
        context.close()


def test_explorer_nbi_choropleth_shows_references(page, live_server, loaded_territory_tx):
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=20000)
    page.select_option("#mode", "nbi_total")
    page.wait_for_selector(".legend:has-text('NBI')")
    assert "2018" in page.inner_text(".legend")
    source = page.inner_text("#indicator-source")
    assert "DANE" in source and "6,18" in source and "14,28" in source
    page.select_option("#mode", "idf")
    page.wait_for_selector(".legend:has-text('Desempeño Fiscal')")
    assert "no publicado" in page.inner_text("#indicator-source")
