"""Shared fixtures: the real territory loaded once into the test database, and a headless Chromium.

Tests run against a real PostGIS (``DATABASE_URL``; pytest-django creates ``test_<name>``).
"""
import os
from pathlib import Path

import pytest
from django.conf import settings

RAW = Path(settings.GEOSIG_RAW_DIR)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    # Browser tests use transactional databases that are flushed afterwards: run them last so the
    # territory loaded once for the session serves every other test first.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def _project_language():
    """Every test starts in the project's language: a request with the English cookie leaves English
    active in the thread (LocaleMiddleware does not reset it), and server messages follow it."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    """Each test starts with no hits counted in the process (geosig.throttling counts large buckets locally
    between database syncs; the database side rolls back with each test, the process side must too)."""
    from geosig import throttling

    throttling._local.clear()
    yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from territorial.services.loading import load_territory

    with django_db_blocker.unblock():
        load_territory(RAW)


@pytest.fixture
def territory(db):
    """The 42 municipalities, subregions and indicators (loaded for the session; reloaded if flushed)."""
    from territorial.models import Municipality
    from territorial.services.loading import load_territory

    if Municipality.objects.count() != 42:
        load_territory(RAW)
    return Municipality.objects.all()


@pytest.fixture
def loaded_territory_tx(transactional_db):
    """For live-server tests: transactional DBs start empty after a flush, so load explicitly."""
    from territorial.services.loading import load_territory

    load_territory(RAW)


@pytest.fixture(scope="session")
def browser():
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh page that records every request, so a test can assert none leaves localhost."""
    context = browser.new_context(locale="es-CO")
    pg = context.new_page()
    pg.requested_urls = []
    pg.on("request", lambda req: pg.requested_urls.append(req.url))
    yield pg
    context.close()
    _end_queries_left_by_the_page()


def _end_queries_left_by_the_page():
    """A request the closed page left running in a live-server thread (slow on a loaded machine) may still
    hold locks (a foreign-key check, a row lock) when the transactional test's flush truncates every table:
    PostgreSQL then breaks the deadlock by failing the flush, and the next tests inherit its rows. End those
    backends (never idle ones, which hold no locks) before the flush."""
    from django.db import connection

    try:
        cur = connection.cursor()
    except RuntimeError:  # a test without database access: no flush follows
        return
    import time

    # Repeat until the database has been quiet twice in a row: a run the page started may still be working in a
    # live-server thread, and after its query is ended it opens a new connection to record the failure (seen in
    # CI: the flush then deadlocked against that second query).
    quiet, deadline = 0, time.monotonic() + 15
    with cur:
        while quiet < 2 and time.monotonic() < deadline:
            cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid() AND state <> 'idle'")
            quiet = quiet + 1 if cur.fetchone()[0] == 0 else 0
            if quiet < 2:
                time.sleep(0.2)


def wait_for_js(page, expression, timeout=30_000):
    """Wait until ``expression`` (JavaScript) is truthy on ``page``. Playwright's wait_for_function runs its
    predicate through eval(), which the site's Content-Security-Policy (no 'unsafe-eval') refuses; this
    polls with page.evaluate instead (DevTools protocol, outside the page's policy)."""
    import time

    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"Still false after {timeout} ms: {expression}")
        page.wait_for_timeout(50)


def external_requests(page, live_server):
    return [u for u in page.requested_urls if not u.startswith(live_server.url) and not u.startswith("data:")]


PASSWORD = "clave-de-prueba-9"


@pytest.fixture
def make_user(django_user_model):
    """A user in the given groups (roles are created by data migrations)."""
    from django.contrib.auth.models import Group

    def make(username, *groups, **extra):
        if groups and Group.objects.filter(name__in=groups).count() < len(set(groups)):
            restore_layer_roles()  # a transactional test flushed the groups the data migrations made
        user = django_user_model.objects.create_user(username, password=PASSWORD, **extra)
        for name in groups:
            user.groups.add(Group.objects.get(name=name))
        return user

    return make


def restore_layer_roles():
    """Re-create the layers roles exactly as their data migrations define them."""
    import importlib

    from django.contrib.auth.models import Group, Permission

    for module in ("layers.migrations.0002_roles", "layers.migrations.0005_corridor_roles",
                   "layers.migrations.0006_corridor_cancel_any", "layers.migrations.0009_connectivity_roles"):
        for name, codenames in importlib.import_module(module).ROLES.items():
            group, _ = Group.objects.get_or_create(name=name)
            group.permissions.add(*Permission.objects.filter(content_type__app_label="layers", codename__in=codenames))


def browser_login(page, live_server, username, next_url="/"):
    """Log in through the real login form (session cookie in the page's context)."""
    page.goto(f"{live_server.url}/cuentas/ingresar/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_url}")
