"""OGC API – Features items: parameters checked first, then ONE PostGIS query builds the page as GeoJSON.

The page comes from the collection's own queryset (visibility applied) with Django filters for bbox,
datetime and property equality, so every value reaches SQL as a parameter. PostGIS writes each feature
(``ST_AsGeoJSON``, reprojected with ``ST_Transform`` when a CRS is asked) and aggregates the page; Python
only wraps the text with the links and counts.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from geosig import params
from geosig.errors import InvalidParameter, NotFound
from ogc import crs as crs_mod
from ogc.collections import BOOLEAN, DATETIME, INTEGER, NUMBER, Collection

DEFAULT_LIMIT = 10
RESERVED = {"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "filter", "filter-lang",
            "properties", "sortby", "resulttype", "q", "type", "skipgeometry"}


def max_limit(user) -> int:
    """Largest page: anonymous clients do bounded work (OGC: a larger ``limit`` is capped, not refused)."""
    anon = user is None or not user.is_authenticated
    return getattr(settings, "OGC_MAX_LIMIT_ANON" if anon else "OGC_MAX_LIMIT", 1000 if anon else 10000)


@dataclass
class Query:
    limit: int
    offset: int
    crs: crs_mod.CRS
    bbox: Polygon | None
    interval: tuple | None
    filters: dict


def parse_query(collection: Collection, query, user) -> Query:
    limit = params.integer(query.get("limit"), "limit", minimum=1, default=DEFAULT_LIMIT)
    offset = params.integer(query.get("offset"), "offset", minimum=0, maximum=10_000_000, default=0)
    out_crs = crs_mod.parse(query.get("crs"), "crs")
    box = parse_bbox(query.get("bbox"), query.get("bbox-crs"))
    interval = parse_datetime_param(query.get("datetime"))
    filters = {}
    known = collection.queryables()
    for name in query:
        if name.lower() in RESERVED:
            continue
        if name not in known:
            valid = ", ".join(sorted(known)) or "—"
            raise InvalidParameter(_("Parámetro desconocido «%(name)s» para la colección «%(id)s». Propiedades "
                                     "filtrables: %(valid)s.") % {"name": name[:60], "id": collection.id,
                                                                  "valid": valid[:600]}, parameter=name)
        filters[name] = _typed(query.get(name), name, known[name])
    return Query(min(limit, max_limit(user)), offset, out_crs, box, interval, filters)


INT_RANGE = (-(2 ** 31), 2 ** 31 - 1)  # a filter value PostgreSQL's integer columns can hold


def _typed(value, name, kind):
    if kind == INTEGER:
        return params.integer(value, name, required=True, minimum=INT_RANGE[0], maximum=INT_RANGE[1])
    if kind == NUMBER:
        return params.number(value, name, required=True, minimum=-1e300, maximum=1e300)
    if kind == BOOLEAN:
        return params.boolean(value, name)
    text = params.text(value, name, max_length=300, required=True)
    if kind == DATETIME:
        try:
            return _instant(text, False)
        except ValueError:
            raise InvalidParameter(_("«%(name)s» debe ser una fecha u hora RFC 3339 (2024-01-31, 2024-01-31T10:00:00Z); "
                                     "recibido %(v)s.") % {"name": name, "v": repr(text[:60])}, parameter=name) from None
    return text


def parse_bbox(value, bbox_crs) -> Polygon | None:
    """``minx,miny,maxx,maxy`` (or 6 numbers with heights, ignored) in ``bbox-crs`` (CRS84 by default)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if bbox_crs:
            raise InvalidParameter(_("«bbox-crs» sin «bbox»: indique también el rectángulo."), parameter="bbox-crs")
        return None
    c = crs_mod.parse(bbox_crs, "bbox-crs")
    parts = str(value).split(",")
    if len(parts) not in (4, 6):
        raise InvalidParameter(_("«bbox» necesita 4 números: minx,miny,maxx,maxy; recibido %(n)d.")
                               % {"n": len(parts)}, parameter="bbox")
    nums = [params.number(p, "bbox", required=True) for p in parts]
    x0, y0, x1, y1 = (nums[0], nums[1], nums[3], nums[4]) if len(nums) == 6 else nums
    if c.flip:
        x0, y0, x1, y1 = y0, x0, y1, x1
    if c.geographic and not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise InvalidParameter(_("«bbox» fuera de rango: longitudes entre −180 y 180, latitudes entre −90 y 90."),
                               parameter="bbox")
    if not (x0 < x1 and y0 < y1):
        raise InvalidParameter(_("«bbox» invertido o vacío: se espera minx<maxx y miny<maxy."), parameter="bbox")
    box = Polygon.from_bbox((x0, y0, x1, y1))
    box.srid = c.srid
    return box


def _instant(text: str, end: bool):
    d = parse_datetime(text)
    if d is None:
        day = parse_date(text)
        if day is None:
            raise ValueError(text)
        d = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
    return d if timezone.is_aware(d) else timezone.make_aware(d, dt.timezone.utc)


