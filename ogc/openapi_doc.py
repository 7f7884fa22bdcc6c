"""The OpenAPI 3.0 document of the OGC APIs (/ogc/api, the landing page's ``service-desc``).

Built per request from the registry: each collection gets its own ``/collections/<id>/items`` path whose
query parameters name its filterable properties — that is where GDAL's OAPIF driver looks to send an
attribute filter to the server instead of filtering on the client.
"""
from __future__ import annotations

from ogc import crs as crs_mod

ERROR = {"type": "object", "required": ["code", "description"],
         "properties": {"code": {"type": "string"}, "description": {"type": "string"}}}
LINK = {"type": "object", "required": ["href"], "properties": {"href": {"type": "string"}, "rel": {"type": "string"},
                                                                "type": {"type": "string"}, "title": {"type": "string"}}}
LINKS = {"type": "array", "items": {"$ref": "#/components/schemas/link"}}
FEATURE = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
    "type": {"type": "string", "enum": ["Feature"]}, "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "geometry": {"type": "object", "nullable": True}, "properties": {"type": "object", "nullable": True},
    "links": LINKS}}
FEATURES = {"type": "object", "required": ["type", "features"], "properties": {
    "type": {"type": "string", "enum": ["FeatureCollection"]},
    "features": {"type": "array", "items": {"$ref": "#/components/schemas/feature"}},
    "links": LINKS, "numberMatched": {"type": "integer", "minimum": 0},
    "numberReturned": {"type": "integer", "minimum": 0}, "timeStamp": {"type": "string", "format": "date-time"}}}
