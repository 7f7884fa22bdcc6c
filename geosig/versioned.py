"""Responses that change only when the data changes: built once per data version, then served.

The data version lives in Django's cache (the database cache: shared by every server process, no
extra service to install) and is bumped by signals and loaders when the underlying rows change.
Each process keeps the built bodies (plain and gzip) for the current version in memory, so a hit
costs one tiny cache read instead of rebuilding and recompressing ~50 KB of GeoJSON.
"""
from __future__ import annotations

import gzip
import hashlib
import threading
import uuid

from django.core.cache import cache

_local: dict[tuple, tuple[bytes, bytes, str]] = {}
_lock = threading.Lock()
MAX_ENTRIES = 256


def version(namespace: str) -> str:
    key = f"geosig:version:{namespace}"
    v = cache.get(key)
    if v is None:
        v = uuid.uuid4().hex
        cache.add(key, v, timeout=None)
        v = cache.get(key) or v
    return v


def bump(namespace: str) -> None:
    cache.set(f"geosig:version:{namespace}", uuid.uuid4().hex, timeout=None)


def memo(namespace: str, params: tuple, build) -> tuple[bytes, bytes, str]:
    """(body, gzipped body, etag) for ``params`` at the current data version."""
    v = version(namespace)
    key = (namespace, v, params)
    hit = _local.get(key)
    if hit is not None:
        return hit
    body = build()
    body = body.encode() if isinstance(body, str) else body
    entry = (body, gzip.compress(body, 6), '"' + hashlib.sha1(repr(key).encode()).hexdigest()[:20] + '"')
    with _lock:
        if len(_local) >= MAX_ENTRIES:
            _local.clear()
        _local[key] = entry
    return entry


def respond(request, entry, content_type: str, max_age: int = 60):
    """An HttpResponse for a memo entry: 304 on a matching ETag, pre-gzipped body when accepted."""
    from django.http import HttpResponse, HttpResponseNotModified

    body, gz, etag = entry
    if request.headers.get("If-None-Match") == etag:
        resp = HttpResponseNotModified()
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        resp = HttpResponse(gz, content_type=content_type)
        resp["Content-Encoding"] = "gzip"  # GZipMiddleware leaves encoded responses alone
    else:
        resp = HttpResponse(body, content_type=content_type)
    resp["ETag"] = etag
    resp["Vary"] = "Accept-Encoding"
    resp["Cache-Control"] = f"public, max-age={max_age}"
    return resp
