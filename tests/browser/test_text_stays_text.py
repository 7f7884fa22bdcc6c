"""Text stays text (issue #14): a hostile string typed as a zone, plan, comment, layer, attribute, core or
place name reaches every page, table, legend, tooltip and popup literally, runs nothing, and no page
logs a Content-Security-Policy violation or a JavaScript error.

Each page is watched three ways: console errors (a CSP violation logs "Refused to …"), uncaught page
errors, and the ``securitypolicyviolation`` DOM event (recorded by an init script, which Playwright
injects outside the page's CSP)."""
import geopandas as gpd
import numpy as np
import pytest
import shapely

from tests.conftest import PASSWORD, browser_login, wait_for_js
from tests.layers.conftest import X0, Y0, square_9377, synthetic_raster, to_4326, write_vector

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = '<img src=x onerror="window.__xss=1">"\'&<b>x</b>'
LITERAL = "<img src=x"  # what a reader must SEE when the string stays text

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sourceFile || "") + ":" + e.lineNumber));
"""


@pytest.fixture
def ctx(browser, live_server):
    """A browser context whose pages record console errors, page errors and CSP violations."""
    context = browser.new_context(locale="es-CO")
    context.add_init_script(WATCH)
    context.problems = []

    def on_console(msg):
        if msg.location.get("url", "").endswith("/favicon.ico"):
            return  # the browser's own guess on pages without an icon link (Django admin): not the page's doing
        if msg.type == "error" or "Refused" in msg.text or "Content Security Policy" in msg.text:
            context.problems.append(f"console {msg.type}: {msg.text} @ {msg.location.get('url')}")

    context.on("console", on_console)
    context.on("weberror", lambda err: context.problems.append(f"pageerror: {err.error}"))
    yield context
    context.close()


def assert_clean(page, ctx, where, expected=()):
    """Nothing ran, nothing was injected, nothing was refused on ``page``. ``expected``: console errors
    the test provoked on purpose (e.g. "status of 400"), matched by substring and then forgotten."""
    assert page.evaluate("window.__xss") is None, where
    assert page.locator('img[src="x"]').count() == 0, where
    assert page.evaluate("window.__csp") == [], where
    for text in expected:
        hits = [p for p in ctx.problems if text in p]
        assert hits, (where, text)
        ctx.problems[:] = [p for p in ctx.problems if p not in hits]
    assert ctx.problems == [], where


def _pot_user(django_user_model, name, group):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(name, password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def _square(lon, lat, d):
    return {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
                                                [lon - d, lat + d], [lon - d, lat - d]]]}


@pytest.fixture
def hostile_plan(loaded_territory_tx, django_user_model):
    """A Cali plan named HOSTILE with two overlapping zones named HOSTILE and a reviewer's HOSTILE comment."""
    from territorial.models import Municipality
    from territorial.pot.models import PlannerAssignment
    from territorial.pot.services.plans import add_comment, create_plan, system_replace_zones

    muni = Municipality.objects.get(divipola="76001")
    planner = _pot_user(django_user_model, "planificadora", "Planificador")
    reviewer = _pot_user(django_user_model, "revisor", "Revisor CVC")
    PlannerAssignment.objects.create(user=planner, municipality=muni)
    plan = create_plan(planner, muni, HOSTILE)
    lon, lat = muni.cabecera.x, muni.cabecera.y
    zones = [{"type": "Feature", "geometry": _square(lon + dx, lat, 0.01),
              "properties": {"soil_class": "urbano", "use_category": "", "name": HOSTILE, "notes": HOSTILE}}
             for dx in (0, 0.012)]
    # stored the loaders' way: since issue #9 an editor save fits (clips) the second zone, and the conflicts page
    # needs the overlap to show its HOSTILE-named finding
    system_replace_zones(plan, {"type": "FeatureCollection", "features": zones}, "importar")
    add_comment(reviewer, plan, HOSTILE, lon=lon, lat=lat)
    plan.refresh_from_db()
    return plan


