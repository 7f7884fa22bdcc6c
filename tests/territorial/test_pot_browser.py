"""The POT editor in headless Chromium: a planner draws a zone, saves it, draws a second overlapping
one and sees the overlap listed; a CVC reviewer pins a comment on the map. All assets are local."""
import pytest

from tests.conftest import external_requests, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "clave-de-prueba-9731"


def _user(model, name, group):
    from django.contrib.auth.models import Group

    u = model.objects.create_user(name, password=PASSWORD)
    u.groups.add(Group.objects.get_or_create(name=group)[0])
    return u


def _login(page, live_server, name, next_url):
    page.goto(f"{live_server.url}/cuentas/ingresar/?next={next_url}")
    page.fill("#id_username", name)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")


def _map_point(page, lon, lat, dx=0, dy=0):
    """Page coordinates of a lon/lat on the editor map, shifted by (dx, dy) pixels."""
    pt = page.evaluate(f"(() => {{ const p = POTEditor.map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()")
    box = page.locator("#map").bounding_box()
    return box["x"] + pt[0] + dx, box["y"] + pt[1] + dy


def _draw_rectangle(page, a, b):
    page.click(".leaflet-pm-icon-rectangle")
    page.mouse.click(*a)
    page.mouse.click(*b)


def test_planner_draws_and_reviewer_comments(page, browser, live_server, loaded_territory_tx, django_user_model):
    from territorial.models import Municipality
    from territorial.pot.models import PlannerAssignment, ReviewComment
    from territorial.pot.services.plans import create_plan

    muni = Municipality.objects.get(divipola="76001")
    planner = _user(django_user_model, "planificadora", "Planificador")
    _user(django_user_model, "revisor", "Revisor CVC")
    PlannerAssignment.objects.create(user=planner, municipality=muni)
    plan = create_plan(planner, muni, "Propuesta dibujada")
    lon, lat = muni.cabecera.x, muni.cabecera.y

    _login(page, live_server, "planificadora", f"/pot/planes/{plan.pk}/")
    page.wait_for_selector("#edit-tools:not([hidden])")
    wait_for_js(page, "POTEditor.state() !== null")
    _draw_rectangle(page, _map_point(page, lon, lat, -40, -40), _map_point(page, lon, lat, 5, 5))
    page.click("#btn-save")
    # saved, but amber: one small zone covers far less than 90 % of Cali (a gate, listed with its figures)
    page.wait_for_selector("#message.warn:has-text('Guardado')")
    page.wait_for_selector("#findings li.finding-gate:has-text('90')")
    assert plan.zones.count() == 1
    page.wait_for_selector("#conflicts li.conflict:has-text('Hueco')")  # the rest of Cali has no zone yet
    assert "se superponen" not in page.inner_text("#conflicts")

    # corner 30 px from the first one: farther than the 15 px snap distance, so the two really overlap;
    # with «Ajustar» on (the default) the new zone is clipped to the first one and the cut is listed
    _draw_rectangle(page, _map_point(page, lon, lat, -25, -25), _map_point(page, lon, lat, 40, 40))
    page.click("#btn-save")
    page.wait_for_selector("#message:has-text('versión 3')")
    page.wait_for_selector("#findings .pot-clipped")
    assert "zonas existentes" in page.inner_text("#findings")
    assert plan.zones.count() == 2
    a, b = plan.zones.order_by("id")
    assert a.geom_m.intersection(b.geom_m).area < 1.0  # no overlap left
    assert "se superponen" not in page.inner_text("#conflicts")
    page.wait_for_selector("#versions li:has-text('v3')")  # the list reloads after the save's answer

    ctx = browser.new_context(locale="es-CO")
    rpage = ctx.new_page()
    rpage.requested_urls = []
    rpage.on("request", lambda req: rpage.requested_urls.append(req.url))
    _login(rpage, live_server, "revisor", f"/pot/planes/{plan.pk}/")
    rpage.wait_for_selector("#btn-comment:not([hidden])")
    wait_for_js(rpage, "POTEditor.state() !== null")
    rpage.click("#btn-comment")
    rpage.mouse.click(*_map_point(rpage, lon, lat, 0, 0))
    rpage.fill("#comment-text", "Revisar el borde con la ronda del río")
    rpage.click("#btn-comment-send")
    rpage.wait_for_selector("#comments li:has-text('Revisar el borde')")
    c = ReviewComment.objects.get()
    assert c.author.username == "revisor" and c.plan_version == 3
    assert abs(c.point.x - lon) < 0.005 and abs(c.point.y - lat) < 0.005  # within a pixel or two
    assert rpage.locator(".leaflet-marker-icon").count() >= 1
    assert external_requests(page, live_server) == [] and external_requests(rpage, live_server) == []
    ctx.close()
