"""Browser security headers (issue #14): every page carries the Content-Security-Policy of settings with
no inline script or eval allowed, plus nosniff, Referrer-Policy, X-Frame-Options and COOP; the two
report documents get their own policies."""
import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/pot/", "/capas/", "/corredores/", "/ciudades/", "/admin/login/", "/cuentas/ingresar/"]


def policy(response) -> dict[str, list[str]]:
    """The CSP header as {directive: [sources]} (parsed here, not by django-csp)."""
    out = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        out[name] = sources
    return out


@pytest.mark.parametrize("url", PAGES)
def test_pages_carry_the_policy_and_headers(client, territory, url):
    if url == "/ciudades/":
        from cities.services.loading import load_cities

        load_cities()
    r = client.get(url)
    assert r.status_code == 200
    csp = policy(r)
    assert csp["script-src"] == ["'self'"]  # the nonce appears only where a view asks for it (admin maps)
    assert "'unsafe-inline'" not in r["Content-Security-Policy"] and "'unsafe-eval'" not in r["Content-Security-Policy"]
    assert csp["default-src"] == ["'self'"] and csp["style-src"] == ["'self'"] and csp["connect-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
    assert r["X-Frame-Options"] == "DENY"
    assert r["Cross-Origin-Opener-Policy"] == "same-origin"


def test_api_answers_carry_the_policy_too(client, territory):
    r = client.get("/api/v1/municipalities/76001/")
    assert r.status_code == 200 and policy(r)["script-src"] == ["'self'"]


def test_pages_have_no_inline_scripts_or_handlers(client, territory):
    """The policy would refuse them: scripts are files, data is json_script, handlers are listeners."""
    import re

    for url in PAGES[:-2]:
        html = client.get(url).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), url
        assert "javascript:" not in html and "style=" not in html and "<style" not in html, url


def test_basemap_host_joins_img_src():
    from geosig.settings import _tile_source

    assert _tile_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://*.tile.openstreetmap.org"
    assert _tile_source("http://tiles.example.co:8080/wmts/{z}/{x}/{y}.png") == "http://tiles.example.co:8080"
    assert _tile_source("") is None


def test_admin_map_widget_runs_under_a_nonce(admin_client, territory):
    """django-leaflet's admin widget has inline scripts: they carry the request's nonce, which the policy
    names for that response only; no 'unsafe-inline' is needed."""
    cali = territory.get(divipola="76001")
    r = admin_client.get(f"/admin/territorial/municipality/{cali.pk}/change/")
    assert r.status_code == 200
    nonces = [s for s in policy(r)["script-src"] if s.startswith("'nonce-")]
    assert len(nonces) == 1
    nonce = nonces[0][len("'nonce-"):-1]
    html = r.content.decode()
    assert f'<script nonce="{nonce}">' in html
    assert "<script>" not in html  # every inline script of the page carries it


def test_pot_html_report_has_its_own_strict_policy(admin_client, admin_user, territory):
    """The conflict report opened in a tab: inline <style> allowed, no script at all, sandboxed."""
    from territorial.pot.services.plans import create_plan

    create_plan(admin_user, territory.get(divipola="76001"), "Plan de prueba")
    client = admin_client
    r = client.get("/api/v1/pot/conflicts/?municipality=76001&format=html")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/html")
    csp = policy(r)
    assert csp["script-src"] == ["'none'"] and csp["style-src"] == ["'unsafe-inline'"] and "sandbox" in csp
    r = client.get("/api/v1/pot/conflicts/?municipality=76001")
    assert policy(r)["script-src"] == ["'self'"]


def test_city_report_file_is_an_attachment(client, territory):
    """The standalone HTML report inlines Leaflet and its map script to work offline: the site serves it
    only as a download (never rendered under the site's origin), with the site's strict policy."""
    from cities.services.loading import load_cities

    load_cities()
    r = client.get("/api/v1/cities/balance/report.html?year=2018&basis=cabecera")
    assert r.status_code == 200
    assert r["Content-Disposition"].startswith("attachment;")
    assert policy(r)["script-src"] == ["'self'"]
    assert b"<script>" in r.content  # the offline file keeps its inline scripts (no CSP on file://)