OPEN_ZONE_TOOLTIPS = "POTEditor.zones.eachLayer((l) => l.openTooltip())"
OPEN_MARKER_POPUPS = "POTEditor.map.eachLayer((l) => { if (l instanceof L.Marker && l.getPopup()) l.openPopup(); })"


def test_pot_pages_keep_names_as_text(ctx, live_server, hostile_plan):
    page = ctx.new_page()
    browser_login(page, live_server, "revisor", "/pot/")
    assert HOSTILE in page.inner_text("#plans")  # the plan list (server-rendered, autoescaped)
    assert_clean(page, ctx, "POT index")

    page.goto(f"{live_server.url}/pot/planes/{hostile_plan.pk}/")
    wait_for_js(page, "POTEditor.state() !== null")
    page.wait_for_selector("#comments li.comment")
    page.wait_for_selector("#conflicts li.conflict")
    assert HOSTILE in page.inner_text("#plan-title")
    assert HOSTILE in page.inner_text("#comments")
    page.evaluate(OPEN_ZONE_TOOLTIPS)  # bindTooltip: the zone name must be a text node, not HTML
    page.wait_for_selector(".leaflet-tooltip")
    tips = page.locator(".leaflet-tooltip").all_inner_texts()
    assert len(tips) == 2 and all(t == "Suelo urbano — " + HOSTILE for t in tips)
    page.evaluate(OPEN_MARKER_POPUPS)  # the comment's pin
    page.wait_for_selector(".leaflet-popup-content")
    assert page.inner_text(".leaflet-popup-content") == HOSTILE

    # a new comment typed in the page goes through the API and comes back as text
    page.click("#btn-comment")
    page.click("#map", position={"x": 200, "y": 200})
    page.fill("#comment-text", HOSTILE + " segundo")
    page.click("#btn-comment-send")
    page.wait_for_selector("#comments li.comment:has-text('segundo')")
    assert page.locator("#comments li.comment .text").all_inner_texts()[-1] == HOSTILE + " segundo"
    assert_clean(page, ctx, "POT editor (reviewer)")

    page.goto(f"{live_server.url}/pot/conflictos/?plan={hostile_plan.pk}")
    page.wait_for_selector("#cf-table tbody tr.conflict-incompatible")  # the two zones overlap
    page.locator("#map path.leaflet-interactive").first.dispatch_event("click")
    page.wait_for_selector(".leaflet-popup-content")
    assert_clean(page, ctx, "POT conflicts")


def test_pot_editor_planner_sees_server_errors_as_text(ctx, live_server, hostile_plan):
    page = ctx.new_page()
    browser_login(page, live_server, "planificadora", f"/pot/planes/{hostile_plan.pk}/")
    page.wait_for_selector("#edit-tools:not([hidden])")
    wait_for_js(page, "POTEditor.state() !== null")
    page.wait_for_selector("#conflicts li.conflict")
    page.evaluate(OPEN_ZONE_TOOLTIPS)
    page.wait_for_selector(".leaflet-tooltip")
    assert LITERAL in page.inner_text(".leaflet-tooltip >> nth=0")
    # the server echoes an unknown soil class in its Spanish 400 message: shown as text
    page.evaluate("""(bad) => { const z = POTEditor.zones.getLayers()[0]; z.feature.properties.soil_class = bad; }""",
                  HOSTILE)
    page.click("#btn-save")
    page.wait_for_selector("#message.error")
    assert HOSTILE in page.inner_text("#message")
    assert_clean(page, ctx, "POT editor (planner)", expected=["status of 400"])


@pytest.fixture
def hostile_layer(tmp_path, loaded_territory_tx):
    from layers.services.importing import import_layer

    polys = gpd.GeoDataFrame({"clase": [HOSTILE, "B"]},
                             geometry=to_4326([square_9377(0, 0, 10_000), square_9377(-4000, 1000, 2000)]), crs=4326)
    import_layer(write_vector(tmp_path / "hostil.geojson", polys, "GeoJSON"),
                 metadata={"title": HOSTILE, "source": HOSTILE, "licence": HOSTILE})


