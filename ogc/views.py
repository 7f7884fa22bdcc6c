"""OGC API endpoints (Features, Tiles, Records) under /ogc/: plain Django views, thin.

Native views rather than pygeoapi's Django app (decision in the README, «Servicios OGC»): pygeoapi reads one
static configuration at start-up, answers in English, its HTML pages load Bootstrap/Leaflet from CDNs and
it reprojects in Python. Here each request reads the registry (``ogc.collections``), parameters go through
``geosig.params`` (Spanish 400s as OGC exceptions ``{code, description}``), PostGIS writes the GeoJSON, and the
tiles are the layers app's own tile views (same bytes, same cache headers).
"""
from __future__ import annotations

import functools
import json

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from geosig import formats, params
from geosig.errors import GeoSIGError, InvalidParameter, NotFound
from geosig.throttling import hit, too_many_response
from layers import views as layer_views
from layers.services.tiles import check_tile
from ogc import collections as registry
from ogc import crs as crs_mod
from ogc import tms
from ogc.openapi_doc import openapi_document
from ogc.services import features, iso19139, records

GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/landing-page",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/png",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-collection",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-api",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/json",
]
THROTTLE_SCOPE = "ogc"  # items and records (anonymous: ogc_anon); tiles stay unthrottled like the layers' tiles