PARAMETERS = {
    "limit": {"name": "limit", "in": "query", "style": "form", "explode": False, "required": False,
              "description": "Elementos por página (1–10000; sin ingresar, hasta 1000: un valor mayor se reduce)",
              "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10}},
    "offset": {"name": "offset", "in": "query", "required": False, "description": "Elementos que se saltan",
               "schema": {"type": "integer", "minimum": 0, "maximum": 10000000, "default": 0}},
    "bbox": {"name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
             "description": "minx,miny,maxx,maxy en bbox-crs (CRS84 por defecto)",
             "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
    "bbox-crs": {"name": "bbox-crs", "in": "query", "required": False,
                 "schema": {"type": "string", "format": "uri", "enum": crs_mod.uris()}},
    "crs": {"name": "crs", "in": "query", "required": False, "description": "CRS de la respuesta (Parte 2)",
            "schema": {"type": "string", "format": "uri", "enum": crs_mod.uris()}},
    "datetime": {"name": "datetime", "in": "query", "required": False, "style": "form", "explode": False,
                 "description": "Instante o intervalo RFC 3339 (a/b, ../b, a/..)", "schema": {"type": "string"}},
    "collectionId": {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string"}},
    "featureId": {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}},
    "tileMatrixSetId": {"name": "tileMatrixSetId", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": ["WebMercatorQuad"]}},
    "tileMatrix": {"name": "tileMatrix", "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 0, "maximum": 22}},
    "tileRow": {"name": "tileRow", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
    "tileCol": {"name": "tileCol", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
}
JSON_TYPES = {"string": "string", "number": "number", "integer": "integer", "boolean": "boolean", "date-time": "string"}


def _ok(schema_ref: str, media: str = "application/json") -> dict:
    return {"200": {"description": "OK", "content": {media: {"schema": {"$ref": schema_ref}}}},
            "400": {"description": "Parámetro inválido", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/exception"}}}},
            "404": {"description": "No existe", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/exception"}}}},
            "429": {"description": "Demasiadas solicitudes"}}


def _ref(name):
    return {"$ref": f"#/components/parameters/{name}"}


def _items_path(c) -> dict:
    filters = [{"name": name, "in": "query", "required": False, "description": f"Igual a (propiedad «{name}»)",
                "schema": {"type": JSON_TYPES.get(kind, "string")}}
               for name, kind in c.queryables().items()]
    return {"get": {"summary": f"Elementos de «{c.title}»", "operationId": f"items_{c.id}",
                    "tags": ["Features"],
                    "parameters": [_ref("limit"), _ref("offset"), _ref("bbox"), _ref("bbox-crs"), _ref("crs"),
                                   _ref("datetime"), *filters],
                    "responses": _ok("#/components/schemas/featureCollection", "application/geo+json")}}


def openapi_document(root: str, collections: dict) -> dict:
    paths = {
        "/": {"get": {"summary": "Página de inicio", "operationId": "landing", "tags": ["Capabilities"],
                      "responses": _ok("#/components/schemas/landing")}},
        "/conformance": {"get": {"summary": "Clases de conformidad", "operationId": "conformance",
                                 "tags": ["Capabilities"], "responses": _ok("#/components/schemas/conformance")}},
        "/collections": {"get": {"summary": "Colecciones", "operationId": "collections", "tags": ["Capabilities"],
                                 "responses": _ok("#/components/schemas/collections")}},
        "/collections/{collectionId}": {"get": {"summary": "Una colección", "operationId": "collection",
                                                "tags": ["Capabilities"], "parameters": [_ref("collectionId")],
                                                "responses": _ok("#/components/schemas/collection")}},
        "/collections/{collectionId}/items": {"get": {
            "summary": "Elementos de una colección", "operationId": "items", "tags": ["Features"],
            "parameters": [_ref("collectionId"), _ref("limit"), _ref("offset"), _ref("bbox"), _ref("bbox-crs"),
                           _ref("crs"), _ref("datetime")],
            "responses": _ok("#/components/schemas/featureCollection", "application/geo+json")}},
        "/collections/{collectionId}/items/{featureId}": {"get": {
            "summary": "Un elemento", "operationId": "item", "tags": ["Features"],
            "parameters": [_ref("collectionId"), _ref("featureId"), _ref("crs")],
            "responses": _ok("#/components/schemas/feature", "application/geo+json")}},
        "/tileMatrixSets": {"get": {"summary": "Conjuntos de matrices de teselas", "operationId": "tileMatrixSets",
                                    "tags": ["Tiles"], "responses": _ok("#/components/schemas/object")}},
        "/tileMatrixSets/{tileMatrixSetId}": {"get": {
            "summary": "Definición de un conjunto de matrices (TMS 2.0)", "operationId": "tileMatrixSet",
            "tags": ["Tiles"], "parameters": [_ref("tileMatrixSetId")], "responses": _ok("#/components/schemas/object")}},
        "/collections/{collectionId}/tiles": {"get": {
            "summary": "Teselas de una capa", "operationId": "tilesets", "tags": ["Tiles"],
            "parameters": [_ref("collectionId")], "responses": _ok("#/components/schemas/object")}},
        "/collections/{collectionId}/tiles/{tileMatrixSetId}": {"get": {
            "summary": "Metadatos del conjunto de teselas", "operationId": "tileset", "tags": ["Tiles"],
            "parameters": [_ref("collectionId"), _ref("tileMatrixSetId")], "responses": _ok("#/components/schemas/object")}},
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}": {"get": {
            "summary": "Una tesela (MVT de una capa vectorial, PNG de una ráster)", "operationId": "tile",
            "tags": ["Tiles"], "parameters": [_ref("collectionId"), _ref("tileMatrixSetId"), _ref("tileMatrix"),
                                              _ref("tileRow"), _ref("tileCol")],
            "responses": {**_ok("#/components/schemas/object"), "200": {"description": "Tesela", "content": {
                "application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}}}}, "304": {"description": "Sin cambios"}}}},
        "/collections/catalogo/items": {"get": {
            "summary": "Buscar en el catálogo (OGC API – Records)", "operationId": "records", "tags": ["Records"],
            "parameters": [_ref("limit"), _ref("offset"), _ref("bbox"), _ref("datetime"),
                           {"name": "q", "in": "query", "required": False, "schema": {"type": "string"},
                            "description": "Palabras (sin tildes ni mayúsculas), separadas por comas"},
                           {"name": "type", "in": "query", "required": False, "schema": {"type": "string"}}],
            "responses": _ok("#/components/schemas/featureCollection", "application/geo+json")}},
    }
    for c in collections.values():
        paths[f"/collections/{c.id}/items"] = _items_path(c)
    paths["/collections/{collectionId}/queryables"] = {"get": {
        "summary": "Propiedades filtrables", "operationId": "queryables", "tags": ["Features"],
        "parameters": [_ref("collectionId")], "responses": _ok("#/components/schemas/object", "application/schema+json")}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "GeoSIG Valle — OGC API (Features, Tiles, Records)", "version": "1.0.0",
                 "description": "Servicios OGC de GeoSIG Valle. Errores: {code, description} en español.",
                 "license": {"name": "CC BY 4.0 (salvo la licencia de cada fuente, en su registro)"}},
        "servers": [{"url": root}],
        "paths": paths,
        "components": {
            "parameters": PARAMETERS,
            "schemas": {
                "link": LINK, "exception": ERROR, "feature": FEATURE, "featureCollection": FEATURES,
                "object": {"type": "object"},
                "landing": {"type": "object", "required": ["links"], "properties": {"links": LINKS}},
                "conformance": {"type": "object", "required": ["conformsTo"], "properties": {
                    "conformsTo": {"type": "array", "items": {"type": "string"}}}},
                "collection": {"type": "object", "required": ["id", "links"], "properties": {
                    "id": {"type": "string"}, "title": {"type": "string"}, "links": LINKS,
                    "crs": {"type": "array", "items": {"type": "string"}}}},
                "collections": {"type": "object", "required": ["links", "collections"], "properties": {
                    "links": LINKS, "collections": {"type": "array", "items": {"$ref": "#/components/schemas/collection"}}}},
            },
        },
    }