def _to_screen(page, lon, lat):
    return tuple(page.evaluate(
        "([lat, lon]) => { const p = window.GeoSIGLayersMap.latLngToContainerPoint([lat, lon]);"
        "const r = document.getElementById('map').getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
        [lat, lon]))


def test_layers_page_keeps_titles_and_attributes_as_text(ctx, live_server, hostile_layer):
    page = ctx.new_page()
    page.goto(live_server.url + "/capas/")
    page.wait_for_selector("#chk-hostil")
    row = page.inner_text("#row-hostil")
    assert HOSTILE in page.inner_text("#row-hostil label")  # layer title
    assert HOSTILE in page.inner_text("#row-hostil .layer-legend")  # class value in the legend
    assert page.locator("#row-hostil .layer-legend .swatch").first.evaluate("e => e.style.background") != ""
    assert LITERAL in row
    page.check("#chk-hostil")

    centre = to_4326([shapely.Point(X0 + 5000, Y0 + 5000)]).iloc[0]  # inside the HOSTILE-class square
    page.evaluate(f"window.GeoSIGLayersMap.setView([{centre.y}, {centre.x}], 11)")
    page.mouse.click(*_to_screen(page, centre.x, centre.y))
    page.wait_for_selector("#identify .identify-layer[data-slug=hostil] table")
    assert HOSTILE in page.inner_text("#identify [data-slug=hostil] strong")  # title
    assert page.inner_text("#identify [data-slug=hostil] td") == HOSTILE  # attribute value

    page.select_option("#area-kind", "municipio")
    page.select_option("#area-code", "76001")
    page.wait_for_selector("#summary .summary-layer[data-slug=hostil] table")
    assert HOSTILE in page.inner_text("#summary [data-slug=hostil] h3")
    assert HOSTILE in page.inner_text("#summary [data-slug=hostil] table")
    assert_clean(page, ctx, "layers")


@pytest.fixture
def hostile_cores(tmp_path, loaded_territory_tx):
    """A point core layer whose title and core names are HOSTILE, on a small synthetic DEM."""
    from layers.services.importing import import_layer

    import_layer(synthetic_raster(tmp_path / "dem.tif", np.full((30, 30), 1000.0), west=-76.70, north=3.60, res=0.01),
                 metadata={"slug": "dem-srtm3", "title": "DEM prueba", "unit": "m"})
    pts = gpd.GeoDataFrame({"nombre": [HOSTILE + " 1", HOSTILE + " 2"], "clase": [HOSTILE, HOSTILE]},
                           geometry=[shapely.Point(-76.6, 3.5), shapely.Point(-76.5, 3.4)], crs=4326)
    import_layer(write_vector(tmp_path / "nucleos.geojson", pts, "GeoJSON"),
                 metadata={"title": HOSTILE, "label_field": "nombre", "class_field": "clase"})


def _fake_results():
    """A finished run's results, shaped like GET /api/v1/corridors/<id>/results/, carrying HOSTILE names."""
    a, b = HOSTILE + " 1", HOSTILE + " 2"
    pt = lambda x, y, **p: {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": p}  # noqa: E731
    line = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[-76.6, 3.5], [-76.5, 3.4]]},
            "properties": {"Core1_Name": a, "Core2_Name": b, "Link_Type": 1, "CW_Dist": 1234.0}}  # _LCPs attributes
    link = {"name_a": a, "name_b": b, "status": "ok", "euclid_dist": 15000, "cwd": 1234.0, "lcp_length": 16000,
            "cwd_to_euclid": 0.08, "cwd_to_path": 0.07, "effective_resistance": 0.5}
    return {
        "report": {"cores": [{"name": a}, {"name": b}], "links": [link], "grid": {"rows": 30, "cols": 30, "cell_size": 1000},
                   "seconds": 1.0, "resistance_label": HOSTILE, "recipe": [], "notes": [HOSTILE],
                   "network": {"IIC": 0.1, "PC": 0.2, "dispersal": 5000, "area_attribute": HOSTILE,
                               "cores": [{"name": a, "current_flow_centrality": 0.5, "dIIC": 50, "dPC": 50}]}},
        "map": {"corridors": {"type": "FeatureCollection", "features": []},
                "cores": {"type": "FeatureCollection", "features": [pt(-76.6, 3.5, name=a, representation="punto"),
                                                                     pt(-76.5, 3.4, name=b, representation="punto")]},
                "paths": {"type": "FeatureCollection", "features": [line]}},
        "current": None, "downloads": {HOSTILE: "/api/v1/corridors/1/files/x"},
    }


