"""The POT pages in headless Chromium at 1440×900 (issue #9): findings coloured by severity after a save,
the «Ajustar» checkbox, the selection kept across a save, the soil-class legend, the confirmation dialogs
(cancel does nothing, a return without reason is refused), the reviewer queue and the list filters, and the
amend cycle (new revision → edit → submit → waive → approve → the old plan «reemplazada» with its link)."""
import json

import pytest

from tests.conftest import browser_login, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BOX_DEG = 0.02  # half side of the «Centro» zone around the cabecera (~4,4 km square)


def _feature(geom, soil_class, name):
    return {"type": "Feature", "geometry": json.loads(geom.geojson), "properties": {"soil_class": soil_class, "name": name}}


def plan_with_zones(user, muni, name, centre=True, rest=True, status=None, **fields):
    """A plan of ``muni`` with «Resto» (the municipality minus a box round the cabecera) and «Centro» (the box):
    together they cover the municipality, so the plan has no gate unless a zone is left out."""
    from django.contrib.gis.geos import Polygon

    from territorial.pot.models import Plan
    from territorial.pot.services.plans import create_plan, system_replace_zones

    plan = create_plan(user, muni, name)
    c = muni.cabecera
    box = Polygon.from_bbox((c.x - BOX_DEG, c.y - BOX_DEG, c.x + BOX_DEG, c.y + BOX_DEG))
    box.srid = 4326
    feats = ([_feature(muni.geom.difference(box), "rural", "Resto")] if rest else []) + (
        [_feature(muni.geom.intersection(box), "urbano", "Centro")] if centre else [])
    system_replace_zones(plan, {"type": "FeatureCollection", "features": feats}, "importar")
    if status or fields:
        Plan.objects.filter(pk=plan.pk).update(**({"status": status} if status else {}), **fields)
    plan.refresh_from_db()
    return plan


def make_user(model, name, group):
    """A user in a POT role (the groups are matched by name; a flushed transactional DB may lack them)."""
    from django.contrib.auth.models import Group

    from tests.conftest import PASSWORD

    user = model.objects.create_user(name, password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def pot_world(loaded_territory_tx, django_user_model):
    from territorial.models import Municipality
    from territorial.pot.models import PlannerAssignment

    make = lambda name, group: make_user(django_user_model, name, group)  # noqa: E731
    cali, tulua = Municipality.objects.get(divipola="76001"), Municipality.objects.get(divipola="76834")
    planner = make("planificadora", "Planificador")
    for m in (cali, tulua):
        PlannerAssignment.objects.create(user=planner, municipality=m)
    reviewer = make("revisora", "Revisor CVC")
    return {"cali": cali, "tulua": tulua, "planner": planner, "reviewer": reviewer}


def _open_editor(page, live_server, user, plan):
    page.set_viewport_size({"width": 1440, "height": 900})
    browser_login(page, live_server, user, f"/pot/planes/{plan.pk}/")
    wait_for_js(page, "window.POTEditor && POTEditor.state() !== null")


def _map_point(page, lon, lat):
    pt = page.evaluate(f"(() => {{ const p = POTEditor.map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()")
    box = page.locator("#map").bounding_box()
    return box["x"] + pt[0], box["y"] + pt[1]


def _select_centre(page, muni):
    page.mouse.click(*_map_point(page, muni.cabecera.x, muni.cabecera.y))
    page.wait_for_selector("#zone-form:not([hidden])")


def _rgb(hex_colour):
    h = hex_colour.lstrip("#")
    return "rgb(" + ", ".join(str(int(h[i:i + 2], 16)) for i in (0, 2, 4)) + ")"


def test_legend_shows_the_registry_classes(pot_world, page, live_server):
    plan = plan_with_zones(pot_world["planner"], pot_world["cali"], "Leyenda")
    _open_editor(page, live_server, "planificadora", plan)
    registry = page.request.get(f"{live_server.url}/api/v1/pot/registry/").json()["soil_classes"]
    rows = page.locator(".leaflet-bottom.leaflet-left .legend div")
    assert rows.count() == len(registry) == 5
    for i, c in enumerate(registry):
        assert rows.nth(i).inner_text().strip() == c["label"]
        colour = rows.nth(i).locator(".swatch").evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == _rgb(c["color"])
    assert page.inner_text(".leaflet-bottom.leaflet-left .legend strong") == "Clases de suelo"


def test_save_colours_findings_keeps_selection_and_says_unchanged(pot_world, page, live_server):
    from territorial.pot.models import Plan

    cali = pot_world["cali"]
    plan = plan_with_zones(pot_world["planner"], cali, "Hallazgos", rest=False)  # only the box: a coverage gate
    centre = plan.zones.get(name="Centro")
    _open_editor(page, live_server, "planificadora", plan)
    _select_centre(page, cali)
    assert page.inner_text("#zf-id") == f"#{centre.pk}"
    page.fill("#zf-name", "Centro histórico")
    page.dispatch_event("#zf-name", "change")
    page.click("#btn-save")
    page.wait_for_selector("#message.warn")
    # amber, not the green «Guardado» of a clean save; the gate names its figures (coverage and the 90 % floor)
    assert "barreras abiertas" in page.inner_text("#message")
    gate = page.locator("#findings li.finding-gate").first
    assert gate.is_visible()
    assert "90" in gate.inner_text()
    assert gate.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 244, 214)"
    # the selection survives the refresh
    assert page.evaluate("POTEditor.selectedIds()") == [centre.pk]
    assert page.inner_text("#zf-id") == f"#{centre.pk}" and page.input_value("#zf-name") == "Centro histórico"
    version = Plan.objects.get(pk=plan.pk).version

    page.click("#btn-save")  # nothing changed
    page.wait_for_selector("#message:has-text('Sin cambios')")
    assert Plan.objects.get(pk=plan.pk).version == version
    assert page.get_attribute("#message", "class") == ""