def ogc_view(throttled: bool = True):
    """GeoSIG errors → OGC exception JSON ``{code, description}`` (Spanish) with their HTTP status; counted
    against the rate limits (global bucket + «ogc») before any work."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if throttled:
                wait = hit(request, [THROTTLE_SCOPE])
                if wait is not None:
                    return too_many_response(request, wait)
            try:
                return view(request, *args, **kwargs)
            except GeoSIGError as exc:
                return JsonResponse({"code": exc.code, "description": exc.message}, status=exc.status,
                                    json_dumps_params={"ensure_ascii": False})
        return wrapped
    return decorate


def root_url(request) -> str:
    return request.build_absolute_uri(reverse("ogc-landing")).rstrip("/")


def _json(data, content_type="application/json", status=200, **headers):
    resp = HttpResponse(json.dumps(data, ensure_ascii=False), content_type=content_type, status=status)
    resp["Access-Control-Allow-Origin"] = "*"
    for k, v in headers.items():
        resp[k.replace("_", "-")] = v
    return resp


def wants_html(request) -> bool:
    f = request.GET.get("f")
    if f:
        return params.choice(f, "f", ["json", "html", "xml", "iso19139", "mvt", "png"]) == "html"
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "json" not in accept


def link(href, rel, type_, title=""):
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = str(title)
    return out


@ogc_view(throttled=False)
def landing(request):
    root = root_url(request)
    data = {
        "title": _("GeoSIG Valle — servicios OGC"),
        "description": _("OGC API – Features, Tiles y Records de los datos públicos de GeoSIG Valle (Valle del "
                         "Cauca): municipios, subregiones, centros poblados, capas ambientales, POT aprobados y el "
                         "catálogo de metadatos (ISO 19139, perfil NTC 4611)."),
        "links": [
            link(f"{root}/", "self", "application/json", _("Esta página")),
            link(f"{root}/?f=html", "alternate", "text/html", _("Esta página en HTML")),
            link(f"{root}/api", "service-desc", OPENAPI, _("Definición OpenAPI de los servicios OGC")),
            link(request.build_absolute_uri(reverse("api-docs")), "service-doc", "text/html",
                 _("Documentación de la API del sitio (Swagger UI)")),
            link(f"{root}/conformance", "conformance", "application/json", _("Clases de conformidad")),
            link(f"{root}/collections", "data", "application/json", _("Colecciones")),
            link(f"{root}/tileMatrixSets", "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", "application/json",
                 _("Conjuntos de matrices de teselas")),
            link(f"{root}/collections/{records.CATALOGUE_ID}", "http://www.opengis.net/def/rel/ogc/1.0/ogc-catalog",
                 "application/json", _("Catálogo de metadatos")),
        ],
    }
    if wants_html(request):
        return render(request, "ogc/landing.html", {"data": data, "root": root})
    return _json(data)


@ogc_view(throttled=False)
def conformance(request):
    return _json({"conformsTo": CONFORMANCE})


@ogc_view(throttled=False)
def api_document(request):
    return _json(openapi_document(root_url(request), registry.all_collections()), OPENAPI)


def collection_dict(c: registry.Collection, root: str) -> dict:
    base = f"{root}/collections/{c.id}"
    raster = c.layer is not None and c.layer.kind == "raster"
    out = {
        "id": c.id, "title": str(c.title), "description": str(c.description), "keywords": [str(k) for k in c.keywords],
        "extent": {"spatial": {"bbox": [list(c.bbox)], "crs": crs_mod.CRS84}},
        "links": [link(base, "self", "application/json", c.title)],
    }
    if c.interval:
        out["extent"]["temporal"] = {"interval": [list(c.interval)]}
    if c.layer is not None:
        out["links"].append(link(f"{base}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-" +
                                 ("map" if raster else "vector"), "application/json", _("Teselas")))
        out["links"].append(link(f"{root}/collections/{records.CATALOGUE_ID}/items/{c.id}", "describedby",
                                 "application/geo+json", _("Registro de metadatos")))
    if raster:
        out["layerDataType"] = "Raster"  # no items: GDAL's OAPIF driver skips it, tiles only
        return out
    out.update(itemType="feature", crs=crs_mod.uris(), storageCrs=crs_mod.CRS84)
    out["links"] += [
        link(f"{base}/items", "items", GEOJSON, _("Elementos (GeoJSON)")),
        link(f"{base}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json",
             _("Propiedades filtrables")),
    ]
    return out


def _raster_collections():
    from layers.models import Layer

    return [registry.Collection(f"capa-{l.slug}", l.title, l.description or l.title, None, "", "", {}, {},
                                "raster", [str(l.get_theme_display())], bbox=l.extent.extent if l.extent else
                                registry.VALLE_BBOX, layer=l)
            for l in Layer.objects.filter(kind=Layer.Kind.RASTER)]


def catalogue_collection(root: str) -> dict:
    base = f"{root}/collections/{records.CATALOGUE_ID}"
    return {"id": records.CATALOGUE_ID, "title": _("Catálogo de GeoSIG Valle"), "itemType": "record",
            "type": "Collection",
            "description": _("Metadatos de capas, indicadores, colecciones y resultados de análisis (ISO 19139, "
                             "perfil NTC 4611, en cada registro con ?f=xml)."),
            "extent": {"spatial": {"bbox": [list(registry.VALLE_BBOX)], "crs": crs_mod.CRS84}},
            "links": [link(base, "self", "application/json"), link(f"{base}/items", "items", GEOJSON, _("Registros"))]}


def every_collection(request) -> list[dict]:
    root = root_url(request)
    out = [collection_dict(c, root) for c in registry.all_collections().values()]
    out += [collection_dict(c, root) for c in _raster_collections()]
    return out + [catalogue_collection(root)]


@ogc_view(throttled=False)
def collections(request):
    root = root_url(request)
    data = {"links": [link(f"{root}/collections", "self", "application/json")], "collections": every_collection(request)}
    if wants_html(request):
        return render(request, "ogc/collections.html", {"data": data, "root": root})
    return _json(data)


def find_collection(collection_id: str):
    try:
        return registry.get(collection_id)
    except NotFound:
        for c in _raster_collections():
            if c.id == collection_id:
                return c
        raise


@ogc_view(throttled=False)
def collection(request, collection_id):
    root = root_url(request)
    if collection_id == records.CATALOGUE_ID:
        return _json(catalogue_collection(root))
    return _json(collection_dict(find_collection(collection_id), root))


@ogc_view(throttled=False)
def queryables(request, collection_id):
    c = registry.get(collection_id)
    props = {}
    for name, kind in c.queryables().items():
        props[name] = {"type": "string", "format": "date-time"} if kind == registry.DATETIME else {"type": kind}
    return _json({"$schema": "https://json-schema.org/draft/2019-09/schema",
                  "$id": f"{root_url(request)}/collections/{c.id}/queryables", "type": "object",
                  "title": str(c.title), "properties": props}, "application/schema+json")


def _page_links(request, base: str, q, matched: int, returned: int, media=GEOJSON) -> list[dict]:
    query = request.GET.copy()
    query.pop("f", None)
    query["limit"] = str(q.limit)

    def url(offset):
        query["offset"] = str(offset)
        return f"{base}?{query.urlencode()}"

    out = [link(url(q.offset), "self", media), link(base.rsplit("/items", 1)[0], "collection", "application/json")]
    if q.offset + returned < matched:
        out.append(link(url(q.offset + q.limit), "next", media, _("Página siguiente")))
    if q.offset > 0:
        out.append(link(url(max(0, q.offset - q.limit)), "prev", media, _("Página anterior")))
    return out


@ogc_view()
def items(request, collection_id):
    if collection_id == records.CATALOGUE_ID:
        return record_items(request)
    c = registry.get(collection_id)
    q = features.parse_query(c, request.GET, request.user)
    text, matched, returned = features.features_page(c, request.user, q)
    base = f"{root_url(request)}/collections/{c.id}/items"
    head = {"type": "FeatureCollection", "numberMatched": matched, "numberReturned": returned,
            "timeStamp": _now(), "links": _page_links(request, base, q, matched, returned)}
    body = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": ' + text + "}"
    resp = HttpResponse(body, content_type=GEOJSON)
    resp["Content-Crs"] = f"<{q.crs.uri}>"
    resp["Access-Control-Allow-Origin"] = "*"
    return resp


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@ogc_view()
def item(request, collection_id, item_id):
    if collection_id == records.CATALOGUE_ID:
        return record_item(request, item_id)
    c = registry.get(collection_id)
    out_crs = crs_mod.parse(request.GET.get("crs"), "crs")
    text = features.feature(c, request.user, item_id, out_crs)
    root = root_url(request)
    links = json.dumps([link(f"{root}/collections/{c.id}/items/{item_id}", "self", GEOJSON),
                        link(f"{root}/collections/{c.id}", "collection", "application/json")], ensure_ascii=False)
    resp = HttpResponse(text[:-1] + ', "links": ' + links + "}", content_type=GEOJSON)
    resp["Content-Crs"] = f"<{out_crs.uri}>"
    resp["Access-Control-Allow-Origin"] = "*"
    return resp


# ------------------------------------------------------------------------------------------------ Tiles
@ogc_view(throttled=False)
def tile_matrix_sets(request):
    root = root_url(request)
    return _json({"tileMatrixSets": [{"id": tms.ID, "title": tms.TITLE, "uri": tms.URI, "links": [
        link(f"{root}/tileMatrixSets/{tms.ID}", "self", "application/json")]}]})


@ogc_view(throttled=False)
def tile_matrix_set(request, tms_id):
    tms.check(tms_id)
    return _json(tms.definition())


def _tiled(collection_id):
    c = find_collection(collection_id)
    if c.layer is None:
        raise NotFound(_("La colección «%(id)s» no tiene teselas (sólo las capas del registro las tienen).")
                       % {"id": collection_id})
    return c


@ogc_view(throttled=False)
def tilesets(request, collection_id):
    c = _tiled(collection_id)
    root = root_url(request)
    return _json({"links": [link(f"{root}/collections/{c.id}/tiles", "self", "application/json")],
                  "tilesets": [tms.tileset_summary(c, root)]})


@ogc_view(throttled=False)
def tileset(request, collection_id, tms_id):
    tms.check(tms_id)
    return _json(tms.tileset(_tiled(collection_id), root_url(request)))


@ogc_view(throttled=False)
def tile(request, collection_id, tms_id, z, row, col):
    """The layers app's own tile view: tileMatrix = z, tileRow = y, tileCol = x of the XYZ scheme."""
    tms.check(tms_id)
    check_tile(z, col, row)  # a tile outside the matrix is an OGC exception here, not the XYZ error shape
    if not collection_id.startswith("capa-"):
        _tiled(collection_id)  # raises the OGC 404 (only layers have tiles)
    # straight to the layers' own tile view, which reads the layer row once and picks MVT or PNG by its kind
    return layer_views.layer_tile_view(request, collection_id.removeprefix("capa-"), z, col, row)


