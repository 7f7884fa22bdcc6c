"""Login lockout (django-axes): AXES_FAILURE_LIMIT failures of one username from one address lock that
pair for the cool-off, even with the right password; other users and other addresses log in as before."""
import pytest
from django.conf import settings
from django.http import HttpRequest
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/cuentas/ingresar/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """Dozens of logins: a cheap hasher keeps the module fast (the lockout does not depend on it)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _post(client, url, username, password, **extra):
    return client.post(url, {"username": username, "password": password, "next": "/"}, **extra)


def _fail(client, url, username, times):
    for _ in range(times):
        resp = _post(client, url, username, "equivocada")
        assert resp.status_code == 200  # the form again, "usuario o contraseña incorrectos"
        assert "_auth_user_id" not in client.session


def _lock(client, url, username):
    _fail(client, url, username, 4)
    assert _post(client, url, username, "equivocada").status_code == 429  # the fifth failure locks


def test_limit_is_five_by_default():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_five_failures_lock_even_the_right_password(client, make_user, url):
    make_user("ana", is_staff=True)
    _lock(client, url, "ana")
    resp = _post(client, url, "ana", PASSWORD, HTTP_ACCEPT="text/html")
    assert resp.status_code == 429
    assert "_auth_user_id" not in client.session
    html = resp.content.decode()
    assert "Cuenta bloqueada temporalmente por demasiados intentos fallidos de ingreso" in html
    assert "Intente de nuevo en 15 min." in html and "<html" in html
    assert int(resp["Retry-After"]) == 15 * 60


def test_lockout_answers_json_to_programs(client, make_user):
    make_user("bea")
    _lock(client, LOGIN, "bea")
    resp = _post(client, LOGIN, "bea", PASSWORD, HTTP_ACCEPT="application/json")
    assert resp.status_code == 429
    assert resp.json()["error"] == "login_locked"
    assert resp.json()["detail"].startswith("Cuenta bloqueada temporalmente")


def test_other_users_and_other_addresses_are_unaffected(client, make_user):
    make_user("carla")
    make_user("dario")
    _lock(client, LOGIN, "carla")
    assert _post(client, LOGIN, "carla", PASSWORD).status_code == 429
    # another user from the same address
    resp = _post(client, LOGIN, "dario", PASSWORD)
    assert resp.status_code == 302 and client.session["_auth_user_id"]
    # the same user from another address (the lock is on the pair)
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert _post(other, LOGIN, "carla", PASSWORD).status_code == 302


def test_success_resets_the_count(client, make_user):
    make_user("elsa")
    _fail(client, LOGIN, "elsa", 4)
    assert _post(client, LOGIN, "elsa", PASSWORD).status_code == 302
    client.logout()
    _fail(client, LOGIN, "elsa", 4)  # four more are again below the limit
    assert _post(client, LOGIN, "elsa", PASSWORD).status_code == 302


def test_cool_off_expires(client, make_user):
    from axes.models import AccessAttempt
    from django.utils import timezone

    make_user("fabio")
    _lock(client, LOGIN, "fabio")
    assert _post(client, LOGIN, "fabio", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timezone.timedelta(minutes=16))
    assert _post(client, LOGIN, "fabio", PASSWORD).status_code == 302


def test_forwarded_for_cannot_dodge_the_lock(client, make_user):
    """Without a declared proxy X-Forwarded-For is ignored: it does not give a fresh address."""
    make_user("gina")
    _lock(client, LOGIN, "gina")
    assert _post(client, LOGIN, "gina", PASSWORD, HTTP_X_FORWARDED_FOR="8.8.8.8").status_code == 429


def test_test_client_login_needs_a_request(client, make_user):
    """django-axes wants the request in authenticate(): the test client's login passes one (force_login,
    used by the suite, authenticates nobody and is unaffected)."""
    make_user("hugo")
    assert client.login(request=HttpRequest(), username="hugo", password=PASSWORD)
    assert client.get("/api/v1/pot/plans/").status_code == 200