OPEN_TOOLTIPS = "(m) => m.eachLayer((l) => { if (l.getTooltip && l.getTooltip()) l.openTooltip(); })"


def test_corridors_page_keeps_core_names_as_text(ctx, live_server, hostile_cores, make_user):
    import json

    make_user("analista", "Analista CVC")
    page = ctx.new_page()
    browser_login(page, live_server, "analista", "/corredores/")
    page.wait_for_selector("#core-layer option[value=nucleos]", state="attached")
    page.select_option("#core-layer", "nucleos")
    page.wait_for_selector("#core-list input[data-fid]")
    labels = page.locator("#core-list label").all_inner_texts()
    assert [t.strip() for t in labels] == [f"{HOSTILE} 1 ({HOSTILE})", f"{HOSTILE} 2 ({HOSTILE})"]
    assert HOSTILE in page.inner_text("#core-layer option[value=nucleos]")
    page.evaluate(f"({OPEN_TOOLTIPS})(window.GeoSIGCorridorsMap)")  # the core markers' tooltips
    page.wait_for_selector(".leaflet-tooltip")
    assert sorted(page.locator(".leaflet-tooltip").all_inner_texts()) == [HOSTILE + " 1", HOSTILE + " 2"]

    # The run itself is the corridor engine's business (tests/layers): here the server's answers are
    # stubbed so the page renders HOSTILE names in its tables, tooltips, notes and download links.
    run = {"id": 1, "status": "done", "progress": 100, "cached": False, "message": "", "error": "",
           "urls": {"self": "/api/v1/corridors/1/", "results": "/api/v1/corridors/1/results/",
                    "cancel": "/api/v1/corridors/1/cancel/"}}
    page.route("**/api/v1/corridors/", lambda r: r.fulfill(status=201, content_type="application/json", body=json.dumps(run)))
    page.route("**/api/v1/corridors/1/results/",
               lambda r: r.fulfill(content_type="application/json", body=json.dumps(_fake_results())))
    page.check("#core-list input >> nth=0")
    page.check("#core-list input >> nth=1")
    page.click("#run")
    page.wait_for_selector("#results:not([hidden])")
    assert page.locator("#links tbody td").all_inner_texts()[:2] == [HOSTILE + " 1", HOSTILE + " 2"]
    assert page.inner_text("#cores tbody td >> nth=0") == HOSTILE + " 1"
    assert HOSTILE in page.inner_text("#notes") and HOSTILE in page.inner_text("#network")
    assert page.inner_text("#downloads a") == HOSTILE
    page.evaluate(f"({OPEN_TOOLTIPS})(window.GeoSIGCorridorsMap)")
    tips = page.locator(".leaflet-tooltip").all_inner_texts()
    assert f"{HOSTILE} 1 — punto" in tips and any(t.startswith(f"{HOSTILE} 1 – {HOSTILE} 2: ") for t in tips)
    assert_clean(page, ctx, "corridors")


