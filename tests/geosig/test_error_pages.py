"""Error pages: Spanish HTML (English with the language cookie), JSON under /api/; logout lands on the app."""
import pytest
from django.conf import settings
from django.test import RequestFactory

pytestmark = pytest.mark.django_db


def test_unknown_page_is_a_spanish_404_in_the_site_style(client):
    r = client.get("/no-existe/")
    assert r.status_code == 404 and r["Content-Type"].startswith("text/html")
    html = r.content.decode()
    assert "Página no encontrada" in html and "/no-existe/" in html
    assert 'class="topbar"' in html and 'aria-controls="site-menu"' in html  # the site's header and menu
    assert "Not Found" not in html


def test_404_in_english_with_the_language_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = client.get("/no-existe/")
    assert r.status_code == 404 and "Page not found" in r.content.decode()


def test_unknown_api_url_answers_json(client):
    r = client.get("/api/v1/nope/")
    assert r.status_code == 404 and r["Content-Type"] == "application/json"
    assert r.json()["error"] == "not_found" and "/api/v1/nope/" in r.json()["detail"]


def test_403_page(rf=None):
    from django.core.exceptions import PermissionDenied

    from geosig.error_views import permission_denied

    request = RequestFactory().get("/pot/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    r = permission_denied(request, PermissionDenied())
    assert r.status_code == 403 and "Acceso denegado" in r.content.decode()
    api = permission_denied(RequestFactory().get("/api/v1/pot/plans/"), PermissionDenied())
    assert api.status_code == 403 and api["Content-Type"] == "application/json"


def test_500_page_needs_no_database_nor_request_context(django_assert_num_queries):
    from geosig.error_views import server_error

    with django_assert_num_queries(0):
        r = server_error(RequestFactory().get("/ciudades/"))
    assert r.status_code == 500 and "Error del servidor" in r.content.decode()
    api = server_error(RequestFactory().get("/api/v1/cities/"))
    assert api.status_code == 500 and "detail" in api.content.decode()


def test_logout_is_a_post_in_the_nav_and_lands_on_the_app(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("ana", password="clave-de-prueba-9"))
    html = client.get("/pot/").content.decode()
    assert 'action="/cuentas/salir/" method="post"' in html
    r = client.post("/cuentas/salir/")
    assert r.status_code == 302 and r["Location"] == "/"
    page = client.get(r["Location"]).content.decode()
    assert "buen rato" not in page and "GeoSIG Valle" in page