def test_overlap_is_a_red_error_and_see_on_map_zooms(pot_world, page, live_server):
    cali = pot_world["cali"]
    plan = plan_with_zones(pot_world["planner"], cali, "Superpuesto")
    _open_editor(page, live_server, "planificadora", plan)
    # a copy of «Centro» drawn over itself, with «Ajustar» off: the overlap is refused whole
    page.uncheck("#fit")
    page.evaluate("""(() => {
        let centre = null;
        POTEditor.zones.eachLayer((l) => { if (l.feature.properties.name === 'Centro') centre = l; });
        const f = {type: 'Feature', id: null, geometry: centre.toGeoJSON().geometry,
                   properties: {soil_class: 'suburbano', name: 'Copia', use_category: '', notes: ''}};
        POTEditor.addFeature(f);
    })()""")
    page.click("#btn-save")
    page.wait_for_selector("#message.error")
    err = page.locator("#findings li.finding-error").first
    assert err.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(253, 236, 234)"
    assert plan.zones.count() == 2  # nothing stored
    zoom = page.evaluate("POTEditor.map.getZoom()")
    page.locator("#findings li.finding-error button.see-on-map").first.click()
    wait_for_js(page, f"POTEditor.map.getZoom() > {zoom}")  # from the whole of Cali to the ~4 km box
    assert page.evaluate("POTEditor.highlight.getLayers().length") == 1
    # the highlighted geometry is the overlap: inside the visible map, round the cabecera
    assert page.evaluate(f"POTEditor.map.getBounds().contains([{cali.cabecera.y}, {cali.cabecera.x}])")


def test_warnings_are_neutral_and_clipped_parts_listed(pot_world, page, live_server):
    """The save answer is edited in flight (page.route) to carry a warning and a clipped zone: the UI's
    rendering of that shape, whatever the rules produce on this plan."""
    cali = pot_world["cali"]
    plan = plan_with_zones(pot_world["planner"], cali, "Avisos")
    centre = plan.zones.get(name="Centro")

    def add_warning(route):
        resp = route.fetch()
        body = resp.json()
        body["result"].update({"state": "warnings", "findings": [{
            "rule": "gap", "severity": "warning", "label": "Hueco pequeño", "message": "Un hueco de 2.500 m².",
            "figures": {"value": 2500.0, "threshold": 10000.0, "unit": "m2"}, "zone_ids": [], "geometry": None,
            "waived": False, "waiver": None}], "clipped": [{"index": 0, "zone_id": centre.pk, "name": "Centro",
            "outside_m2": 0, "overlap_m2": 120.0, "area_m2": 1.0, "message": "Zona «Centro»: se recortaron 120 m²."}]})
        route.fulfill(response=resp, json=body)

    page.route("**/api/v1/pot/plans/*/zones/", add_warning)
    _open_editor(page, live_server, "planificadora", plan)
    _select_centre(page, cali)
    page.fill("#zf-notes", "nota")
    page.dispatch_event("#zf-notes", "change")
    page.click("#btn-save")
    page.wait_for_selector("#message:has-text('con advertencias')")
    assert page.get_attribute("#message", "class") == ""  # neutral: neither green nor amber
    w = page.locator("#findings li.finding-warning")
    assert w.count() == 1 and "valor 2.500 m² · umbral 1 ha" in w.inner_text().replace("\u00a0", " ")
    assert "se recortaron 120 m²" in page.inner_text("#findings")


