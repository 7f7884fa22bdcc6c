"""Pages (map explorer, upload form) and the XYZ tile endpoints (plain Django views: no DRF overhead per tile)."""
from __future__ import annotations

import hashlib

from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from geosig import openapi
from geosig.errors import GeoSIGError, PermissionDeniedError
from geosig.throttling import throttle
from jobs.models import Job
from layers.models import Layer, Theme
from layers.services.tiles import empty_png, raster_tile, vector_tile
from layers.uploads import check_permission, import_upload

TILE_CACHE = "public, max-age=3600"  # a layer changes only on re-import; the ETag covers that


def explorer(request):
    return render(request, "layers/explorer.html", {
        "js_strings": {
            "noFeatures": _("Sin elementos en este punto."), "noData": _("Sin dato"),
            "identifyTitle": _("Identificar"), "area": _("Área"), "cls": _("Clase"), "share": _("% del polígono"),
            "length": _("Longitud"), "count": _("Elementos"), "min": _("Mín."), "mean": _("Media"),
            "max": _("Máx."), "loading": _("Calculando…"), "opacity": _("Opacidad"), "up": _("Subir"),
            "down": _("Bajar"), "partial": _("PARCIAL"), "derived": _("derivada"), "download": _("Descargar"),
            "histogram": _("Histograma"), "cells": _("celdas"), "pickArea": _("— elija —"),
            "noLayers": _("Active al menos una capa para identificar."),
            "summaryTitle": _("Resumen de superposición"),
            "noFeaturesArea": _("Sin elementos en el área."), "emptyLayers": _("Sin elementos en el área"),
            "noMatch": _("Ninguna capa coincide con la búsqueda."),
            "addToQgis": _("Añadir a QGIS (copie la URL en Capa → Añadir capa):"),
            "services": {"xyz": _("Teselas XYZ"), "ogc_features": _("OGC API – Features"),
                         "ogc_collection": _("Colección OGC"), "ogc_tiles": _("OGC API – Tiles"),
                         "ogc_record": _("Registro de metadatos"), "iso19139": _("ISO 19139 (NTC 4611)")},
        },
    })


@throttle("jobs", methods=("POST",))  # an import, like the API's
def upload(request):
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    context = {"themes": Theme.choices}
    try:
        check_permission(request.user)
    except PermissionDeniedError as exc:
        return render(request, "layers/upload.html", {**context, "error": exc.message}, status=403)
    if request.method == "POST":
        try:
            report = import_upload(request, request.POST)
        except GeoSIGError as exc:
            return render(request, "layers/upload.html", {**context, "error": exc.message}, status=exc.status)
        if isinstance(report, Job):  # a big file: imported by a worker (README «Trabajos en segundo plano»)
            return render(request, "layers/upload.html", {**context, "queued_job": report})
        return render(request, "layers/upload.html", {**context, "report": report})
    return render(request, "layers/upload.html", context)


def _tile(request, slug, z, x, y, render_fn, content_type):
    layer = Layer.objects.filter(slug=slug).only("id", "slug", "kind", "geometry_type", "updated_at", "style",
                                                 "raster_file", "raster_meta", "label_field", "class_field").first()
    if layer is None:
        return JsonResponse({"error": "not_found", "detail": f"No existe la capa «{slug}»."}, status=404)
    etag = '"' + hashlib.md5(f"{layer.pk}:{layer.updated_at.isoformat()}:{z}/{x}/{y}".encode()).hexdigest() + '"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified()
    if render_fn is None:  # either kind (OGC API Tiles): MVT for a vector layer, PNG for a raster one
        render_fn, content_type = ((vector_tile, "application/vnd.mapbox-vector-tile") if layer.kind == Layer.Kind.VECTOR
                                   else (lambda *a: raster_tile(*a) or empty_png(), "image/png"))
    try:
        data = render_fn(layer, z, x, y)
    except GeoSIGError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    resp = HttpResponse(data, content_type=content_type)
    resp["Cache-Control"] = TILE_CACHE
    resp["ETag"] = etag
    resp["Access-Control-Allow-Origin"] = "*"  # QGIS and other viewers read tiles cross-origin
    return resp


def vector_tile_view(request, slug, z, x, y):
    return _tile(request, slug, z, x, y, vector_tile, "application/vnd.mapbox-vector-tile")


def layer_tile_view(request, slug, z, x, y):
    """The tile of a layer of either kind, chosen by the layer (the OGC API Tiles endpoint uses it)."""
    return _tile(request, slug, z, x, y, None, None)


def raster_tile_view(request, slug, z, x, y):
    return _tile(request, slug, z, x, y, lambda *a: raster_tile(*a) or empty_png(), "image/png")


# In the API schema too (/api/v1/schema/), although plain views: their paths are fixed in layers/urls.py.
openapi.register_plain_view("/api/v1/layers/{slug}/tiles/{z}/{x}/{y}.pbf", openapi.tile_path_item(
    "Tesela vectorial MVT de una capa", "application/vnd.mapbox-vector-tile", "layer_vector_tile"))
openapi.register_plain_view("/api/v1/layers/{slug}/tiles/{z}/{x}/{y}.png", openapi.tile_path_item(
    "Tesela PNG de una capa ráster (transparente fuera de los datos)", "image/png", "layer_raster_tile"))
