"""The "Sistema de ciudades" page in headless Chromium: map drawn from local assets, the computed Gini shown."""
import pytest
from django.utils.formats import number_format

from tests.conftest import external_requests

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_balance_page(page, live_server, loaded_territory_tx):
    from cities.services.loading import load_cities
    from cities.services.report import balance_report

    load_cities()
    expected = balance_report(2018, "cabecera").measure("gini").value
    page.goto(live_server.url + "/ciudades/?year=2018&basis=cabecera")
    page.wait_for_selector("body[data-cities-map=ready]", timeout=20000)
    cell = page.locator("#measures tr[data-key=gini] td.num")
    assert float(cell.get_attribute("data-value")) == pytest.approx(expected)
    shown = cell.inner_text().strip()
    assert shown == number_format(round(expected, 4), 4, use_l10n=True, force_grouping=True).rstrip("0")
    # 42 cabeceras + 527 centros poblados drawn as circle markers; network links as polylines
    assert page.locator("path.leaflet-interactive").count() >= 569
    assert "Cali" in page.inner_text("table[data-table=municipios] tbody tr:first-child")
    assert page.locator("figure img.chart").count() >= 3  # rank-size, Lorenz, Theil charts (SVG images)

    # switching to total population 2024 compared with 2012 shows the comparison table
    page.select_option("#basis", "total")
    page.select_option("#year", "2024")
    page.select_option("#compare", "2012")
    page.click("#cities-form button[type=submit]")
    page.wait_for_selector("#comparison")
    assert "2012" in page.inner_text("#comparison") and "2024" in page.inner_text("#comparison")
    assert external_requests(page, live_server) == []


def test_staff_creates_a_scenario_from_the_page(page, live_server, loaded_territory_tx, django_user_model):
    from cities.services.loading import load_cities

    load_cities()
    django_user_model.objects.create_user("planner", password="clave-segura-1", is_staff=True)
    page.goto(live_server.url + "/cuentas/ingresar/?next=/ciudades/")
    page.fill("input[name=username]", "planner")
    page.fill("input[name=password]", "clave-segura-1")
    page.click("form button[type=submit], form input[type=submit]")
    page.goto(live_server.url + "/ciudades/")
    page.click("#scenario-new summary")
    page.fill("#sc-name", "norte-crece")
    page.select_option("#sc-kind", "optimistic")
    page.fill("#sc-adj", "marte=1")
    page.click("#scenario-form button[type=submit]")
    page.wait_for_selector("#sc-error:has-text('Subregión desconocida')")
    page.fill("#sc-adj", "norte=+0.8")
    page.click("#scenario-form button[type=submit]")
    page.wait_for_url("**scenario=norte-crece**")
    page.wait_for_selector("body[data-cities-map=ready]", state="attached")
    assert "escenario norte-crece" in page.inner_text(".report-meta")
    assert external_requests(page, live_server) == []