def test_confirmation_dialogs_and_authors_never_approve(pot_world, page, browser, live_server):
    from territorial.pot.models import Plan

    tulua = pot_world["tulua"]
    plan = plan_with_zones(pot_world["planner"], tulua, "Para devolver", status="enviada",
                           submitted_by=pot_world["planner"])
    _open_editor(page, live_server, "revisora", plan)
    page.wait_for_selector("#workflow button[data-action=return]")
    assert page.locator("#workflow button[data-action=approve]").count() == 0  # not in review yet

    def dialog_open():
        return page.evaluate("document.getElementById('confirm-dialog').open")

    page.click("#workflow button[data-action=return]")
    assert dialog_open()
    assert page.evaluate("document.activeElement.id") == "cd-reason"
    page.click("#cd-cancel")
    assert not dialog_open()
    assert page.evaluate("document.activeElement.dataset.action") == "return"  # focus back on the button
    assert Plan.objects.get(pk=plan.pk).status == "enviada"

    page.click("#workflow button[data-action=return]")
    page.click("#cd-ok")  # no reason: refused in the page, nothing sent
    assert dialog_open() and "motivo" in page.inner_text("#cd-error")
    page.keyboard.press("Escape")
    assert not dialog_open()
    assert Plan.objects.get(pk=plan.pk).status == "enviada"

    page.click("#workflow button[data-action=return]")
    page.fill("#cd-reason", "Falta la ronda del río Tuluá")
    page.click("#cd-ok")
    page.wait_for_selector("#plan-status:has-text('Devuelta')")
    stored = Plan.objects.get(pk=plan.pk)
    assert stored.status == "devuelta"
    assert "Falta la ronda del río Tuluá" in stored.versions.order_by("-number").first().summary

    # approve: cancel keeps the plan in review; confirm approves it
    Plan.objects.filter(pk=plan.pk).update(status="en_revision")
    page.reload()
    wait_for_js(page, "POTEditor.state() !== null")
    page.click("#workflow button[data-action=approve]")
    page.click("#cd-cancel")
    assert Plan.objects.get(pk=plan.pk).status == "en_revision"
    page.click("#workflow button[data-action=approve]")
    page.click("#cd-ok")
    page.wait_for_selector("#plan-status:has-text('Aprobada')")
    assert Plan.objects.get(pk=plan.pk).status == "aprobada"

    # the planner who drew a plan in review sees no approve button
    other = plan_with_zones(pot_world["planner"], pot_world["cali"], "En revisión", status="en_revision")
    ctx = browser.new_context(locale="es-CO")
    ppage = ctx.new_page()
    _open_editor(ppage, live_server, "planificadora", other)
    assert ppage.locator("#workflow button").count() == 0
    ctx.close()


def test_reviewer_queue_and_list_filters(pot_world, page, live_server):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    planner = pot_world["planner"]
    newer = plan_with_zones(planner, pot_world["cali"], "Cali enviado", status="enviada",
                            submitted_by=planner, submitted_at=now - timedelta(days=1))
    older = plan_with_zones(planner, pot_world["tulua"], "Tuluá en revisión", rest=False, status="en_revision",
                            submitted_by=planner, submitted_at=now - timedelta(days=5))
    plan_with_zones(planner, pot_world["tulua"], "Tuluá borrador")
    page.set_viewport_size({"width": 1440, "height": 900})
    browser_login(page, live_server, "revisora", "/pot/")
    page.wait_for_selector("#rq-table:not([hidden]) tbody tr")
    rows = page.locator("#rq-table tbody tr")
    assert rows.count() == 2  # the draft is not waiting for the CVC
    assert [rows.nth(i).get_attribute("data-plan") for i in range(2)] == [str(older.pk), str(newer.pk)]
    assert "1 barrera" in rows.nth(0).inner_text()  # «Centro» alone covers far below 90 % of Tuluá
    assert "sin barreras" in rows.nth(1).inner_text()

    visible = lambda: page.locator("#plans tbody tr:not([hidden])").count()  # noqa: E731
    assert visible() == 3
    page.select_option("#pf-muni", "76834")
    assert visible() == 2
    page.select_option("#pf-status", "borrador")
    assert visible() == 1 and "Tuluá borrador" in page.inner_text("#plans tbody tr:not([hidden])")
    assert page.inner_text("#pf-count") == "1 de 3 planes"

    # a planner gets no queue
    page.context.clear_cookies()
    browser_login(page, live_server, "planificadora", "/pot/")
    assert page.locator("#review-queue").count() == 0


