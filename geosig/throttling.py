"""Request rate limits shared by the API (DRF throttle class) and the plain Django pages (decorator).

Each request counts against a global bucket ("anon" by IP, "user" by account) and against the scopes
of what it asks for ("reports", "overlay", "conflicts", "downloads", "jobs"). A scope named
``<scope>_anon`` in the rates applies to anonymous clients instead of ``<scope>`` (stricter for them).
Rates are DRF's ``DEFAULT_THROTTLE_RATES`` (``"30/min"``), set from the environment in settings.

Counting is one fixed window per bucket, stored in PostgreSQL with ONE upsert statement for all the
buckets of a request, in an UNLOGGED table (no WAL, so no disk flush at commit): shared by every server
process with no extra service and atomic under concurrency. Measured ~0.3 ms per request, against
~8-10 ms for DRF's default (a sliding log in the database cache: per bucket a read, then a write that
counts the whole cache table and commits with a flush; its cost also grows with the number of clients).
A fixed window lets a client burst up to twice the rate across a window boundary, which is fine for
protecting workers.

Large buckets (limit ≥ LOCAL_MIN_LIMIT, e.g. the global 300/min) are counted in the process between
syncs: a process writes its pending hits with the same upsert every SYNC_EVERY requests, every
SYNC_SECONDS, or on every request once the last known total comes near the limit. A refusal is only
ever decided on the database's total, so local counting can over-admit a little (at most SYNC_EVERY per
process and bucket, and only far below the limit), never refuse wrongly. Measured with
``bench/bench_municipalities_api.py --throttling`` (50 connections, p95 ON/OFF): 1.26 writing every
request, 1.13 syncing every 10, 1.00 every 25. Small scoped limits (reports, jobs…) still count exactly,
request by request.
"""
from __future__ import annotations

import functools
import math
import random
import threading
import time

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from geosig.errors import GeoSIGError

TABLE = "geosig_throttlewindow"
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
PURGE_PROBABILITY = 0.002  # expired windows are deleted by ~1 request in 500
clock = time.time  # tests move it
LOCAL_MIN_LIMIT = 100  # buckets at least this large are counted in the process between syncs
SYNC_EVERY = 25  # pending hits of one bucket that force a sync
SYNC_SECONDS = 1.0  # oldest pending hit that forces a sync
MAX_LOCAL_KEYS = 10_000  # local states kept per process before ended windows are dropped
# key → [window_start, last total read from the database, pending hits, time of the last sync]
_local: dict[str, list] = {}
_local_lock = threading.Lock()


class TooManyRequests(GeoSIGError):
    code = "throttled"
    status = 429

    def __init__(self, wait: float):
        self.wait = max(1, math.ceil(wait))
        super().__init__(message(self.wait))


def message(wait: int) -> str:
    return _("Demasiadas solicitudes; intente de nuevo en %(s)d s.") % {"s": wait}


def parse_rate(rate: str) -> tuple[int, int]:
    """"30/min" → (30, 60); the period is read by its first letter, as DRF does."""
    num, period = rate.split("/")
    return int(num), PERIODS[period.strip()[0]]


def enabled() -> bool:
    return getattr(settings, "GEOSIG_THROTTLE_ENABLED", True)


def client_ident(request) -> str:
    """Account id for a logged-in user, else the client address (NUM_PROXIES decides whether to trust
    X-Forwarded-For: 0, the default, never does, so a client cannot pick its own bucket)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u{user.pk}"
    return "ip" + (BaseThrottle().get_ident(request) or "?")


def buckets(request, scopes) -> list[tuple[str, int, int]]:
    """(key, limit, seconds) of every rate that applies: the global one and each scope's."""
    user = getattr(request, "user", None)
    anon = user is None or not user.is_authenticated
    rates = api_settings.DEFAULT_THROTTLE_RATES or {}
    ident = client_ident(request)
    out = {}
    for scope in ["anon" if anon else "user", *scopes]:
        rate = (rates.get(f"{scope}_anon") if anon else None) or rates.get(scope)
        if rate:
            limit, seconds = parse_rate(rate)
            out[f"{scope}:{ident}"[:200]] = (limit, seconds)
    # one row per key (an upsert may not touch a row twice), in key order: concurrent requests lock their
    # rows in the same order and cannot deadlock
    return [(key, *out[key]) for key in sorted(out)]


