"""REST API of the POT module (/api/v1/pot/...). Thin: parse, call one service, serialise."""
from __future__ import annotations

import functools
import json

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from geosig import formats, params
from geosig import openapi as doc
from geosig.errors import InvalidParameter, NotFound, PermissionDeniedError
from geosig.openapi import ANY, BOOL, FEATURE_COLLECTION, GEOMETRY, INT, NUM, OBJ, STR, array, errors, nullable, obj
from geosig.throttling import by_format
from layers.uploads import check_size
from territorial.models import Municipality
from territorial.pot.classes import USE_CATEGORIES, Status
from territorial.pot.models import Determinant, Plan
from territorial.pot import department
from territorial.pot.services import access, plans as P
from territorial.pot.services.conflicts import MODES, analyse_conflicts
from territorial.pot.services.determinants import determinants_geojson
from territorial.pot.services.exchange import check_upload_size, export_plan, import_plan
from territorial.pot.services.reports import FORMATS, render_report


def _user(request):
    return request.user if request.user and request.user.is_authenticated else None


def _require_login(request):
    if not request.user or not request.user.is_authenticated:
        raise PermissionDeniedError(_("Debe ingresar para esta acción."))


def _plan_for(request, pk, action: str):
    """The plan a write names, after login, visibility and the action's permission: all of it before
    the request body is parsed (services check again under the plan's row lock)."""
    _require_login(request)
    plan = access.get_visible_plan(request.user, pk)
    P.require_action(request.user, plan, action)
    return plan


def plan_write(action: str):
    """Decorator of an endpoint that changes a plan's zones: login, visibility and permission for ``action``
    come first (before the body is parsed); the method gets the plan and returns the service's result; the
    answer is that result with the plan as stored now."""
    def decorate(method):
        @functools.wraps(method)
        def view(self, request, pk, **kwargs):
            plan = _plan_for(request, pk, action)
            result = method(self, request, plan, **kwargs)
            plan.refresh_from_db()
            return Response({"result": result.as_dict(), "plan": plan_detail(request.user, plan)})
        return view
    return decorate


def _body(request):
    """The request body as a dict: a JSON list or string parses fine but has no ``.get``."""
    return params.body(request.data)