def test_cities_and_explorer_keep_names_and_errors_as_text(ctx, live_server, loaded_territory_tx):
    from cities.models import City
    from cities.services.loading import import_attributes, load_cities

    load_cities()
    place = City.objects.filter(is_cabecera=False).order_by("code").first()
    City.objects.filter(pk=place.pk).update(name=HOSTILE)
    unit = "<img src=x onerror=a()>&"  # the unit column holds 40 characters
    csv = f"codigo,atributo,anio,valor,unidad,fuente\n{place.code},camas,2018,12,{unit},prueba\n"
    import_attributes(csv.encode())
    page = ctx.new_page()
    page.goto(live_server.url + "/ciudades/?year=2018&basis=cabecera")
    page.wait_for_selector("body[data-cities-map=ready]", timeout=20000)
    assert page.locator("figure img.chart").count() >= 3  # charts as images: their SVG styles stay inside
    page.evaluate("window.GeoSIGCitiesMap.eachLayer((l) => { const t = l.getTooltip && l.getTooltip();"
                  "if (t && t._content.textContent.includes('<img')) l.openTooltip(); })")
    tip = page.inner_text(".leaflet-tooltip")
    assert tip.startswith(HOSTILE + " (") and f"camas: 12 {unit} (2018)" in tip.splitlines()
    assert_clean(page, ctx, "cities")

    # the explorer's municipality search echoes what was typed in its "not found" message
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=20000)
    page.fill("#search", HOSTILE)
    page.dispatch_event("#search", "change")
    page.wait_for_selector("#info p.error")
    assert HOSTILE in page.inner_text("#info")
    assert_clean(page, ctx, "explorer")


def test_no_page_logs_a_csp_violation(ctx, live_server, loaded_territory_tx, django_user_model):
    """Every page loads under the policy: no refused script, style, image or connection, no JS error."""
    from django.urls import NoReverseMatch, reverse

    from cities.services.loading import load_cities

    load_cities()
    django_user_model.objects.create_superuser("admin", password=PASSWORD)
    page = ctx.new_page()
    pages = ["/", "/pot/", "/pot/conflictos/", "/capas/", "/corredores/", "/ciudades/", "/cuentas/ingresar/",
             "/admin/login/"]
    try:
        pages.append(reverse("api-docs"))
    except NoReverseMatch:
        pass  # the API docs page is not there yet
    for url in pages:
        page.goto(live_server.url + url, wait_until="networkidle")
        assert_clean(page, ctx, url)
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(live_server.url + "/admin/")
    # the admin index and a change form with django-leaflet's map widget (inline script with a nonce)
    from territorial.models import Municipality

    cali = Municipality.objects.get(divipola="76001")
    for url, maps in [("/admin/", False), ("/admin/territorial/municipality/", False),
                      (f"/admin/territorial/municipality/{cali.pk}/change/", True),
                      ("/admin/territorial/subregion/add/", False), ("/admin/auth/user/add/", False),
                      ("/capas/subir/", False)]:  # the upload form needs a user with the upload permission
        page.goto(live_server.url + url, wait_until="networkidle")
        assert (page.locator(".leaflet-container").count() > 0) == maps, url  # the widgets' maps did start
        assert_clean(page, ctx, url)
    # the language picker submits without an inline onchange handler (shell.js listens)
    page.goto(live_server.url + "/")
    page.select_option("select[name=language]", "en")
    page.wait_for_selector("html[lang=en]")
    assert_clean(page, ctx, "language switch")


def test_offline_city_report_keeps_names_as_text(ctx, live_server, loaded_territory_tx, tmp_path):
    """The downloadable HTML report (inline Leaflet and map script, opened from disk): its map draws
    without the site's shell and a hostile place name stays text in its tooltip."""
    from django.test import Client

    from cities.models import City
    from cities.services.loading import load_cities

    load_cities()
    place = City.objects.filter(is_cabecera=False).order_by("code").first()
    City.objects.filter(pk=place.pk).update(name=HOSTILE)
    r = Client().get("/api/v1/cities/balance/report.html?year=2018&basis=cabecera")
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment;")
    path = tmp_path / "informe.html"
    path.write_bytes(r.content)
    page = ctx.new_page()
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-cities-map=ready]")
    page.evaluate("window.GeoSIGCitiesMap.eachLayer((l) => { const t = l.getTooltip && l.getTooltip();"
                  "if (t && t._content.textContent.includes('<img')) l.openTooltip(); })")
    assert page.inner_text(".leaflet-tooltip").startswith(HOSTILE + " (")
    assert_clean(page, ctx, "offline city report")
