"""Layers API (/api/v1/): metadata, overlay, identify, downloads, upload. Thin: parse, call a service, answer."""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from django.utils.translation import gettext as _
from rest_framework.response import Response
from rest_framework.views import APIView

from geosig import formats
from geosig import openapi as doc
from geosig import params
from geosig.errors import NotFound
from geosig.openapi import BOOL, GEOMETRY, INT, NUM, OBJ, STR, array, errors, nullable, obj, query
from jobs.api import JOB, job_dict
from jobs.models import Job
from layers import hooks
from layers.models import Layer
from layers.services import styles
from layers.services.areas import parse_area
from layers.services.export import export_layer
from layers.services.identify import identify
from layers.services.overlay import overlay_summary
from layers.uploads import check_permission, check_size, import_upload


def get_layer(slug: str) -> Layer:
    layer = Layer.objects.filter(slug=slug).first()
    if layer is None:
        raise NotFound(_("No existe la capa «%(slug)s».") % {"slug": slug})
    return layer


def layer_dict(layer: Layer, request, full: bool = False) -> dict:
    base = request.build_absolute_uri(reverse("api-layer", args=[layer.slug]))
    ext = "pbf" if layer.kind == Layer.Kind.VECTOR else "png"
    out = {
        "slug": layer.slug, "title": layer.title, "description": layer.description, "theme": layer.theme,
        "theme_label": str(layer.get_theme_display()), "kind": layer.kind, "geometry_type": layer.geometry_type,
        "source": layer.source, "licence": layer.licence, "data_date": layer.data_date,
        "source_crs": layer.source_crs, "feature_count": layer.feature_count,
        "extent": list(layer.extent.extent) if layer.extent else None,
        "class_field": layer.class_field, "style": layer.style, "legend": styles.legend(layer.style),
        "is_demo": layer.is_demo, "is_derived": layer.is_derived, "derivation_note": layer.derivation_note,
        "is_partial": layer.is_partial, "caveat": layer.caveat, "visible_by_default": layer.visible_by_default,
        "order": layer.order, "tiles": f"{base}tiles/{{z}}/{{x}}/{{y}}.{ext}",
        "downloads": {fmt: f"{base}download.{fmt}" for fmt in
                      (("gpkg", "geojson") if layer.kind == Layer.Kind.VECTOR else ("tif",))},
        "services": {"xyz": f"{base}tiles/{{z}}/{{x}}/{{y}}.{ext}", **hooks.service_links(layer, request)},
    }
    if full:
        out.update(fields=layer.fields, raster_meta=layer.raster_meta, import_report=layer.import_report,
                   source_format=layer.source_format, source_file=layer.source_file)
    return out


LAYER = obj({
    "slug": STR, "title": STR, "description": STR, "theme": STR, "kind": doc.enum(["vector", "raster"]),
    "geometry_type": STR, "source": STR, "licence": STR, "data_date": nullable(STR), "feature_count": INT,
    "extent": nullable(array(NUM)), "style": OBJ, "legend": array(OBJ), "is_demo": BOOL, "is_partial": BOOL,
    "tiles": STR, "downloads": OBJ, "services": OBJ,
})
# A drawn polygon (GeoJSON geometry/Feature) or a named area {"kind": "municipio", "code": "76001"}
AREA = {"oneOf": [GEOMETRY, obj({"kind": STR, "code": STR})]}
SLUG = doc.path_str("slug", "Identificador de la capa", pattern=r"^[-a-zA-Z0-9_]+$")
DOWNLOAD_FMT = doc.path_str("fmt", "gpkg o geojson (vectorial), tif (ráster)", enum_values=["gpkg", "geojson", "tif"])
DOWNLOAD = {**doc.binary(*formats.content_types("gpkg", "geojson", "tif")), **errors(404, 422)}


@extend_schema(summary="Capas publicadas", responses={200: obj({"layers": array(LAYER)}), **errors()})
class LayerList(APIView):
    def get(self, request):
        return Response({"layers": [layer_dict(l, request) for l in Layer.objects.all()]})


@extend_schema(summary="Una capa con sus campos, metadatos ráster e informe de importación", parameters=[SLUG], responses={200: LAYER, **errors(404)})
@extend_schema_view(get=extend_schema(operation_id="layer_detail"))
class LayerDetail(APIView):
    def get(self, request, slug):
        return Response(layer_dict(get_layer(slug), request, full=True))


@extend_schema(summary="Superposición: área y % de cada clase de cada capa dentro de un polígono o área",
               request=doc.json_body(obj({"geometry": GEOMETRY, "area": obj({"kind": STR, "code": STR}),
                                          "layers": array(STR)}, [])),
               responses={200: obj({"area": obj({"label": STR, "area_m2": NUM, "area_km2": NUM, "geometry": GEOMETRY}),
                                    "layers": array(OBJ)}), **errors(404, 422)})