def _municipality_code(value) -> str:
    """A DIVIPOLA code as text (a JSON number 76001 is accepted too)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return params.text(value, "municipality", max_length=10, default="")


def plan_summary(plan) -> dict:
    return {
        "id": plan.pk, "name": plan.name, "municipality": plan.municipality.divipola,
        "municipality_name": plan.municipality.name, "status": plan.status,
        "status_label": str(plan.get_status_display()), "is_demo": plan.is_demo, "source": plan.source,
        "version": plan.version, "updated_at": plan.updated_at.isoformat(),
    }


def comment_dict(c) -> dict:
    return {
        "id": c.pk, "parent": c.parent_id, "author": c.author.get_username() if c.author else None,
        "text": c.text, "lon": c.point.x if c.point else None, "lat": c.point.y if c.point else None,
        "plan_version": c.plan_version, "created_at": c.created_at.isoformat(),
    }


def version_dict(v) -> dict:
    return {"number": v.number, "author": v.author.get_username() if v.author else None,
            "created_at": v.created_at.isoformat(), "action": v.action, "summary": v.summary,
            "status": v.status, "zones": len(v.snapshot.get("features", []))}


def visible_versions(user, plan):
    """Earlier drafts are internal; the public sees the approved version only."""
    qs = plan.versions.select_related("author")
    return qs if access.sees_internals(user, plan) else P.approval_versions(plan)


def plan_detail(user, plan) -> dict:
    out = plan_summary(plan)
    out["zones"] = P.snapshot(plan)
    out["permissions"] = access.permissions_for(user, plan)
    internal = access.sees_internals(user, plan)
    # validation findings are part of the review record: internal, like the drafts they judge
    findings = P.current_findings(plan) if internal else []
    out["findings"] = findings
    out["open_gates"] = P.open_gates(findings)
    out["actions"] = P.available_actions(user, plan, findings if internal else None)
    out["current"] = plan.status == Status.APROBADA
    out["replaces"] = plan.replaces_id
    out["replaced_by"] = plan.replaced_by_id
    out["submitted_at"] = plan.submitted_at.isoformat() if plan.submitted_at else None
    out["internal"] = internal
    # review threads are between the municipality's planners and the CVC, not published with the plan
    out["comments"] = [comment_dict(c) for c in plan.comments.select_related("author").all()] if internal else []
    out["approval"] = P.approval(plan)
    out["municipality_geom"] = json.loads(plan.municipality.geom.geojson)
    return out


# ------------------------------------------------------------------ OpenAPI descriptions
PLAN_ID = doc.path_id("id", "Número del plan")
VERSION_NUMBER = doc.path_id("number", "Número de versión del plan")
EXPECTED_VERSION = {**INT, "minimum": 1, "description": "Versión del plan que el cliente editó (bloqueo optimista)"}
PLAN_SUMMARY = obj({"id": INT, "name": STR, "municipality": STR, "municipality_name": STR, "status": STR,
                    "status_label": STR, "is_demo": BOOL, "source": STR, "version": INT, "updated_at": doc.DATETIME})
COMMENT = obj({"id": INT, "parent": nullable(INT), "author": nullable(STR), "text": STR, "lon": nullable(NUM),
               "lat": nullable(NUM), "plan_version": nullable(INT), "created_at": doc.DATETIME})
FINDING = obj({"rule": STR, "severity": doc.enum(["error", "gate", "warning"]), "label": STR, "message": STR,
               "figures": OBJ, "zone_ids": array(INT), "geometry": nullable(ANY), "waived": BOOL,
               "waiver": nullable(obj({"reason": STR, "by": nullable(STR), "at": doc.DATETIME}))})
ACTION = obj({"action": doc.enum(list(P.ACTION_TEXTS)), "code": STR, "label": STR, "confirm": STR,
              "needs_reason": BOOL})
PLAN_DETAIL = obj({**PLAN_SUMMARY["properties"], "zones": FEATURE_COLLECTION, "permissions": OBJ,
                   "findings": array(FINDING), "open_gates": array(FINDING), "current": BOOL,
                   "replaces": nullable(INT), "replaced_by": nullable(INT), "submitted_at": nullable(doc.DATETIME),
                   "actions": array(ACTION), "internal": BOOL, "comments": array(COMMENT), "approval": nullable(ANY),
                   "municipality_geom": GEOMETRY})
CLIPPED = obj({"index": INT, "zone_id": nullable(INT), "name": STR, "outside_m2": NUM, "outside_ha": NUM,
               "overlap_m2": NUM, "overlap_ha": NUM, "area_m2": NUM, "message": STR})
SAVE_RESULT = obj({"result": obj({"plan": INT, "version": INT, "summary": STR, "changes": ANY, "warnings": array(OBJ),
                                  "findings": array(FINDING), "state": doc.enum(["clean", "warnings", "gates"]),
                                  "clipped": array(CLIPPED), "unchanged": BOOL}),
                   "plan": PLAN_DETAIL})
WRITE_ERRORS = errors(403, 404, 409, 422)


def _write(summary: str, body: dict | None, response=SAVE_RESULT, extra=()):
    return extend_schema(summary=summary, parameters=[PLAN_ID, *extra],
                         request=doc.json_body(body) if body is not None else None,
                         responses={200: response, **WRITE_ERRORS})


@extend_schema(summary="Registro POT: clases de suelo, categorías de uso, estados, transiciones, determinantes",
               responses={200: obj({"soil_classes": ANY, "use_categories": ANY, "statuses": array(OBJ),
                                    "transitions": OBJ, "determinants": array(OBJ)}), **errors()})
class Registry(APIView):
    def get(self, request):
        return Response({
            "soil_classes": P.soil_class_registry(), "use_categories": USE_CATEGORIES,
            "statuses": [{"code": c, "label": str(label)} for c, label in Status.CHOICES],
            "transitions": {k: t.label for k, t in P.TRANSITIONS.items()},
            "determinants": [{"code": d.code, "name": d.name, "kind": d.kind, "pieces": d.piece_count,
                              "caveat": d.caveat} for d in Determinant.objects.all()],
        })


@extend_schema(summary="Determinantes ambientales alrededor de un municipio (GeoJSON)",
               parameters=[doc.query("municipality", STR, "Código DIVIPOLA", required=True)],
               responses={200: OBJ, **errors(404)})
class Determinants(APIView):
    """GET /api/v1/pot/determinants/?municipality=76001 — determinant geometry around a municipality."""

    def get(self, request):
        code = _municipality_code(request.query_params.get("municipality"))
        muni = Municipality.objects.filter(divipola=code).first()
        if muni is None:
            raise NotFound(_("No existe el municipio con código DIVIPOLA «%(code)s».") % {"code": code})
        return Response(determinants_geojson(muni))


@extend_schema(methods=["GET"], summary="Planes visibles para el usuario",
               parameters=[doc.query("municipality", STR, "Código DIVIPOLA")],
               responses={200: obj({"plans": array(PLAN_SUMMARY)}), **errors()})
@extend_schema(methods=["POST"], summary="Crear un plan (planificador del municipio)",
               request=doc.json_body(obj({"municipality": STR, "name": {**STR, "maxLength": 200}}, ["municipality"])),
               responses={201: PLAN_DETAIL, **errors(403, 404, 409, 422)})
class PlanList(APIView):
    def get(self, request):
        qs = access.plans_visible_to(request.user, Plan.objects.select_related("municipality"))
        muni = _municipality_code(request.query_params.get("municipality"))
        if muni:
            qs = qs.filter(municipality__divipola=muni)
        return Response({"plans": [plan_summary(p) for p in qs]})

    def post(self, request):
        _require_login(request)
        data = _body(request)
        code = _municipality_code(data.get("municipality"))
        name = params.model_text(data.get("name"), "name", Plan)
        muni = Municipality.objects.filter(divipola=code).first()
        if muni is None:
            raise NotFound(_("No existe el municipio «%(code)s».") % {"code": code})
        plan = P.create_plan(request.user, muni, name)
        return Response(plan_detail(request.user, plan), status=201)


@extend_schema_view(
    get=extend_schema(summary="Un plan con sus zonas, permisos y acciones", operation_id="pot_plan_detail",
                      parameters=[PLAN_ID], responses={200: PLAN_DETAIL, **errors(404)}),
    delete=extend_schema(summary="Eliminar un plan en borrador", parameters=[PLAN_ID],
                         responses={204: OpenApiResponse(description="Eliminado"), **errors(403, 404, 409)}),
)
class PlanDetail(APIView):
    def get(self, request, pk):
        plan = access.get_visible_plan(request.user, pk)
        return Response(plan_detail(request.user, plan))

    def delete(self, request, pk):
        plan = _plan_for(request, pk, "eliminar")
        P.delete_plan(request.user, plan)
        return Response(status=204)


FIT = {**BOOL, "default": True,
       "description": "Recortar las zonas nuevas o cambiadas al municipio y a las zonas existentes (estas ganan)"}


@_write("Guardar las zonas del plan (FeatureCollection completa; PUT o POST)",
        {**FEATURE_COLLECTION, "properties": {**FEATURE_COLLECTION["properties"], "version": EXPECTED_VERSION,
                                              "fit": FIT}})
class PlanZones(APIView):
    @plan_write("guardar")
    def put(self, request, plan):
        body = request.data
        data = body if isinstance(body, dict) else {}
        fit = params.boolean(data.get("fit"), "fit", default=True)
        return P.save_zones(request.user, plan, body, data.get("version", data.get("expected_version")), fit=fit)

    post = put


@_write("Unir zonas", obj({"zone_ids": array({**INT, "minimum": 1}), "version": EXPECTED_VERSION,
                            "soil_class": STR}, ["zone_ids", "version"]))
class PlanMerge(APIView):
    @plan_write("unir")
    def post(self, request, plan):
        data = _body(request)
        return P.merge_zones(request.user, plan, data.get("zone_ids"), data.get("version"))


@_write("Dividir una zona con una línea", obj({"zone_id": {**INT, "minimum": 1}, "line": GEOMETRY,
                                              "version": EXPECTED_VERSION}))
class PlanSplit(APIView):
    @plan_write("dividir")
    def post(self, request, plan):
        data = _body(request)
        return P.split_zone(request.user, plan, data.get("zone_id"), data.get("line"), data.get("version"))


TRANSITION_CODES = [*P.TRANSITIONS, *P.ACTION_ALIASES]


@_write("Cambiar el estado del plan (enviar, revisar, aprobar, devolver); 409 «gates_open» con barreras abiertas",
        obj({"action": doc.enum(TRANSITION_CODES), "version": EXPECTED_VERSION, "expected_version": EXPECTED_VERSION,
             "note": {**STR, "description": "Nota registrada en el historial; obligatoria al devolver"}}, ["action"]),
        response=PLAN_DETAIL)
class PlanTransition(APIView):
    def post(self, request, pk):
        _require_login(request)
        plan = access.get_visible_plan(request.user, pk)
        perms = access.permissions_for(request.user, plan)
        if not (perms["planner"] or perms["review"]):  # the action is in the body: its own check follows
            raise PermissionDeniedError(_("El flujo del plan es de sus planificadores y de los revisores de la CVC."))
        data = _body(request)
        action = params.choice(data.get("action"), "action", TRANSITION_CODES, required=True)
        P.require_action(request.user, plan, P.ACTION_ALIASES.get(action, action))  # before the note is read
        note = params.text(data.get("note"), "note", max_length=2000, multiline=True, default="")
        P.transition(request.user, plan, action, data.get("version", data.get("expected_version")), note)
        return Response(plan_detail(request.user, plan))


@extend_schema(summary="Dispensar una barrera de validación (revisor CVC, plan enviado o en revisión)",
               parameters=[PLAN_ID],
               request=doc.json_body(obj({"rule": STR, "zone_ids": array({**INT, "minimum": 1}),
                                          "reason": {**STR, "minLength": 1}, "version": EXPECTED_VERSION},
                                         ["rule", "reason"])),
               responses={201: obj({"waiver": obj({"id": INT, "rule": STR, "zone_ids": array(INT), "reason": STR,
                                                   "by": nullable(STR), "at": doc.DATETIME}),
                                    "plan": PLAN_DETAIL}), **errors(403, 404, 409)})
class PlanWaivers(APIView):
    def post(self, request, pk):
        plan = _plan_for(request, pk, "dispensar")
        d = _body(request)
        w = P.waive_gate(request.user, plan, d.get("rule"), d.get("zone_ids"), d.get("reason"), d.get("version"))
        plan.refresh_from_db()
        waiver = {"id": w.pk, "rule": w.rule, "zone_ids": w.zone_ids, "reason": w.reason,
                  "by": request.user.get_username(), "at": w.created_at.isoformat()}
        return Response({"waiver": waiver, "plan": plan_detail(request.user, plan)}, status=201)


@extend_schema(summary="Modificar el plan aprobado vigente: borrador nuevo con sus zonas que lo reemplaza al aprobarse",
               parameters=[PLAN_ID], request=None,
               responses={201: obj({"id": INT, "replaces": INT, "plan": PLAN_DETAIL}), **errors(403, 404, 409)})
class PlanRevision(APIView):
    def post(self, request, pk):
        plan = _plan_for(request, pk, "revisar")
        new = P.revise_plan(request.user, plan)
        return Response({"id": new.pk, "replaces": plan.pk, "plan": plan_detail(request.user, new)}, status=201)


QUEUE_ITEM = obj({"id": INT, "name": STR, "municipality": STR, "municipality_name": STR, "status": STR,
                  "status_label": STR, "version": INT, "submitted_at": nullable(doc.DATETIME),
                  "submitted_by": nullable(STR), "open_gates": INT, "gates": array(STR), "gate_messages": array(STR)})


@extend_schema(summary="Cola de revisión: planes enviados o en revisión, el más antiguo primero (revisores)",
               responses={200: array(QUEUE_ITEM), **errors(403)})
class ReviewQueue(APIView):
    def get(self, request):
        _require_login(request)
        access.require_reviewer(request.user)
        return Response(P.review_queue(request.user))


@extend_schema(summary="Versiones del plan", parameters=[PLAN_ID],
               responses={200: obj({"versions": array(obj({"number": INT, "author": nullable(STR),
                                                           "created_at": doc.DATETIME, "action": STR, "summary": STR,
                                                           "status": STR, "zones": INT}))}), **errors(404)})
class PlanVersions(APIView):
    def get(self, request, pk):
        plan = access.get_visible_plan(request.user, pk)
        return Response({"versions": [version_dict(v) for v in visible_versions(request.user, plan)]})


@extend_schema_view(get=extend_schema(
    summary="Una versión del plan (sus zonas)", parameters=[PLAN_ID, VERSION_NUMBER], operation_id="pot_plan_version_detail",
    responses={200: obj({"number": INT, "summary": STR, "snapshot": FEATURE_COLLECTION}), **errors(404)}))
class PlanVersionDetail(APIView):
    def get(self, request, pk, number):
        plan = access.get_visible_plan(request.user, pk)
        v = visible_versions(request.user, plan).filter(number=number).first()
        if v is None:  # same answer for a missing and an internal version
            raise NotFound(_("El plan no tiene versión %(number)s o no es pública.") % {"number": number})
        return Response({"number": v.number, "summary": v.summary, "snapshot": v.snapshot})


@_write("Restaurar una versión anterior (crea una nueva)", obj({"version": EXPECTED_VERSION}),
        extra=[VERSION_NUMBER])
class PlanRestore(APIView):
    @plan_write("restaurar")
    def post(self, request, plan, number):
        return P.restore_version(request.user, plan, number, _body(request).get("version"))


@extend_schema(methods=["GET"], summary="Comentarios de revisión (internos)", parameters=[PLAN_ID],
               responses={200: obj({"comments": array(COMMENT)}), **errors(403, 404)})
@extend_schema(methods=["POST"], summary="Comentar (con punto opcional) o responder", parameters=[PLAN_ID],
               request=doc.json_body(obj({"text": {**STR, "minLength": 1}, "lon": {**NUM, "minimum": -180, "maximum": 180},
                                          "lat": {**NUM, "minimum": -90, "maximum": 90}, "parent": {**INT, "minimum": 1}},
                                         ["text"])),
               responses={201: COMMENT, **errors(403, 404, 422)})
class PlanComments(APIView):
    def get(self, request, pk):
        plan = access.get_visible_plan(request.user, pk)
        if not access.sees_internals(request.user, plan):
            raise PermissionDeniedError(_("Los comentarios de revisión son internos: los ven los planificadores "
                                          "del municipio y la CVC."))
        return Response({"comments": [comment_dict(c) for c in plan.comments.select_related("author")]})

    def post(self, request, pk):
        plan = _plan_for(request, pk, "responder")  # the weaker of the two; opening a thread is checked next
        d = _body(request)
        text = params.text(d.get("text"), "text", max_length=5000, multiline=True, default="")
        c = P.add_comment(request.user, plan, text, d.get("lon"), d.get("lat"), d.get("parent"))
        return Response(comment_dict(c), status=201)


@extend_schema(summary="Importar zonas desde un archivo (GeoPackage, Shapefile .zip, GeoJSON)", parameters=[PLAN_ID],
               request={"multipart/form-data": obj({
                   "file": {"type": "string", "format": "binary"}, "version": EXPECTED_VERSION,
                   "class_field": STR, "mapping": {**STR, "description": "JSON {\"valor\": \"clase\"}"},
                   "layer": STR, "use_field": STR, "name_field": STR}, ["file", "version"])},
               responses={200: SAVE_RESULT, **errors(403, 404, 409, 413, 422)})
class PlanImport(APIView):
    throttle_scope = "jobs"
    parser_classes = [MultiPartParser, FormParser]

    @plan_write("importar")  # who may edit, and how big, are known before a byte of the upload is read
    def post(self, request, plan):
        check_size(request)
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidParameter(_("Adjunte el archivo (campo «file»): GeoPackage, Shapefile en .zip o GeoJSON."))
        check_upload_size(upload.size)
        d = request.data
        field = lambda name, default=None: params.text(d.get(name), name, max_length=100, default=default)  # noqa: E731
        return import_plan(request.user, plan, upload.read(), upload.name, field("class_field", "clase"),
                           d.get("version"), mapping=class_mapping(d.get("mapping")), layer=field("layer"),
                           use_field=field("use_field", "uso"), name_field=field("name_field", "nombre"))


@extend_schema(summary="Exportar las zonas del plan", parameters=[PLAN_ID, doc.path_str("fmt", enum_values=["gpkg", "shp", "geojson"])],
               responses={**doc.binary("application/geopackage+sqlite3", "application/zip", "application/geo+json"),
                          **errors(404)})
class PlanExport(APIView):
    throttle_scope = "downloads"

    def get(self, request, pk, fmt):
        plan = access.get_visible_plan(request.user, pk)
        content, _ctype, filename = export_plan(plan, fmt)
        return formats.attachment(content, filename, fmt)


MAX_MAPPING = 500  # distinct class values of one imported file


def class_mapping(raw) -> dict:
    """The import's class mapping, a JSON object {"valor en el archivo": "clase"} with text values."""
    mapping = params.json_mapping(raw, "mapping")
    if len(mapping) > MAX_MAPPING:
        raise InvalidParameter(_("«mapping» admite como máximo %(maximum)s valores.") % {"maximum": MAX_MAPPING},
                               parameter="mapping")
    return {str(k): params.text(v, f"mapping[{k}]", max_length=40, required=True) for k, v in mapping.items()}


