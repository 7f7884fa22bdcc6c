"""Shared pieces of the OpenAPI schema (/api/v1/schema/): one error shape, response and parameter helpers,
and the plain Django views (map tiles) that drf-spectacular cannot see.

Every API view describes itself with ``extend_schema`` next to its code; what several views share lives
here so that the error shape, the binary downloads and the JSON Schema building blocks read the same
everywhere. Response bodies are plain JSON Schema dicts (drf-spectacular passes them through): the API
returns dicts built by services, not serializers, and a dict states ``nullable`` and required keys exactly.
"""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers

# ------------------------------------------------------------------ JSON Schema building blocks
STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
ANY = {}  # any JSON value
OBJ = {"type": "object", "additionalProperties": True}
DATETIME = {"type": "string", "format": "date-time"}


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def array(items: dict, **extra) -> dict:
    return {"type": "array", "items": items, **extra}


def obj(properties: dict, required: list[str] | tuple | None = None, *, description: str | None = None) -> dict:
    """An object with the main ``properties``; ``required`` defaults to all of them (extra keys allowed)."""
    out = {"type": "object", "properties": properties,
           "required": list(properties) if required is None else list(required)}
    if not out["required"]:
        del out["required"]
    if description:
        out["description"] = description
    return out


def enum(values, **extra) -> dict:
    return {"type": "string", "enum": list(values), **extra}


GEOMETRY = obj({"type": STR, "coordinates": array(ANY)}, ["type"], description="Geometría GeoJSON (EPSG:4326)")
FEATURE = obj({"type": enum(["Feature"]), "id": nullable(ANY), "geometry": nullable(GEOMETRY),
               "properties": nullable(OBJ)}, ["type", "geometry", "properties"])
FEATURE_COLLECTION = obj({"type": enum(["FeatureCollection"]), "features": array(FEATURE)}, ["type", "features"],
                         description="GeoJSON FeatureCollection (EPSG:4326)")


# ------------------------------------------------------------------ errors
class ErrorSerializer(serializers.Serializer):
    """Every API error (geosig.errors.api_exception_handler): a stable code and a Spanish message."""

    error = serializers.CharField(help_text="Código estable para programas (invalid_parameter, not_found, …).")
    detail = serializers.CharField(help_text="Mensaje en español para personas.")
    context = serializers.DictField(required=False, help_text="Datos del error (parámetro, valores válidos…).")


ERROR_DESCRIPTIONS = {
    400: "Parámetro o cuerpo inválido (invalid_parameter) o archivo inseguro (unsafe_archive).",
    401: "Se requiere ingresar.",
    403: "Sin permiso para esta acción (permission_denied / not_authenticated).",
    404: "No existe (not_found).",
    405: "Método no permitido.",
    409: "Conflicto: la versión enviada no es la actual u otra operación está en curso (conflict).",
    413: "Archivo o cuerpo demasiado grande (upload_too_large).",
    415: "Tipo de contenido no soportado.",
    422: "Datos o geometría inválidos (invalid_geometry, outside_valle, crs_error, data_file_error…).",
    429: "Demasiadas peticiones: espere y reintente (throttled).",
}


def errors(*codes: int) -> dict:
    """``{status: Error response}`` for the given statuses (always with 400 and 429, which any view may answer)."""
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
            for code in sorted({400, 429, *codes})}


NOT_MODIFIED = {304: OpenApiResponse(description="Sin cambios desde la ETag enviada en If-None-Match.")}


def ok(schema: dict | type, description: str = "", status: int = 200) -> dict:
    return {status: OpenApiResponse(schema, description=description)}


def binary(*content_types: str, description: str = "Archivo", status: int = 200) -> dict:
    """A download: one response per media type it can come in (JSON ones with their JSON shape)."""
    def schema(ct):
        if ct.startswith("application/geo+json"):
            return FEATURE_COLLECTION
        return OBJ if ct.startswith("application/json") else OpenApiTypes.BINARY

    return {(status, ct): OpenApiResponse(schema(ct), description=description) for ct in content_types}


def json_body(schema: dict, *, multipart: bool = False) -> dict:
    """A request body: a JSON object (DRF also parses the same keys from a form)."""
    return {"application/json": schema, **({"multipart/form-data": schema} if multipart else {})}


# ------------------------------------------------------------------ common parameters
def path_id(name: str = "id", description: str = "Identificador numérico") -> OpenApiParameter:
    return OpenApiParameter(name, {"type": "integer", "minimum": 1}, OpenApiParameter.PATH, description=description)


