"""Rate limits: per scope, for anonymous clients and logged-in users, API (DRF) and plain pages alike.

Each test sets small rates (override_settings of REST_FRAMEWORK) and starts from an empty bucket table
(the table is transactional: each test's hits roll back with it).
"""
import copy
import re

import pytest
from django.conf import settings
from django.test import override_settings

from geosig.models import ThrottleWindow

pytestmark = pytest.mark.django_db

MESSAGE = re.compile(r"^Demasiadas solicitudes; intente de nuevo en (\d+) s\.$")


def rates(**overrides):
    """REST_FRAMEWORK with the given rates only (no global anon/user rate unless given)."""
    rf = copy.deepcopy(settings.REST_FRAMEWORK)
    rf["DEFAULT_THROTTLE_RATES"] = dict(overrides)
    return override_settings(REST_FRAMEWORK=rf)


def assert_throttled(resp, window=60):
    assert resp.status_code == 429, resp.content[:300]
    body = resp.json()
    assert body["error"] == "throttled"
    m = MESSAGE.match(body["detail"])
    assert m, body["detail"]
    wait = int(resp["Retry-After"])
    assert 1 <= wait <= window and int(m.group(1)) == wait


# (scope, method, url, data): one cheap-to-refuse request of each scope (a 4xx still counts: the
# limit protects the worker whatever the answer)
SCOPED = [
    ("reports", "get", "/api/v1/cities/balance/report.csv?year=1800", None),
    ("overlay", "get", "/api/v1/identify/?lon=-76.5&lat=3.4&layers=no-existe", None),
    ("overlay", "post", "/api/v1/overlay/", {"area": {"kind": "municipio", "code": "00000"}}),
    ("conflicts", "get", "/api/v1/pot/conflicts/?municipality=00000", None),
    ("downloads", "get", "/api/v1/downloads/nada.csv", None),
    ("downloads", "get", "/api/v1/layers/no-existe/download.gpkg", None),
    ("jobs", "post", "/api/v1/corridors/", {"cores": []}),
    ("jobs", "post", "/api/v1/corridors/inputs/", {"kind": "cores"}),
    ("overlay", "get", "/api/v1/corridors/options/?layer=no-existe", None),
]


def _send(client, method, url, data):
    if method == "post":
        return client.post(url, data, content_type="application/json")
    return client.get(url)


@pytest.mark.parametrize("scope, method, url, data", SCOPED)
def test_anonymous_scope_limit(client, scope, method, url, data):
    with rates(**{f"{scope}_anon": "2/min", scope: "100/min"}):
        for _ in range(2):
            assert _send(client, method, url, data).status_code != 429
        assert_throttled(_send(client, method, url, data))
        # another client address has its own bucket
        other = _send(client.__class__(REMOTE_ADDR="10.9.9.9"), method, url, data)
        assert other.status_code != 429
    assert ThrottleWindow.objects.get(key=f"{scope}:ip127.0.0.1").hits == 3  # refused ones count too


@pytest.mark.parametrize("scope, method, url, data", SCOPED)
def test_user_scope_limit(client, django_user_model, scope, method, url, data):
    """Logged-in users count under «<scope>» (not the anonymous rate), per account."""
    user = django_user_model.objects.create_user("limitada", password="x")
    client.force_login(user)
    with rates(**{f"{scope}_anon": "1/min", scope: "3/min"}):
        for _ in range(3):
            assert _send(client, method, url, data).status_code != 429
        assert_throttled(_send(client, method, url, data))
        second = client.__class__()
        second.force_login(django_user_model.objects.create_user("otra", password="x"))
        assert _send(second, method, url, data).status_code != 429  # same address, other account


def test_global_anonymous_rate_covers_unscoped_endpoints(client):
    with rates(anon="3/min", user="100/min"):
        for _ in range(3):
            assert client.get("/api/v1/subregions/").status_code == 200
        assert_throttled(client.get("/api/v1/subregions/"))


def test_scope_only_counts_its_method(client, django_user_model):
    """Listing corridor runs (GET) is not a job start (POST)."""
    with rates(jobs_anon="1/min"):
        for _ in range(3):
            assert client.get("/api/v1/corridors/").status_code == 200
        assert client.post("/api/v1/corridors/", {}, content_type="application/json").status_code != 429
        assert_throttled(client.post("/api/v1/corridors/", {}, content_type="application/json"))


def test_conflict_reports_also_count_as_reports(client):
    """A PDF/HTML conflicts report spends the «reports» budget too; JSON only the «conflicts» one."""
    url = "/api/v1/pot/conflicts/?municipality=00000"
    with rates(conflicts_anon="100/min", reports_anon="1/min"):
        assert client.get(url + "&format=pdf").status_code == 404
        assert_throttled(client.get(url + "&format=html"))
        assert client.get(url).status_code == 404  # json: not a report


def test_cities_page_is_throttled_with_a_spanish_page(client, territory):
    """The /ciudades/ page computes a balance like the API: same «reports» budget; browsers get HTML."""
    with rates(reports_anon="1/min"):
        assert client.get("/ciudades/?year=1800").status_code == 400  # counted though refused
        resp = client.get("/ciudades/", HTTP_ACCEPT="text/html")
        assert resp.status_code == 429 and 1 <= int(resp["Retry-After"]) <= 60
        html = resp.content.decode()
        assert "Demasiadas solicitudes; intente de nuevo en" in html and "<html" in html
        assert_throttled(client.get("/api/v1/cities/balance/?year=1800"))  # the API shares it