# ------------------------------------------------------------------------------------------------ Records
def record_dict(r: records.Record, root: str) -> dict:
    props = {"type": r.type, "title": r.title, "description": r.description, "keywords": r.keywords,
             "language": {"code": "es"}, "license": r.licence or None, "created": r.created, "updated": r.updated,
             "contacts": [records.CONTACT], "themes": [{"concepts": [{"id": iso19139.topic(r)}],
                                                        "scheme": "ISO 19115 MD_TopicCategoryCode"}],
             "lineage": r.lineage, "source": r.source, "flags": r.flags, "crs": r.crs}
    links = [link(f"{root}/collections/{records.CATALOGUE_ID}/items/{r.id}", "self", GEOJSON),
             link(f"{root}/collections/{records.CATALOGUE_ID}/items/{r.id}?f=xml", "alternate", "application/xml",
                  "ISO 19139 (NTC 4611)")]
    links += [link(f"{root}/{href}", rel, mime, title) for rel, href, mime, title in r.links]
    geometry = None
    if r.bbox:
        x0, y0, x1, y1 = (float(v) for v in r.bbox)
        geometry = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
    time = None
    if r.interval and r.interval[0]:
        time = {"interval": [str(r.interval[0])[:10], str(r.interval[1] or r.interval[0])[:10]]}
    return {"type": "Feature", "id": r.id, "conformsTo": [
        "http://www.opengis.net/spec/ogcapi-records-1/1.0/req/record-core"], "geometry": geometry, "time": time,
        "properties": props, "links": links}


