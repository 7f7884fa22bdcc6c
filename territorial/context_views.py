"""XYZ tiles of the offline context map (territorial.services.context): plain Django views, like the
layer tiles, so a map view's dozens of tile requests carry no DRF overhead. Both are memoised per data
version and answered with an ETag (304 on a match) and a public Cache-Control. They are not throttled,
like the layer tiles: after the first request a tile costs a dictionary lookup."""
from __future__ import annotations

from django.http import HttpResponse, JsonResponse

from geosig import openapi, versioned
from geosig.errors import GeoSIGError
from layers.services.tiles import MAX_ZOOM, empty_png
from territorial.services import context

TILE_MAX_AGE = 3600  # the ETag follows the data version, so a reload after a change still revalidates


def _answer(request, build, content_type):
    try:
        entry = build()
    except GeoSIGError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    resp = versioned.respond(request, entry, content_type, max_age=TILE_MAX_AGE)
    resp["Access-Control-Allow-Origin"] = "*"  # QGIS and other viewers read tiles cross-origin
    return resp


def context_tile_view(request, z, x, y):
    return _answer(request, lambda: context.context_tile(z, x, y), "application/vnd.mapbox-vector-tile")


def relief_tile_view(request, z, x, y):
    def build():
        entry = context.relief_tile(z, x, y)
        return entry if entry is not None else versioned.memo("context-relief", ("sin DEM",), empty_png)

    return _answer(request, build, "image/png")


def _path_item(summary: str, description: str, content_type: str, operation_id: str) -> dict:
    """OpenAPI path item of a context tile view (z, x, y; no layer slug)."""
    return openapi.tile_path_item(summary, content_type, operation_id, max_zoom=MAX_ZOOM, description=description,
                                  tag="territorial", slug=False, errors={"400": "Tesela fuera de rango."})


openapi.register_plain_view("/api/v1/context/tiles/{z}/{x}/{y}.pbf", _path_item(
    "Tesela vectorial MVT del mapa de contexto",
    "Capas departamento y municipios (límites como líneas), rio (Río Cauca), vias (red vial nacional) y "
    "cabeceras (puntos con nombre). Municipios y vías desde el zoom 7, río desde el 6, cabeceras desde el 8.",
    "application/vnd.mapbox-vector-tile", "context_vector_tile"))
openapi.register_plain_view("/api/v1/context/relief/{z}/{x}/{y}.png", _path_item(
    "Tesela PNG del relieve sombreado (mapa de contexto)",
    "Sombreado del DEM SRTM (acimut 315°, altura 45°) en grises; transparente donde no hay DEM: "
    "sólo existe al sur de 4°N.", "image/png", "context_relief_tile"))