def path_str(name: str, description: str = "", enum_values=None, pattern: str | None = None) -> OpenApiParameter:
    schema = {"type": "string"}
    if enum_values is not None:
        schema["enum"] = list(enum_values)
    if pattern:
        schema["pattern"] = pattern
    return OpenApiParameter(name, schema, OpenApiParameter.PATH, description=description)


def query(name: str, schema: dict | type, description: str = "", required: bool = False,
          enum_values=None) -> OpenApiParameter:
    return OpenApiParameter(name, schema, OpenApiParameter.QUERY, description=description, required=required,
                            enum=enum_values)


BOOL_QUERY = {"type": "string", "enum": ["true", "false", "1", "0", "sí", "no"]}


# ------------------------------------------------------------------ plain Django views
# Hot paths such as map tiles are plain Django views (no DRF overhead per tile), invisible to
# drf-spectacular. Apps register their OpenAPI path items here; ``add_plain_views`` merges them.
PLAIN_VIEW_PATHS: dict[str, dict] = {}


def register_plain_view(path: str, item: dict) -> None:
    PLAIN_VIEW_PATHS[path] = item


ERROR_REF = {"$ref": "#/components/schemas/Error"}


def error_response(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


LAYER_TILE_ERRORS = {"400": "Tesela fuera de rango o de otro tipo de capa.", "404": "No existe la capa.",
                     "422": "No se pudo leer la capa."}


def tile_path_item(summary: str, content_type: str, operation_id: str, *, max_zoom: int = 22,
                   description: str | None = None, tag: str = "layers", slug: bool = True,
                   errors: dict | None = None) -> dict:
    """OpenAPI path item of an XYZ tile view ([slug,] z, x, y; x and y range over 0..2^z-1); ``errors``
    maps status → description (default: a layer tile's)."""
    def param(name, schema, text):
        return {"in": "path", "name": name, "required": True, "schema": schema, "description": text}

    parameters = [param("slug", {"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$"}, "Identificador de la capa")
                  ] if slug else []
    parameters += [
        param("z", {"type": "integer", "minimum": 0, "maximum": max_zoom}, "Nivel de zoom"),
        param("x", {"type": "integer", "minimum": 0}, "Columna (0 … 2^z − 1)"),
        param("y", {"type": "integer", "minimum": 0}, "Fila (0 … 2^z − 1, desde el norte)"),
    ]
    operation = {"operationId": operation_id, "summary": summary}
    if description is not None:
        operation["description"] = description
    operation["tags"] = [tag]
    operation["parameters"] = parameters
    operation["responses"] = {
        "200": {"description": "Tesela (ETag y Cache-Control públicos)",
                "content": {content_type: {"schema": {"type": "string", "format": "binary"}}}},
        "304": {"description": "Sin cambios desde la ETag enviada en If-None-Match."},
        **{status: error_response(text) for status, text in (errors or LAYER_TILE_ERRORS).items()},
    }
    return {"get": operation}


def add_plain_views(result, generator, request, public):
    """drf-spectacular post-processing hook: add the registered plain views (and the Error component), and
    the JSON 404 to every operation with path parameters."""
    paths = result.setdefault("paths", {})
    for path, item in PLAIN_VIEW_PATHS.items():
        paths.setdefault(path, item)
    for path, item in paths.items():
        if "{" not in path:
            continue
        for operation in item.values():
            # typed path converters (<int:pk>, <slug:slug>): a value that does not fit matches no URL,
            # which the API answers with its JSON 404 (geosig.error_views)
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("404", error_response("Ninguna URL corresponde a esos valores."))
                operation["responses"] = dict(sorted(operation["responses"].items()))
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    if "Error" not in schemas:  # every view documents it, but keep the hook self-sufficient
        component = generator.registry._components.get(("Error", ResolvedComponent.SCHEMA))
        schemas["Error"] = component.schema if component else {"type": "object"}
    result["paths"] = dict(sorted(paths.items()))
    return result


class SchemaView(SpectacularAPIView):
    """/api/v1/schema/, documenting itself (an unknown ?format= is DRF's 404)."""

    @extend_schema(summary="Este esquema OpenAPI 3 (JSON o YAML)",
                   parameters=[query("format", enum(["json", "yaml"])),
                               query("lang", enum([code for code, _ in settings.LANGUAGES]))],
                   responses={200: OBJ, **errors(404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