def conflict_params(q) -> dict:
    """The conflict request's scope and modes, typed (the distances are checked by conflict_settings)."""
    return {
        "plan_id": params.identifier(q.get("plan"), "plan", required=False),
        "municipality": _municipality_code(q.get("municipality")) or None,
        "modes": params.text_list(q.get("modes") or q.get("mode"), "modes", choices=list(MODES)) or None,
        "ronda_m": q.get("ronda_m"), "buffer_m": q.get("buffer_m"), "sliver_m2": q.get("sliver_m2"),
    }


def _computing(job, request) -> Response:
    """202: the department-wide report is being computed by ``job``; its status is public at urls.self."""
    from jobs.api import job_dict

    body = job_dict(job, request)
    return Response({
        "state": "computing", "job": body,
        "detail": _("Los conflictos de todo el departamento están en cálculo (trabajo n.º %(id)s, %(progress)s %%). "
                    "Consulte su avance en %(url)s y vuelva a pedir el informe cuando termine.")
                  % {"id": job.pk, "progress": job.progress, "url": body["urls"]["self"]},
    }, status=202, headers={"Location": body["urls"]["self"], "Retry-After": "5"})


COMPUTING = obj({"state": doc.enum(["computing"]), "detail": STR, "job": OBJ})


# The HTML conflict report is one self-contained document (inline <style>, a data: PNG map, no script):
# the site's policy would refuse its stylesheet, so that response replaces style-src and forbids scripts.
REPORT_HTML_CSP = {"style-src": ["'unsafe-inline'"], "script-src": ["'none'"], "sandbox": True}