def record_items(request):
    g = request.GET
    known = {"f", "limit", "offset", "bbox", "q", "type", "datetime"}
    unknown = sorted(set(g) - known)
    if unknown:
        raise InvalidParameter(_("Parámetro desconocido «%(name)s» para el catálogo. Válidos: %(valid)s.")
                               % {"name": unknown[0][:60], "valid": ", ".join(sorted(known))}, parameter=unknown[0])
    limit = min(params.integer(g.get("limit"), "limit", minimum=1, default=features.DEFAULT_LIMIT),
                features.max_limit(request.user))
    offset = params.integer(g.get("offset"), "offset", minimum=0, maximum=1_000_000, default=0)
    box = params.bbox(g.get("bbox"))
    words = params.text_list(g.get("q"), "q", max_length=100)
    types = params.text_list(g.get("type"), "type", max_length=40)
    interval = features.parse_datetime_param(g.get("datetime"))
    found = records.search(records.all_records(), q=words, bbox=box, types=types, interval=interval)
    page = found[offset:offset + limit]
    root = root_url(request)
    q = features.Query(limit, offset, None, None, None, {})
    base = f"{root}/collections/{records.CATALOGUE_ID}/items"
    return _json({"type": "FeatureCollection", "numberMatched": len(found), "numberReturned": len(page),
                  "timeStamp": _now(), "features": [record_dict(r, root) for r in page],
                  "links": _page_links(request, base, q, len(found), len(page))}, GEOJSON)


def record_item(request, record_id):
    r = records.get(record_id)
    f = params.choice(request.GET.get("f") or "json", "f", ["json", "xml", "iso19139"])
    if f in ("xml", "iso19139") or "application/xml" in request.headers.get("Accept", ""):
        return formats.attachment(iso19139.to_xml(r, root_url(request)), f"{r.id}.iso19139", "xml", inline=True)
    return _json(record_dict(r, root_url(request)), GEOJSON)