def parse_datetime_param(value) -> tuple | None:
    """RFC 3339 instant or interval (``a/b``, ``../b``, ``a/..``); a date alone means that whole day."""
    if value is None or not str(value).strip():
        return None
    text = params.text(value, "datetime", max_length=80)
    parts = text.split("/")
    try:
        if len(parts) == 1:
            return _instant(parts[0], False), _instant(parts[0], parse_datetime(parts[0]) is None)
        if len(parts) == 2:
            start = None if parts[0] in ("", "..") else _instant(parts[0], False)
            end = None if parts[1] in ("", "..") else _instant(parts[1], True)
            if start is None and end is None:
                raise ValueError(text)
            if start and end and start > end:
                raise InvalidParameter(_("«datetime»: el intervalo empieza después de terminar."), parameter="datetime")
            return start, end
    except ValueError:
        pass
    raise InvalidParameter(_("«datetime» debe ser una fecha u hora RFC 3339 (2024-01-31, 2024-01-31T10:00:00Z) o un "
                             "intervalo inicio/fin con «..» abierto; recibido %(v)s.") % {"v": repr(text[:60])},
                           parameter="datetime")


def filtered(collection: Collection, user, q: Query):
    qs = collection.queryset(user)
    if q.bbox is not None:
        qs = qs.filter(**{f"{collection.geom}__intersects": q.bbox})  # GeoDjango transforms the box if needed
    if q.interval is not None and collection.temporal:
        start, end = q.interval
        if start:
            qs = qs.filter(**{f"{collection.temporal}__gte": start})
        if end:
            qs = qs.filter(**{f"{collection.temporal}__lte": end})
    for name, value in q.filters.items():
        if name in collection.types:
            path = collection.properties[name]
            if isinstance(path, str):
                qs = qs.filter(**{path: value})
            else:
                qs = qs.alias(**{f"ogc_f_{len(qs.query.annotations)}": path}).filter(
                    **{f"ogc_f_{len(qs.query.annotations)}": value})
        else:  # a key of the JSON attributes: jsonb equality (12 = 12.0, strings exact)
            qs = qs.alias(ogc_k=KeyTransform(name, collection.attributes)).filter(ogc_k=value)
    return qs


def page_sql(collection: Collection, qs, q: Query) -> tuple[str, list]:
    """The SQL that returns the page as a JSON array of GeoJSON features (text), ordered by id."""
    names = list(collection.properties)
    annotations = {"ogc_i": F(collection.id_field), "ogc_g": F(collection.geom)}
    for i, name in enumerate(names):
        path = collection.properties[name]
        annotations[f"ogc_p{i}"] = F(path) if isinstance(path, str) else path
    if collection.attributes:
        annotations["ogc_a"] = F(collection.attributes)
    page = qs.annotate(**annotations).order_by(collection.id_field).values(*annotations)
    page = page[q.offset:q.offset + q.limit]
    sql, sql_params = page.query.sql_with_params()
    geom = "q.ogc_g" if q.crs.srid == 4326 else f"ST_Transform(q.ogc_g, {int(q.crs.srid)})"
    if q.crs.flip:
        geom = f"ST_FlipCoordinates({geom})"
    props = "json_build_object(" + ", ".join(f"%s, q.ogc_p{i}" for i in range(len(names))) + ")"
    if collection.attributes:
        props = f"(coalesce(q.ogc_a, '{{}}'::jsonb) || {props}::jsonb)"
    wrapped = f"""
        SELECT coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', q.ogc_i,
            'geometry', ST_AsGeoJSON({geom}, {int(q.crs.decimals)}, 0)::json,
            'properties', {props}) ORDER BY q.ogc_i), '[]'::json)::text, count(*)
        FROM ({sql}) AS q"""
    return wrapped, [*names, *sql_params]


def features_page(collection: Collection, user, q: Query) -> tuple[str, int, int]:
    """(features JSON array text, numberMatched, numberReturned)."""
    qs = filtered(collection, user, q)
    matched = qs.count()
    try:
        sql, sql_params = page_sql(collection, qs, q)
    except EmptyResultSet:  # Django proved the filter matches nothing (e.g. a negative value of a positive field)
        return "[]", matched, 0
    with connection.cursor() as cur:
        cur.execute(sql, sql_params)
        text, returned = cur.fetchone()
    return text, matched, returned


def feature(collection: Collection, user, item_id: str, out_crs) -> str:
    """One feature (GeoJSON text) by its id, or NotFound — hidden ones are not found either."""
    missing = NotFound(_("No existe el elemento «%(id)s» en «%(c)s».") % {"id": str(item_id)[:60], "c": collection.id})
    value = str(item_id)[:100]
    if collection.id_field in ("fid", "id", "pk"):  # numeric ids: text that is no integer names no feature
        try:
            value = int(item_id)
        except (TypeError, ValueError):
            raise missing from None
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise missing
    qs = collection.queryset(user).filter(**{collection.id_field: value})
    try:
        sql, sql_params = page_sql(collection, qs, Query(1, 0, out_crs, None, None, {}))
    except EmptyResultSet:
        raise missing from None
    with connection.cursor() as cur:
        cur.execute(sql, sql_params)
        text, returned = cur.fetchone()
    if not returned:
        raise missing
    return text[1:-1].strip()  # the array's only element