def test_comment_confirmation_replaces_the_hint(pot_world, page, live_server):
    cali = pot_world["cali"]
    plan = plan_with_zones(pot_world["planner"], cali, "Comentado", status="en_revision")
    _open_editor(page, live_server, "revisora", plan)
    page.click("#btn-comment")
    assert "Haga clic" in page.inner_text("#message")
    page.mouse.click(*_map_point(page, cali.cabecera.x, cali.cabecera.y))
    page.fill("#comment-text", "Revise el borde norte")
    page.click("#btn-comment-send")
    page.wait_for_selector("#comments li:has-text('Revise el borde norte')")
    assert page.inner_text("#message") == "Comentario enviado."
    assert page.is_hidden("#comment-form")



def test_conflicts_page_names_the_plans_analysed(pot_world, page, live_server):
    from territorial.pot.services.conflicts import analyse_conflicts

    cali = pot_world["cali"]
    plan = plan_with_zones(pot_world["planner"], cali, "POT Cali vigente", status="aprobada")
    page.set_viewport_size({"width": 1440, "height": 900})
    browser_login(page, live_server, "revisora", "/pot/conflictos/?municipality=76001")
    page.wait_for_selector("#cf-plans-box:not([hidden]) li")
    expected = analyse_conflicts(pot_world["reviewer"], municipality="76001").plans  # the service's own answer
    items = page.locator("#cf-plans li")
    assert items.count() == len(expected) == 1
    assert items.first.inner_text() == f"POT Cali vigente — Cali · v{plan.version} · Aprobada"
    assert items.first.locator("a").get_attribute("href") == f"/pot/planes/{plan.pk}/"
    # the plan's zones under the findings, in the registry's soil-class colours, with their legend
    registry = page.request.get(f"{live_server.url}/api/v1/pot/registry/").json()["soil_classes"]
    colour = {c["code"]: c["color"] for c in registry}
    page.wait_for_selector(f"#map path[fill='{colour['rural']}']")
    assert page.locator(f"#map path[fill='{colour['urbano']}']").count() == 1  # «Centro»
    legend = page.locator(".leaflet-bottom.leaflet-left .legend div")
    assert [t.strip() for t in legend.all_inner_texts()] == [c["label"] for c in registry]


def test_gates_open_answer_lists_each_gate_with_its_figures(pot_world, page, live_server):
    """A 409 «gates_open» (e.g. another reviewer's stale page, or a threshold tightened since the page loaded)
    is shown as the list of gates with their figures. The answer is stubbed (page.route): the approve button
    is only offered when no gate is open, so the real API cannot be made to answer it from this page."""
    from territorial.pot.models import Plan

    plan = plan_with_zones(pot_world["planner"], pot_world["cali"], "Barreras", status="en_revision")
    gate = {"rule": "coverage", "severity": "gate", "label": "Cobertura del municipio",
            "message": "Las zonas cubren el 42,0 % del municipio (mínimo 90 %).",
            "figures": {"value": 42.0, "threshold": 90.0, "unit": "%"}, "zone_ids": [], "geometry": None,
            "waived": False, "waiver": None}

    def refuse(route):
        if route.request.method != "POST":
            return route.continue_()
        route.fulfill(status=409, json={"error": "gates_open", "detail": "No se puede aprobar el plan: 1 barrera(s).",
                                        "context": {"gates": [gate], "plan": plan.pk}})

    page.route("**/api/v1/pot/plans/*/transition/", refuse)
    _open_editor(page, live_server, "revisora", plan)
    page.click("#workflow button[data-action=approve]")
    page.click("#cd-ok")
    page.wait_for_selector("#findings h3:has-text('Barreras abiertas')")
    assert page.inner_text("#message") == "No se puede aprobar el plan: 1 barrera(s)."
    item = page.locator("#findings li.finding-gate")
    assert item.count() == 1
    assert "valor 42 % · umbral 90 %" in item.inner_text().replace("\u00a0", " ")
    assert Plan.objects.get(pk=plan.pk).status == "en_revision"
