"""/ciudades/ in headless Chromium: a scenario editor creates, edits and deletes a scenario on the page
(the API's service and checks: refused input shown as text, nothing saved); downloads offer the wide table
and «Excel (es)»; the page tells no one to run a command."""
import pytest

from cities.models import Scenario
from tests.conftest import browser_login, external_requests

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_editor_creates_edits_and_deletes_a_scenario(page, live_server, loaded_territory_tx, make_user):
    from cities.services.loading import load_cities

    load_cities()
    make_user("planner", is_staff=True)
    browser_login(page, live_server, "planner", "/ciudades/")
    page.click("#scenario-new summary")
    page.fill("#sc-name", "valle-<b>x</b>")
    page.select_option("#sc-kind", "optimistic")
    page.click("#scenario-form button[type=submit]")
    page.wait_for_selector("#sc-error:not(:empty)")
    assert "name" in page.inner_text("#sc-error") or "nombre" in page.inner_text("#sc-error")
    assert page.locator("#sc-error b").count() == 0 and not Scenario.objects.exists()

    page.fill("#sc-name", "centro-crece")
    page.fill("#sc-adj", "centro=+0.7")
    page.fill("#sc-desc", "Centro con más crecimiento")
    page.click("#scenario-form button[type=submit]")
    page.wait_for_url("**scenario=centro-crece**")
    assert page.locator("#scenario option[value=centro-crece]").count() == 1
    assert page.eval_on_selector("#scenario", "s => s.value") == "centro-crece"

    # edit: pick it, the form fills in, change the horizon and the adjustment
    page.click("#scenario-new summary")
    page.select_option("#sc-edit", "centro-crece")
    assert page.input_value("#sc-adj") == "centro=0.7" and page.input_value("#sc-desc") == "Centro con más crecimiento"
    page.fill("#sc-horizon", "1990")
    page.click("#scenario-form button[type=submit]")
    page.wait_for_selector("#sc-error:has-text('horizonte')")
    assert Scenario.objects.get(name="centro-crece").horizon_year == 2035  # refused edit: unchanged
    page.fill("#sc-horizon", "2040")
    page.fill("#sc-adj", "centro=-0.3")
    page.click("#scenario-form button[type=submit]")
    page.wait_for_selector("#scenario option[value=centro-crece]:has-text('2040')", state="attached")
    sc = Scenario.objects.get(name="centro-crece")
    assert sc.horizon_year == 2040 and list(sc.adjustments.values_list("growth_pp", flat=True)) == [-0.3]

    # delete (after the confirmation dialog)
    page.click("#scenario-new summary")
    page.select_option("#sc-edit", "centro-crece")
    page.once("dialog", lambda d: d.accept())
    page.click("#sc-delete")
    page.wait_for_url("**/ciudades/?basis=total")
    assert not Scenario.objects.exists()
    assert page.locator("#scenario option[value=centro-crece]").count() == 0
    assert external_requests(page, live_server) == []


def test_downloads_and_no_command_instructions(page, live_server, loaded_territory_tx, make_user):
    from cities.services.loading import load_cities

    load_cities()
    make_user("lector")
    browser_login(page, live_server, "lector", "/ciudades/")
    hrefs = page.eval_on_selector_all("#downloads a", "as => as.map(a => a.getAttribute('href'))")
    assert any("report.csv_es" in h and "tabla=municipios" in h for h in hrefs)
    assert any("report.csv?" in h and "tabla=municipios" in h for h in hrefs)
    assert "Excel (es)" in page.inner_text("#downloads")
    text = page.inner_text("main")
    assert "ejecute" not in text.lower() and "comando" not in text.lower() and "manage.py" not in text
    assert page.locator("#scenario-new").count() == 0  # not a scenario editor
    measure = page.inner_text("#measures tr[data-key=weighted_time_to_intermediate]")
    assert "que no lo son" in measure
