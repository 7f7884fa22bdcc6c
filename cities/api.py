"""Thin API views: parse the query, call one service, return its report (errors → JSON via geosig.errors)."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cities.models import CityAttribute, FunctionInventory, Scenario, TravelMatrix
from cities.services import loading, outputs
from cities.services.report import parse_adjustments, report_from_query, save_scenario
from geosig import formats, params
from geosig.errors import InvalidParameter, PermissionDeniedError


BALANCE_PARAMS = [
    OpenApiParameter("year", int, description="Año (cabecera: 2018; total: 2012–2024). Con escenario: su horizonte."),
    OpenApiParameter("basis", str, enum=["cabecera", "total"], description="Base de población (por defecto cabecera)."),
    OpenApiParameter("scenario", str, description="Nombre de un escenario guardado (base total)."),
    OpenApiParameter("compare", int, description="Año con el que comparar (misma base)."),
    OpenApiParameter("matrix", str, description="Matriz de viaje (por defecto la de load_cities)."),
    OpenApiParameter("inventory", str, description="Inventario de funciones urbanas (por defecto el último)."),
    OpenApiParameter("places", bool, description="Incluir los 527 centros poblados (mapa)."),
    OpenApiParameter("intermediate_min", float, description="Umbral de ciudad intermedia (hab); "
                     "cualquier campo de BalanceParams se acepta igual."),
]


class Balance(APIView):
    """GET /api/v1/cities/balance/?year=2018&basis=cabecera|total&scenario=&compare=&matrix=&places=1"""

    throttle_scope = "reports"  # a full balance computation

    @extend_schema(parameters=BALANCE_PARAMS, responses=OpenApiTypes.OBJECT,
                   summary="Equilibrio del sistema de ciudades (todos los indicadores, con unidad, año, base y fuente)")
    def get(self, request):
        return Response(report_from_query(request.query_params, user=request.user).as_dict())  # places=sí|1|true… as everywhere


class BalanceDownload(APIView):
    """GET /api/v1/cities/balance/report.<fmt>?… — the same report as a file (html, pdf, csv, xlsx, json)."""

    throttle_scope = "reports"

    @extend_schema(parameters=BALANCE_PARAMS, responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, fmt):
        f = outputs.get_format(fmt)
        report = report_from_query(request.query_params, with_places=True, user=request.user)
        body = f.render(report, outputs.municipality_outlines())
        stem = f"sistema_ciudades_{report.meta['year']}_{report.meta['basis']}"
        if report.meta.get("scenario"):
            stem += f"_{report.meta['scenario']['name']}"
        return formats.attachment(body, stem, f.format)


def _require_staff(request):
    if not (request.user and request.user.is_staff):
        raise PermissionDeniedError("Solo el personal autorizado puede importar datos o crear escenarios.")


IMPORT_PERMISSION = "cities.import_city_data"  # group «Analista CVC» (migration 0002); not is_staff


def _staff_upload(request, what: str) -> bytes:
    """Import-role check + the uploaded CSV's bytes (field 'file'); ``what`` names it in the error. The
    role is checked before the upload is read: admin access alone does not let anyone change the data
    every balance report reads."""
    if not (request.user and request.user.is_authenticated and request.user.has_perm(IMPORT_PERMISSION)):
        raise PermissionDeniedError("Importar datos del sistema de ciudades requiere el rol «Analista CVC».")
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidParameter(f"Adjunte el archivo CSV {what} en el campo 'file'.")
    return upload.read()


@extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
class Scenarios(APIView):
    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "POST" else []

    def get(self, request):
        return Response([
            {"name": s.name, "kind": s.kind, "horizon_year": s.horizon_year, "description": s.description,
             "adjustments": list(s.adjustments.values("target_type", "target_code", "growth_pp"))}
            for s in Scenario.objects.prefetch_related("adjustments")])

    def post(self, request):
        _require_staff(request)
        d = params.body(request.data)
        sc = save_scenario(d.get("name"), d.get("kind"), d.get("horizon_year"), parse_adjustments(d.get("adjustments")),
                           d.get("description"), replace=params.boolean(d.get("replace"), "replace"))
        return Response({"name": sc.name, "kind": sc.kind, "horizon_year": sc.horizon_year}, status=201)


@extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
class Matrices(APIView):
    throttle_scope = {"POST": "jobs"}  # imports

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "POST" else []

    def get(self, request):
        return Response([{"name": m.name, "version": m.version, "kind": m.kind, "unit": m.unit, "source": m.source,
                          "default": m.is_default, "size": len(m.codes)} for m in TravelMatrix.objects.all()])

    def post(self, request):
        content = _staff_upload(request, "de la matriz")
        d = request.data
        m = loading.import_matrix(
            content, params.model_text(d.get("name"), "name", TravelMatrix),
            params.choice(d.get("kind"), "kind", TravelMatrix.KINDS, default=TravelMatrix.KIND_TIME),
            params.model_text(d.get("source"), "source", TravelMatrix),
            default=params.boolean(d.get("make_default"), "make_default"),
            description=params.text(d.get("description"), "description", max_length=2000, multiline=True, default=""))
        return Response({"name": m.name, "version": m.version, "default": m.is_default, "size": len(m.codes)},
                        status=201)


@extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
class Functions(APIView):
    throttle_scope = "jobs"
    permission_classes = [IsAuthenticated]

    def post(self, request):
        content = _staff_upload(request, "del inventario")
        d = request.data
        inv = loading.import_functions(content, params.model_text(d.get("name"), "name", FunctionInventory),
                                       params.model_text(d.get("source"), "source", FunctionInventory),
                                       demo=params.boolean(d.get("demo"), "demo"))
        return Response({"name": inv.name, "version": inv.version, "items": inv.items.count(), "demo": inv.is_demo},
                        status=201)


@extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
class Template(APIView):
    """GET /api/v1/cities/templates/<funciones|atributos|matriz>.csv — empty CSV with the import header."""

    def get(self, request, kind):
        return formats.attachment(loading.write_template(kind), f"plantilla_{kind}", "csv")


@extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
class Attributes(APIView):
    """POST a CSV (codigo,atributo,anio,valor,unidad[,fuente]) of city attributes (import role «Analista CVC»)."""

    throttle_scope = "jobs"

    permission_classes = [IsAuthenticated]

    def post(self, request):
        content = _staff_upload(request, "de atributos")
        n = loading.import_attributes(content, params.model_text(request.data.get("source"), "source", CityAttribute))
        return Response({"rows": n}, status=201)
