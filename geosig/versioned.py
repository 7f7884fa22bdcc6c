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
from collections import OrderedDict

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified

_local: dict[str, OrderedDict] = {}  # namespace → {key: entry}, least recently used first
_lock = threading.Lock()


def limits() -> tuple[int, int]:
    """(entries, bytes) kept per namespace and process: GEOSIG_MEMO_MAX_ENTRIES / _MAX_BYTES."""
    return (int(getattr(settings, "GEOSIG_MEMO_MAX_ENTRIES", 256)),
            int(getattr(settings, "GEOSIG_MEMO_MAX_BYTES", 32 * 1024 * 1024)))


def normalise(value):
    """One key for requests that mean the same: strings stripped, floats rounded to 1e-6 (≈ 0.1 m in
    degrees; callers round to their own step first), sets and dicts sorted, lists as tuples."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        r = round(value, 6)
        return int(r) if r.is_integer() else r
    if isinstance(value, dict):
        return tuple(sorted((str(k), normalise(v)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return tuple(sorted((normalise(v) for v in value), key=repr))
    if isinstance(value, (list, tuple)):
        return tuple(normalise(v) for v in value)
    return value


def _size(entry) -> int:
    return len(entry[0]) + len(entry[1])


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


def memo(namespace: str, params, build) -> tuple[bytes, bytes, str]:
    """(body, gzipped body, etag) for ``params`` at the current data version. Per namespace at most
    GEOSIG_MEMO_MAX_ENTRIES entries and GEOSIG_MEMO_MAX_BYTES bytes are kept, least recently used out
    first; entries of an older data version go as soon as one of the new version is stored."""
    v = version(namespace)
    key = (v, normalise(params))
    with _lock:
        space = _local.setdefault(namespace, OrderedDict())
        hit = space.get(key)
        if hit is not None:
            space.move_to_end(key)
            return hit
    body = build()
    body = body.encode() if isinstance(body, str) else body
    entry = (body, gzip.compress(body, 6),
             '"' + hashlib.sha1(repr((namespace, key)).encode()).hexdigest()[:20] + '"')
    max_entries, max_bytes = limits()
    with _lock:
        space = _local.setdefault(namespace, OrderedDict())
        for old in [k for k in space if k[0] != v]:
            del space[old]
        space[key] = entry
        total = sum(_size(e) for e in space.values())
        while space and (len(space) > max_entries or total > max_bytes):
            _, gone = space.popitem(last=False)
            total -= _size(gone)
    return entry


def respond(request, entry, content_type: str, max_age: int = 60):
    """An HttpResponse for a memo entry: 304 on a matching ETag, pre-gzipped body when accepted."""
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
