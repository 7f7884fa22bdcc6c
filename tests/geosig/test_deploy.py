"""Deployment defaults: GEOSIG_HTTPS=true passes `check --deploy` (only the documented HSTS-preload warning),
the local demo default keeps every https-only setting off, and the API takes browser sessions but not
HTTP Basic credentials."""
import base64
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# README «Desplegar detrás de un proxy inverso»: preload is the domain owner's decision (GEOSIG_HSTS_PRELOAD).
INTENTIONAL = {"security.W021"}
HTTPS_SETTINGS = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
                  "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER")


def _env(**values):
    """The test's environment without any deployment variable, plus ``values`` (settings read them at start)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEOSIG_HTTPS", "GEOSIG_HSTS", "DEBUG"))}
    env.update(values)
    return env


def _settings_in_process(**values):
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            f"print(json.dumps({{k: getattr(s, k) for k in {list(HTTPS_SETTINGS) + ['SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', 'CSRF_COOKIE_SAMESITE']!r}}}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env=_env(DJANGO_SETTINGS_MODULE="geosig.settings", **values))
    return json.loads(out.stdout)


def test_check_deploy_with_https_reports_only_the_documented_warning():
    env = _env(GEOSIG_HTTPS="true", DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50),
               ALLOWED_HOSTS="geosig.example.org", CSRF_TRUSTED_ORIGINS="https://geosig.example.org")
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    issues = set(re.findall(r"\((\w+\.[WE]\d+)\)", done.stdout + done.stderr))
    assert issues == INTENTIONAL, done.stdout + done.stderr


def test_https_switch_turns_on_cookies_hsts_redirect_and_proxy_header():
    on = _settings_in_process(GEOSIG_HTTPS="true")
    assert on["SESSION_COOKIE_SECURE"] and on["CSRF_COOKIE_SECURE"] and on["SECURE_SSL_REDIRECT"]
    assert on["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600 and on["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert on["SECURE_HSTS_PRELOAD"] is False
    assert on["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert _settings_in_process(GEOSIG_HTTPS="true", GEOSIG_HSTS_INCLUDE_SUBDOMAINS="false")[
        "SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False


def test_local_demo_default_is_plain_http():
    off = _settings_in_process()
    assert {k: off[k] for k in HTTPS_SETTINGS} == {
        "SESSION_COOKIE_SECURE": False, "CSRF_COOKIE_SECURE": False, "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0, "SECURE_HSTS_INCLUDE_SUBDOMAINS": False, "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None}
    assert off["SESSION_COOKIE_HTTPONLY"] is True
    assert off["SESSION_COOKIE_SAMESITE"] == off["CSRF_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.django_db
def test_api_ignores_http_basic_credentials_but_takes_the_session(client, django_user_model):
    # a superuser passes every permission check: only authentication decides below
    django_user_model.objects.create_superuser("operadora", password="clave-larga-de-prueba-7")
    url = "/api/v1/cities/attributes/"
    basic = "Basic " + base64.b64encode(b"operadora:clave-larga-de-prueba-7").decode()
    resp = client.post(url, {}, HTTP_AUTHORIZATION=basic)
    assert resp.status_code == 403 and "WWW-Authenticate" not in resp
    client.force_login(django_user_model.objects.get(username="operadora"))
    resp = client.post(url, {})
    assert resp.status_code == 400 and "Adjunte el archivo CSV" in resp.json()["detail"]  # past authentication
