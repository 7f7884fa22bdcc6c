"""Thin API views: parse the query, call one service, return its report (errors → JSON via geosig.errors)."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from django.utils.translation import gettext as _
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cities.models import CityAttribute, FunctionInventory, Scenario, TravelMatrix
from cities.services import loading, outputs
from cities.services.balance import PARAM_DOCS, BalanceParams
from cities.services.report import (
    can_import, delete_scenario, parse_adjustments, report_from_query, require_scenario_editor, save_scenario, update_scenario,
)
from geosig import formats, params
from geosig import openapi as doc
from geosig.errors import InvalidParameter, PermissionDeniedError
from geosig.openapi import BOOL, INT, NUM, OBJ, STR, array, errors, nullable, obj


BALANCE_PARAMS = [
    OpenApiParameter("year", int, description="Año (cabecera: 2018; total: 2012–2024). Con escenario: su horizonte."),
    OpenApiParameter("basis", str, enum=["cabecera", "total"], description="Base de población (por defecto cabecera)."),
    OpenApiParameter("scenario", str, description="Nombre de un escenario guardado (base total)."),
    OpenApiParameter("compare", int, description="Año con el que comparar (misma base)."),
    OpenApiParameter("matrix", str, description="Matriz de viaje (por defecto la de load_cities)."),
    OpenApiParameter("inventory", str, description="Inventario de funciones urbanas (por defecto el último)."),
    OpenApiParameter("places", doc.BOOL_QUERY, description="Incluir los centros poblados (mapa)."),
]
# Every BalanceParams field is a query parameter; bounds as BalanceParams.validate checks them.
_NUMBER_BOUNDS = {
    "intermediate_min": {"exclusiveMinimum": True, "minimum": 0}, "metropolis_min": {"exclusiveMinimum": True, "minimum": 0},
    "rank_size_min": {"minimum": 0}, "primacy_k": {"minimum": 2}, "gravity_beta": {"exclusiveMinimum": True, "minimum": 0, "maximum": 10},
    "hansen_decay": {"exclusiveMinimum": True, "minimum": 0}, "min_travel_h": {"minimum": 0.01},
    "graph_neighbours": {"minimum": 1}, "networkx_max_nodes": {"minimum": 0}, "permutations": {"minimum": 0, "maximum": 9999},
    "seed": {"minimum": 0}, "local_speed_kmh": {"exclusiveMinimum": True, "minimum": 0}, "local_detour": {"minimum": 1},
    "access_threshold_h": {"exclusiveMinimum": True, "minimum": 0}, "symmetry_tolerance": {"minimum": 0},
    "functional_regional_min": {"minimum": 0, "maximum": 1}, "functional_subregional_min": {"minimum": 0, "maximum": 1},
    "functional_local_min": {"minimum": 0, "maximum": 1},
}
BALANCE_PARAMS = [p for p in BALANCE_PARAMS if p.name != "places"] + [
    OpenApiParameter(name, {"type": "integer" if f.type in ("int", int) else "number", **_NUMBER_BOUNDS.get(name, {})},
                     description=PARAM_DOCS.get(name, name))
    for name, f in BalanceParams.__dataclass_fields__.items()
] + [p for p in BALANCE_PARAMS if p.name == "places"]
BALANCE_REPORT = obj({"meta": obj({"year": INT, "basis": STR}), "measures": array(OBJ), "rank_size": OBJ,
                      "lorenz": OBJ, "theil": OBJ, "tables": OBJ, "comparison": nullable(OBJ),
                      "trend": nullable(OBJ), "links": array(OBJ), "places": array(OBJ)})
SCENARIO = obj({"name": STR, "kind": doc.enum(["trend", "optimistic", "pessimistic"]), "horizon_year": INT,
                "description": STR, "adjustments": array(obj({"target_type": STR, "target_code": STR, "growth_pp": NUM}))})
SCENARIO_BODY = obj({
    "name": {**STR, "pattern": "^[-a-z0-9_]{1,60}$"}, "kind": doc.enum(["trend", "optimistic", "pessimistic"]),
    "horizon_year": INT, "description": STR, "replace": BOOL,
    "adjustments": {"oneOf": [array(obj({"target_type": doc.enum(["subregion", "municipality"]), "target_code": STR,
                                         "growth_pp": {**NUM, "minimum": -10, "maximum": 10}})),
                              {**STR, "description": "destino=pp,… (p. ej. norte=0.5)"}]},
}, ["name", "kind", "horizon_year"])
MATRIX = obj({"name": STR, "version": INT, "kind": STR, "unit": STR, "source": STR, "default": BOOL, "size": INT})


def _csv_upload(**fields) -> dict:
    """A multipart body: the CSV in 'file' plus text fields."""
    return {"multipart/form-data": obj({"file": {"type": "string", "format": "binary"}, **fields}, ["file"])}


STAFF_ERRORS = errors(403, 413, 422)


class Balance(APIView):
    """GET /api/v1/cities/balance/?year=2018&basis=cabecera|total&scenario=&compare=&matrix=&places=1"""

    throttle_scope = "reports"  # a full balance computation

    @extend_schema(parameters=BALANCE_PARAMS, responses={200: BALANCE_REPORT, **errors(404, 422)},
                   summary="Equilibrio del sistema de ciudades (todos los indicadores, con unidad, año, base y fuente)")
    def get(self, request):
        return Response(report_from_query(request.query_params, user=request.user).as_dict())  # places=sí|1|true… as everywhere


class BalanceDownload(APIView):
    """GET /api/v1/cities/balance/report.<fmt>?… — the same report as a file (html, pdf, csv, xlsx, json)."""

    throttle_scope = "reports"

    @extend_schema(parameters=[doc.path_str("fmt", enum_values=list(outputs.FORMATS)),
                               OpenApiParameter("tabla", str, enum=["informe", "municipios"],
                                                description="municipios: solo la tabla ancha por municipio (csv, csv_es).")]
                   + BALANCE_PARAMS,
                   summary="El informe de equilibrio como archivo (csv_es: CSV para Excel en español)",
                   responses={**doc.binary(*formats.content_types(*outputs.FORMATS)), **errors(404, 422)})
    def get(self, request, fmt):
        table = params.choice(request.query_params.get("tabla"), "tabla", ("informe", "municipios"), default="informe")
        f = outputs.get_format(fmt, table)
        report = report_from_query(request.query_params, with_places=True, user=request.user)
        body = f.render(report, outputs.municipality_outlines())
        return formats.attachment(body, outputs.file_stem(report, fmt, table), f.format)




def _staff_upload(request, what: str) -> bytes:
    """Import-role check + the uploaded CSV's bytes (field 'file'); ``what`` names it in the error. The
    role is checked before the upload is read: admin access alone does not let anyone change the data
    every balance report reads."""
    if not can_import(request.user):
        raise PermissionDeniedError(_("Importar datos del sistema de ciudades requiere el rol «Analista CVC»."))
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidParameter(_("Adjunte el archivo CSV %(what)s en el campo 'file'.") % {"what": what})
    return upload.read()


@extend_schema(methods=["GET"], summary="Escenarios guardados", responses={200: array(SCENARIO), **errors()})
@extend_schema(methods=["POST"], summary="Guardar un escenario (personal autorizado)", request=doc.json_body(SCENARIO_BODY),
               responses={201: obj({"name": STR, "kind": STR, "horizon_year": INT}), **errors(403, 409, 422)})
class Scenarios(APIView):
    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "POST" else []

    def get(self, request):
        return Response([
            {"name": s.name, "kind": s.kind, "horizon_year": s.horizon_year, "description": s.description,
             "adjustments": list(s.adjustments.values("target_type", "target_code", "growth_pp"))}
            for s in Scenario.objects.prefetch_related("adjustments")])

    def post(self, request):
        require_scenario_editor(request.user)
        d = params.body(request.data)
        sc = save_scenario(d.get("name"), d.get("kind"), d.get("horizon_year"), parse_adjustments(d.get("adjustments")),
                           d.get("description"), replace=params.boolean(d.get("replace"), "replace"))
        return Response({"name": sc.name, "kind": sc.kind, "horizon_year": sc.horizon_year}, status=201)


@extend_schema(methods=["PUT"], summary="Modificar un escenario (personal autorizado)", request=doc.json_body(SCENARIO_BODY),
               responses={200: obj({"name": STR, "kind": STR, "horizon_year": INT}), **errors(403, 404, 422)})
@extend_schema(methods=["DELETE"], summary="Eliminar un escenario (personal autorizado)",
               responses={204: None, **errors(403, 404)})
class ScenarioDetail(APIView):
    """PUT/DELETE /api/v1/cities/scenarios/<name>/ — the same service (and checks) as the page."""

    permission_classes = [IsAuthenticated]

    def put(self, request, name):
        require_scenario_editor(request.user)
        d = params.body(request.data)
        sc = update_scenario(name, d.get("kind"), d.get("horizon_year"), parse_adjustments(d.get("adjustments")),
                             d.get("description"))
        return Response({"name": sc.name, "kind": sc.kind, "horizon_year": sc.horizon_year})

    def delete(self, request, name):
        require_scenario_editor(request.user)
        delete_scenario(name)
        return Response(status=204)


@extend_schema(methods=["GET"], summary="Matrices de viaje", responses={200: array(MATRIX), **errors()})
@extend_schema(methods=["POST"], summary="Importar una matriz de viaje (CSV origen,destino,valor; personal autorizado)",
               request=_csv_upload(name=STR, kind=doc.enum(["time", "distance"]), source=STR, description=STR,
                                   make_default=BOOL),
               responses={201: obj({"name": STR, "version": INT, "default": BOOL, "size": INT}), **STAFF_ERRORS})
class Matrices(APIView):
    throttle_scope = {"POST": "jobs"}  # imports

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "POST" else []

    def get(self, request):
        return Response([{"name": m.name, "version": m.version, "kind": m.kind, "unit": m.unit, "source": m.source,
                          "default": m.is_default, "size": len(m.codes)} for m in TravelMatrix.objects.all()])

    def post(self, request):
        content = _staff_upload(request, _("de la matriz"))
        d = request.data
        m = loading.import_matrix(
            content, params.model_text(d.get("name"), "name", TravelMatrix),
            params.choice(d.get("kind"), "kind", TravelMatrix.KINDS, default=TravelMatrix.KIND_TIME),
            params.model_text(d.get("source"), "source", TravelMatrix),
            default=params.boolean(d.get("make_default"), "make_default"),
            description=params.text(d.get("description"), "description", max_length=2000, multiline=True, default=""))
        return Response({"name": m.name, "version": m.version, "default": m.is_default, "size": len(m.codes)},
                        status=201)


@extend_schema(summary="Importar un inventario de funciones urbanas (CSV; personal autorizado)",
               request=_csv_upload(name={**STR, "pattern": "^[-a-z0-9_]{1,60}$"}, source=STR, demo=BOOL),
               responses={201: obj({"name": STR, "version": INT, "items": INT, "demo": BOOL}), **STAFF_ERRORS})
class Functions(APIView):
    throttle_scope = "jobs"
    permission_classes = [IsAuthenticated]

    def post(self, request):
        content = _staff_upload(request, _("del inventario"))
        d = request.data
        inv = loading.import_functions(content, params.model_text(d.get("name"), "name", FunctionInventory),
                                       params.model_text(d.get("source"), "source", FunctionInventory),
                                       demo=params.boolean(d.get("demo"), "demo"))
        return Response({"name": inv.name, "version": inv.version, "items": inv.items.count(), "demo": inv.is_demo},
                        status=201)


@extend_schema(summary="Plantilla CSV vacía de una importación",
               parameters=[doc.path_str("kind", enum_values=["funciones", "atributos", "matriz"])],
               responses={**doc.binary(*formats.content_types("csv")), **errors()})
class Template(APIView):
    """GET /api/v1/cities/templates/<funciones|atributos|matriz>.csv — empty CSV with the import header."""

    def get(self, request, kind):
        return formats.attachment(loading.write_template(kind), f"plantilla_{kind}", "csv")


@extend_schema(summary="Importar atributos de ciudades (CSV; personal autorizado)", request=_csv_upload(source=STR),
               responses={201: obj({"rows": INT}), **STAFF_ERRORS})
class Attributes(APIView):
    """POST a CSV (codigo,atributo,anio,valor,unidad[,fuente]) of city attributes (import role «Analista CVC»)."""

    throttle_scope = "jobs"

    permission_classes = [IsAuthenticated]

    def post(self, request):
        content = _staff_upload(request, _("de atributos"))
        n = loading.import_attributes(content, params.model_text(request.data.get("source"), "source", CityAttribute))
        return Response({"rows": n}, status=201)