@extend_schema(
    summary="Conflictos POT: internos, limítrofes y con determinantes (informe JSON o archivo)",
    parameters=[doc.query("municipality", STR, "Código DIVIPOLA (o plan=)"), doc.query("plan", {**INT, "minimum": 1}),
                doc.query("modes", STR, "Modos separados por comas: internal, cross_border, determinants"),
                doc.query("ronda_m", {**NUM, "minimum": 0, "maximum": 100}, "Ronda hídrica (m), 30 por defecto"),
                doc.query("buffer_m", {**NUM, "minimum": 0, "maximum": 2000}, "Distancia de contacto limítrofe (m)"),
                doc.query("sliver_m2", {**NUM, "minimum": 0, "maximum": 10000}, "Área máxima de una astilla (m²)"),
                doc.query("format", doc.enum(["json", "csv", "gpkg", "html", "pdf"]), "Formato del informe")],
    responses={200: obj({"scope": STR, "scope_label": STR, "modes": array(STR), "params": OBJ, "is_demo": BOOL,
                         "plans": array(ANY), "summary": array(OBJ), "findings": array(OBJ), "compatible_count": INT,
                         "notes": array(STR), "seconds": NUM}),
               **doc.binary("text/csv; charset=utf-8", "application/geopackage+sqlite3", "text/html; charset=utf-8",
                            "application/pdf"),
               202: OpenApiResponse(COMPUTING, description="Todo el departamento sin calcular aún: el trabajo que lo "
                                                           "calcula (estado en job.urls.self); vuelva a pedirlo"),
               **errors(403, 404, 422)},
)
class Conflicts(APIView):
    """GET /api/v1/pot/conflicts/?municipality=76001 | plan=ID [&modes=internal,cross_border,determinants]
    [&ronda_m=30&buffer_m=200&sliver_m2=1000] [&format=json|csv|gpkg|html|pdf]"""

    throttle_scope = by_format("conflicts", {"html": "reports", "pdf": "reports", "csv": "downloads", "gpkg": "downloads"})

    def perform_content_negotiation(self, request, force=False):
        # ?format= names our report formats, not DRF renderers: never 404 on it
        return super().perform_content_negotiation(request, force=True)

    def get(self, request):
        fmt = params.choice(request.query_params.get("format"), "format", FORMATS, default="json")
        scope = conflict_params(request.query_params)
        if scope["plan_id"] is None and scope["municipality"] is None:
            # the whole department: only what a finished job computed is read here; else 202 and the job
            job = department.pending_job(request.user, department.settings_of(scope))
            if job is not None:
                return _computing(job, request)
        report = analyse_conflicts(request.user, with_geometry=fmt != "csv", **scope)
        if fmt == "json":
            return Response(report.as_dict())
        content, f = render_report(report, fmt)
        # the parsed scope, never the raw query text: a newline in ?plan= would otherwise reach a header
        scope = scope["municipality"] or scope["plan_id"] or "valle"
        # the HTML report opens in a tab (inline), the other formats download
        resp = formats.attachment(content, f"conflictos_pot_{scope}{'_DEMO' if report.has_demo else ''}", f,
                                  inline=f.key == "html")
        if f.key == "html":  # opened in a tab: its own CSP (inline <style> only; no script; sandboxed)
            resp._csp_replace = REPORT_HTML_CSP
        return resp