def test_upload_page_counts_only_posts(client, django_user_model):
    user = django_user_model.objects.create_user("subidor", password="x")
    client.force_login(user)
    with rates(jobs="1/min"):
        assert client.get("/capas/subir/").status_code == 403  # no role: the page says so, not counted
        assert client.get("/capas/subir/").status_code == 403
        client.post("/capas/subir/", {})
        assert_throttled(client.post("/capas/subir/", {}))


def test_window_resets(client, monkeypatch):
    """A new fixed window starts from zero."""
    import geosig.throttling as T

    now = [1_000_000_000.0]
    monkeypatch.setattr(T, "clock", lambda: now[0])
    with rates(anon="1/min"):
        assert client.get("/api/v1/subregions/").status_code == 200
        resp = client.get("/api/v1/subregions/")
        assert_throttled(resp)
        assert int(resp["Retry-After"]) == 20  # the window is 999_999_960–1_000_000_020
        now[0] += 60
        assert client.get("/api/v1/subregions/").status_code == 200


def test_disabled(client):
    with rates(anon="1/min"), override_settings(GEOSIG_THROTTLE_ENABLED=False):
        for _ in range(3):
            assert client.get("/api/v1/subregions/").status_code == 200


def test_forwarded_for_is_not_trusted_by_default(client):
    """With no declared proxy a client cannot choose its bucket through X-Forwarded-For."""
    with rates(anon="1/min"):
        assert client.get("/api/v1/subregions/", HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 200
        assert_throttled(client.get("/api/v1/subregions/", HTTP_X_FORWARDED_FOR="2.2.2.2"))


def test_expired_windows_are_purged(client, monkeypatch):
    import geosig.throttling as T

    ThrottleWindow.objects.create(key="anon:ipviejo", window_start=0, expires=60, hits=5)
    monkeypatch.setattr(T, "PURGE_PROBABILITY", 1.0)
    with rates(anon="50/min"):  # below LOCAL_MIN_LIMIT: this request is written, and the purge runs with writes
        client.get("/api/v1/subregions/")
    assert not ThrottleWindow.objects.filter(key="anon:ipviejo").exists()
    assert ThrottleWindow.objects.filter(key="anon:ip127.0.0.1").exists()


def test_default_rates_are_configured():
    """Every scope named by a view has a rate for users and a stricter or equal one for anonymous clients."""
    from geosig.throttling import parse_rate

    r = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    for scope in ("reports", "overlay", "conflicts", "downloads", "jobs"):
        n_user, s_user = parse_rate(r[scope])
        n_anon, s_anon = parse_rate(r[f"{scope}_anon"])
        assert n_anon / s_anon <= n_user / s_user
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == ["geosig.throttling.GeoSIGThrottle"]


def test_a_scope_named_twice_counts_once(rf):
    """A view naming the same scope twice (or its global one) must not break the single upsert."""
    from django.contrib.auth.models import AnonymousUser

    from geosig.throttling import hit

    request = rf.get("/")
    request.user = AnonymousUser()
    with rates(anon="2/min", reports_anon="2/min"):
        assert hit(request, ("reports", "reports", "anon")) is None
        assert hit(request, ("reports",)) is None
        assert hit(request, ("reports",)) is not None
    assert ThrottleWindow.objects.get(key="reports:ip127.0.0.1").hits == 3


def test_large_buckets_count_locally_and_sync_every_few_requests(rf, monkeypatch):
    """A 1000/min bucket is written once per SYNC_EVERY requests (not per request), and what was counted in
    the process reaches the database: after 2 × SYNC_EVERY + 5 requests the table holds 2 × SYNC_EVERY and 5
    are pending."""
    from django.contrib.auth.models import AnonymousUser

    import geosig.throttling as T

    monkeypatch.setattr(T, "clock", lambda: 1_000_000.0)  # one window, no time-based sync
    request = rf.get("/")
    request.user = AnonymousUser()
    with rates(anon="1000/min"):
        for _ in range(2 * T.SYNC_EVERY + 5):
            assert T.hit(request) is None
    assert ThrottleWindow.objects.get(key="anon:ip127.0.0.1").hits == 2 * T.SYNC_EVERY
    assert T._local["anon:ip127.0.0.1"][2] == 5


def test_near_the_limit_every_request_is_decided_by_the_database(rf, monkeypatch):
    """Local counting never refuses and never lets a large bucket run past its limit: the 101st request
    of a 1000/min bucket is refused, and by then every hit counted in the process is in the table."""
    from django.contrib.auth.models import AnonymousUser

    import geosig.throttling as T

    monkeypatch.setattr(T, "clock", lambda: 2_000_000.0)
    request = rf.get("/")
    request.user = AnonymousUser()
    with rates(anon="1000/min"):
        answers = [T.hit(request) for _ in range(1001)]
    assert all(a is None for a in answers[:1000])
    assert answers[1000] is not None
    assert ThrottleWindow.objects.get(key="anon:ip127.0.0.1").hits == 1001