class Overlay(APIView):
    """POST {"geometry": <GeoJSON polygon>} or {"area": {"kind": "municipio", "code": "76001"}}, optional
    "layers": [slugs] → area and % of each class of each vector layer, zonal statistics of each raster."""

    throttle_scope = "overlay"

    def post(self, request):
        data = params.body(request.data)
        area = data.get("area") or data.get("geometry")
        layers = params.text_list(data.get("layers"), "layers", max_length=80) or None
        return Response(overlay_summary(area, layers=layers))


@extend_schema(summary="Áreas con nombre que acepta la superposición (municipios, subregiones…)",
               responses={200: obj({"kinds": array(obj({"kind": STR, "label": STR,
                                                        "choices": array(obj({"code": STR, "name": STR}))}))}),
                          **errors()})
class OverlayAreas(APIView):
    """Named areas the overlay accepts (registered by other apps through layers.hooks)."""

    def get(self, request):
        return Response({"kinds": [
            {"kind": r.kind, "label": str(r.label), "choices": [{"code": c, "name": n} for c, n in r.choices()]}
            for r in hooks.AREA_RESOLVERS.values()
        ]})


@extend_schema(summary="Elementos o valores de las capas en un punto",
               parameters=[query("lon", {**NUM, "minimum": -180, "maximum": 180}, required=True),
                           query("lat", {**NUM, "minimum": -90, "maximum": 90}, required=True),
                           query("zoom", {**NUM, "minimum": 0, "maximum": 22}, "Zoom del mapa (tolerancia); 12 por defecto"),
                           query("layers", STR, "Capas separadas por comas (por defecto todas)")],
               responses={200: obj({"lon": NUM, "lat": NUM, "tolerance_m": NUM, "layers": array(OBJ)}), **errors(404)})
class Identify(APIView):
    """GET ?lon=&lat=&zoom=&layers=a,b → features/values of those layers at the point."""

    throttle_scope = "overlay"

    def get(self, request):
        q = request.query_params
        return Response(identify(q.get("lon"), q.get("lat"), layers=q.get("layers"), zoom=q.get("zoom")))


@extend_schema(methods=["GET"], summary="Descargar una capa (entera o recortada por un área con nombre)",
               parameters=[SLUG, DOWNLOAD_FMT, query("area", STR, "Recorte por área con nombre: tipo:código (municipio:76001)")],
               responses=DOWNLOAD)
@extend_schema(methods=["POST"], summary="Descargar una capa recortada por un polígono dibujado",
               parameters=[SLUG, DOWNLOAD_FMT], request=doc.json_body(obj({"geometry": GEOMETRY,
                                                                           "area": obj({"kind": STR, "code": STR})}, [])),
               responses=DOWNLOAD)
class Download(APIView):
    """GET …/download.<fmt>[?area=kind:code] or POST {"geometry": …} to clip by a drawn polygon."""

    throttle_scope = "downloads"

    def get(self, request, slug, fmt):
        clip = None
        area = params.text(request.query_params.get("area"), "area", max_length=120)
        if area:
            kind, _, code = area.partition(":")
            clip = parse_area({"kind": kind, "code": code})
        return _file(export_layer(get_layer(slug), fmt, clip=clip))

    def post(self, request, slug, fmt):
        data = params.body(request.data)
        clip = parse_area(data.get("area") or data.get("geometry"))
        return _file(export_layer(get_layer(slug), fmt, clip=clip))


def _file(export):
    return formats.attachment(export.content, export.filename, export.format)


@extend_schema(
    summary="Subir una capa (GeoPackage, Shapefile .zip, GeoJSON, GeoTIFF); rol «Analista CVC» o «Editor de capas»",
    request={"multipart/form-data": obj({
        "file": {"type": "string", "format": "binary"}, "theme": doc.enum(["hidrografia", "areas_protegidas", "ecosistemas",
        "relieve", "amenazas", "infraestructura", "asentamientos", "ordenamiento", "otro"]), "layer": STR,
        "srid": INT, "invalid": doc.enum(["repair", "reject"]), "encoding": STR, "title": STR, "source": STR,
        "licence": STR, "data_date": STR, "description": STR, "replace": BOOL}, ["file"])},
    responses={201: obj({"source": STR, "layers": array(OBJ)}),
               202: OpenApiResponse(JOB, description="Archivo grande: la importación quedó en cola como trabajo"),
               **errors(403, 413, 422)},
)
class Upload(APIView):
    """POST multipart (file, theme, layer, srid, invalid, encoding, title, source, licence, data_date);
    needs login and the permission layers.upload_layer (groups "Analista CVC", "Editor de capas")."""

    throttle_scope = "jobs"

    def post(self, request):
        check_permission(request.user)
        check_size(request)  # before request.data reads the body
        report = import_upload(request, request.data)
        if isinstance(report, Job):  # above GEOSIG_IMPORT_JOB_BYTES: imported by a worker; poll the job
            return Response(job_dict(report, request), status=202)
        return Response(report.as_dict(), status=201)