def hit(request, scopes=()) -> float | None:
    """Count this request in its buckets; seconds to wait when one is over its limit, else None."""
    if not enabled():
        return None
    todo = buckets(request, scopes)
    if not todo:
        return None
    now = clock()
    due = _due(todo, now)
    if not due:
        return None
    rows, limits = [], {}
    for key, start, expires, delta, limit in due:
        rows += [key, start, expires, delta]
        limits[key] = limit
    values = ", ".join(["(%s, %s, %s, %s)"] * len(due))
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {TABLE} (key, window_start, expires, hits) VALUES {values} "
            f"ON CONFLICT (key) DO UPDATE SET "
            f"hits = CASE WHEN {TABLE}.window_start = EXCLUDED.window_start "
            f"THEN {TABLE}.hits + EXCLUDED.hits ELSE EXCLUDED.hits END, "
            f"window_start = EXCLUDED.window_start, expires = EXCLUDED.expires "
            f"RETURNING key, hits, window_start, expires", rows)
        counted = cur.fetchall()
        if random.random() < PURGE_PROBABILITY:
            cur.execute(f"DELETE FROM {TABLE} WHERE expires < %s", [int(now)])
    with _local_lock:
        for key, hits, start, _ in counted:
            state = _local.get(key)
            if state is not None and state[0] == start:
                state[1] = hits
    waits = [expires - now for key, hits, _, expires in counted if hits > limits[key]]
    return max(waits) if waits else None


def _due(todo, now: float) -> list[tuple[str, int, int, int, int]]:
    """The buckets to write now, as (key, window start, expiry, pending hits, limit); the others only
    count this request in the process (large buckets far from their limit, see the module docstring)."""
    due = []
    with _local_lock:
        if len(_local) > MAX_LOCAL_KEYS:
            for key in [k for k, st in _local.items() if now - st[3] > 3600]:
                del _local[key]
        for key, limit, seconds in todo:
            start = int(now // seconds * seconds)
            state = _local.get(key)
            if state is None or state[0] != start:
                state = _local[key] = [start, 0, 0, now]
            state[2] += 1
            if (limit < LOCAL_MIN_LIMIT or state[2] >= SYNC_EVERY or now - state[3] >= SYNC_SECONDS
                    or state[1] + state[2] > limit - 4 * SYNC_EVERY):
                due.append((key, start, start + seconds, state[2], limit))
                state[2], state[3] = 0, now
    return due


def scopes_of(view, request) -> list[str]:
    """A view's ``throttle_scope``: a name, a {HTTP method: name} mapping, or a callable(request)."""
    scope = getattr(view, "throttle_scope", None)
    if isinstance(scope, dict):
        scope = scope.get(request.method)
    elif callable(scope):
        scope = scope(request)
    if not scope:
        return []
    return [scope] if isinstance(scope, str) else list(scope)


def by_format(scope: str, extra: dict[str, str], param: str = "format"):
    """A ``throttle_scope`` that adds a second scope for some values of a query parameter
    (e.g. the conflicts API: every request is "conflicts", PDF/HTML ones are also "reports")."""
    def scopes(request):
        fmt = request.GET.get(param, "")
        return [scope, extra[fmt]] if fmt in extra else [scope]
    return staticmethod(scopes)


class GeoSIGThrottle(BaseThrottle):
    """DRF: the only throttle class (settings DEFAULT_THROTTLE_CLASSES); DRF turns a refusal into
    ``Throttled`` with ``Retry-After``, worded in Spanish by ``geosig.errors.api_exception_handler``."""

    def allow_request(self, request, view):
        self._wait = hit(request, scopes_of(view, request))
        return self._wait is None

    def wait(self):
        return self._wait


def limit_response(request, exc: GeoSIGError, title: str) -> HttpResponse:
    """A refusal for plain Django views and middleware: a Spanish page for browsers, JSON otherwise."""
    wants_html = "text/html" in request.headers.get("Accept", "") and not request.path.startswith("/api/")
    if wants_html:
        html = render_to_string("geosig/limit.html", {"title": title, "message": exc.message}, request=request)
        return HttpResponse(html, status=exc.status)
    return JsonResponse(exc.as_dict(), status=exc.status)


def too_many_response(request, wait: float) -> HttpResponse:
    """429 with Retry-After (seconds) for a plain Django view."""
    exc = TooManyRequests(wait)
    resp = limit_response(request, exc, _("Demasiadas solicitudes"))
    resp["Retry-After"] = str(exc.wait)
    return resp


def throttle(*scopes: str, methods=None):
    """Decorator for plain Django views that start heavy work (e.g. the cities balance page); with
    ``methods``, only requests of those methods are counted (e.g. the POST of an upload form)."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            wait = hit(request, scopes) if methods is None or request.method in methods else None
            if wait is not None:
                return too_many_response(request, wait)
            return view(request, *args, **kwargs)
        return wrapped
    return decorate
