"""The POT amend cycle through the pages in headless Chromium at 1440×900 (issue #9): the planner starts a
revision of the approved plan, edits it and submits it; the CVC reviewer finds it in the queue, waives its gate
with a reason and approves it; the old plan shows «Reemplazada» with a link to the new one. With
GEOSIG_WALKTHROUGH_DIR set (scripts/walkthrough.sh) it also writes the screenshots of docs/walkthrough/."""
import pytest

from tests.conftest import browser_login, wait_for_js
from tests.territorial.test_pot_ui_browser import _map_point, _open_editor, plan_with_zones, pot_world  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Shots:
    """Screenshots of the amend cycle for docs/walkthrough/ when GEOSIG_WALKTHROUGH_DIR is set
    (scripts/walkthrough.sh); otherwise nothing is written. JPEG at quality 70 keeps a 1440×900 map page
    well under 250 KB."""

    def __init__(self):
        import os
        from pathlib import Path

        target = os.environ.get("GEOSIG_WALKTHROUGH_DIR")
        self.dir = Path(target) if target else None
        self.n = 0

    def __call__(self, page, name):
        if self.dir is None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        self.n += 1
        page.wait_for_timeout(400)  # let the map finish its zoom animation
        if page.locator("#conflicts").count():  # the editor: wait for its conflict list
            wait_for_js(page, "!document.getElementById('conflicts').textContent.startsWith('Calculando')")
        page.screenshot(path=str(self.dir / f"{self.n:02d}-{name}.jpg"), type="jpeg", quality=70)


def _confirm(page, action, reason=None):
    page.click(f"#workflow button[data-action={action}]")
    if reason is not None:
        page.fill("#cd-reason", reason)
    page.click("#cd-ok")


def test_amend_cycle_through_the_pages(pot_world, page, browser, live_server):
    """Planner: «Modificar el plan» on Tuluá's approved plan → a new draft that names the plan it replaces →
    deletes «Centro» (a gap: a gate, amber; no «submit» while it is open). Reviewer: finds the draft in the
    filtered list and waives the gate with a reason. Planner: submits. Reviewer: the queue lists it, starts
    the review and approves. The old plan is «Reemplazada» and links to the new one. (A gate blocks the
    submission, so the CVC waives it before — POT-CONTRACT.md, option (b).)"""
    from territorial.pot.models import Plan, PlanWaiver

    shots = Shots()
    tulua = pot_world["tulua"]
    old = plan_with_zones(pot_world["planner"], tulua, "POT Tuluá 2026", status="aprobada")
    _open_editor(page, live_server, "planificadora", old)
    page.wait_for_selector("#workflow button[data-action=revise]")
    assert [b.get_attribute("data-action") for b in page.locator("#workflow button").all()] == ["revise"]
    shots(page, "planificador-plan-aprobado")
    page.click("#workflow button[data-action=revise]")
    assert page.evaluate("document.getElementById('confirm-dialog').open")
    shots(page, "planificador-confirma-modificacion")
    page.click("#cd-ok")
    page.wait_for_url(lambda url: f"/pot/planes/{old.pk}/" not in url)
    new = Plan.objects.get(replaces=old)
    assert page.url.endswith(f"/pot/planes/{new.pk}/")
    wait_for_js(page, "window.POTEditor && POTEditor.state() !== null")
    page.wait_for_selector(f"#link-replaces:has-text('{old.name}')")
    assert page.get_attribute("#link-replaces", "href") == f"/pot/planes/{old.pk}/"

    # the planner removes «Centro»: the hole it leaves inside the zoned area is a gate
    page.click(".leaflet-pm-icon-delete")
    page.mouse.click(*_map_point(page, tulua.cabecera.x, tulua.cabecera.y))
    page.click(".leaflet-pm-icon-delete")
    page.click("#btn-save")
    page.wait_for_selector("#message.warn")
    gate = page.locator("#findings li.finding-gate")
    assert gate.count() == 1 and "Hueco" in gate.inner_text() and new.zones.count() == 1
    assert page.locator("#workflow button[data-action=submit]").count() == 0  # blocked by the gate
    page.locator("#findings li.finding-gate button.see-on-map").click()
    shots(page, "planificador-barrera-hueco")

    # the reviewer finds the draft through the list filters and waives the gate with a reason
    ctx = browser.new_context(locale="es-CO", viewport={"width": 1440, "height": 900})
    rpage = ctx.new_page()
    browser_login(rpage, live_server, "revisora", "/pot/")
    rpage.select_option("#pf-muni", "76834")
    rpage.select_option("#pf-status", "borrador")
    assert rpage.locator("#plans tbody tr:not([hidden])").count() == 1
    rpage.click("#plans tbody tr:not([hidden]) a")
    wait_for_js(rpage, "window.POTEditor && POTEditor.state() !== null")
    rpage.click("#findings li.finding-gate button.waive")
    rpage.click("#cd-ok")  # no reason: refused in the page
    assert "motivo" in rpage.inner_text("#cd-error")
    rpage.fill("#cd-reason", "El casco urbano se zonifica en el plan parcial en trámite")
    shots(rpage, "revisor-dispensa")
    rpage.click("#cd-ok")
    rpage.wait_for_selector("#findings li.finding-waived")
    assert PlanWaiver.objects.get(plan=new).reason == "El casco urbano se zonifica en el plan parcial en trámite"

    # the planner can now submit
    page.reload()
    wait_for_js(page, "window.POTEditor && POTEditor.state() !== null")
    page.click("#workflow button[data-action=submit]")
    page.click("#cd-ok")
    page.wait_for_selector("#plan-status:has-text('Enviada')")
    shots(page, "planificador-enviado")
    assert Plan.objects.get(pk=new.pk).status == "enviada"

    # the reviewer: queue → review → approve
    rpage.goto(f"{live_server.url}/pot/")
    rpage.wait_for_selector(f"#rq-table tbody tr[data-plan='{new.pk}']")
    assert "sin barreras" in rpage.inner_text(f"#rq-table tbody tr[data-plan='{new.pk}']")
    shots(rpage, "revisor-cola")
    rpage.click(f"#rq-table tbody tr[data-plan='{new.pk}'] a")
    wait_for_js(rpage, "window.POTEditor && POTEditor.state() !== null")
    rpage.click("#workflow button[data-action=review]")
    rpage.click("#cd-ok")
    rpage.wait_for_selector("#plan-status:has-text('En revisión')")
    rpage.click("#workflow button[data-action=approve]")
    shots(rpage, "revisor-confirma-aprobacion")
    rpage.click("#cd-ok")
    rpage.wait_for_selector("#plan-status:has-text('Aprobada')")
    assert Plan.objects.get(pk=new.pk).status == "aprobada"

    rpage.goto(f"{live_server.url}/pot/planes/{old.pk}/")
    rpage.wait_for_selector("#link-replaced-by")
    assert rpage.inner_text("#plan-status") == "Reemplazada"
    assert rpage.get_attribute("#link-replaced-by", "href") == f"/pot/planes/{new.pk}/"
    assert Plan.objects.get(pk=old.pk).replaced_by_id == new.pk
    shots(rpage, "plan-anterior-reemplazado")
    ctx.close()
