"""REST API of the POT module (/api/v1/pot/...). Thin: parse, call one service, serialise."""
from __future__ import annotations

import json

from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from geosig import formats
from geosig.errors import InvalidParameter, NotFound, PermissionDeniedError
from geosig.throttling import by_format
from territorial.pot.classes import USE_CATEGORIES, Status
from territorial.pot.services import access, plans as P


def _user(request):
    return request.user if request.user and request.user.is_authenticated else None


def _require_login(request):
    if not request.user or not request.user.is_authenticated:
        raise PermissionDeniedError("Debe ingresar para esta acción.")


def _plan_for(request, pk, action: str):
    """The plan a write names, after login, visibility and the action's permission: all of it before
    the request body is parsed (services check again under the plan's row lock)."""
    _require_login(request)
    plan = access.get_visible_plan(request.user, pk)
    P.require_action(request.user, plan, action)
    return plan


def _body(request):
    """The request body as a dict: a JSON list or string parses fine but has no ``.get``."""
    if not isinstance(request.data, dict):
        raise InvalidParameter("Envíe un objeto JSON ({\"clave\": valor, ...}), no una lista ni un valor suelto.")
    return request.data


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
    out["actions"] = P.available_actions(user, plan)
    internal = access.sees_internals(user, plan)
    out["internal"] = internal
    # review threads are between the municipality's planners and the CVC, not published with the plan
    out["comments"] = [comment_dict(c) for c in plan.comments.select_related("author").all()] if internal else []
    out["approval"] = P.approval(plan)
    out["municipality_geom"] = json.loads(plan.municipality.geom.geojson)
    return out


class Registry(APIView):
    def get(self, request):
        from territorial.pot.models import Determinant

        return Response({
            "soil_classes": P.soil_class_registry(), "use_categories": USE_CATEGORIES,
            "statuses": [{"code": c, "label": str(label)} for c, label in Status.CHOICES],
            "transitions": {k: t.label for k, t in P.TRANSITIONS.items()},
            "determinants": [{"code": d.code, "name": d.name, "kind": d.kind, "pieces": d.piece_count,
                              "caveat": d.caveat} for d in Determinant.objects.all()],
        })


class Determinants(APIView):
    """GET /api/v1/pot/determinants/?municipality=76001 — determinant geometry around a municipality."""

    def get(self, request):
        from territorial.models import Municipality
        from territorial.pot.services.determinants import determinants_geojson

        code = request.query_params.get("municipality", "")
        muni = Municipality.objects.filter(divipola=code).first()
        if muni is None:
            raise NotFound(f"No existe el municipio con código DIVIPOLA «{code}».")
        return Response(determinants_geojson(muni))


class PlanList(APIView):
    def get(self, request):
        from territorial.pot.models import Plan

        qs = access.plans_visible_to(request.user, Plan.objects.select_related("municipality"))
        muni = request.query_params.get("municipality")
        if muni:
            qs = qs.filter(municipality__divipola=muni)
        return Response({"plans": [plan_summary(p) for p in qs]})

    def post(self, request):
        from territorial.models import Municipality

        _require_login(request)
        data = _body(request)
        muni = Municipality.objects.filter(divipola=str(data.get("municipality", ""))).first()
        if muni is None:
            raise NotFound(f"No existe el municipio «{data.get('municipality')}».")
        plan = P.create_plan(request.user, muni, data.get("name", ""))
        return Response(plan_detail(request.user, plan), status=201)


class PlanDetail(APIView):
    def get(self, request, pk):
        plan = access.get_visible_plan(request.user, pk)
        return Response(plan_detail(request.user, plan))

    def delete(self, request, pk):
        plan = _plan_for(request, pk, "eliminar")
        P.delete_plan(request.user, plan)
        return Response(status=204)


class PlanZones(APIView):
    def put(self, request, pk):
        plan = _plan_for(request, pk, "guardar")
        body = request.data
        result = P.save_zones(request.user, plan, body, body.get("version") if isinstance(body, dict) else None)
        plan.refresh_from_db()
        return Response({"result": result.as_dict(), "plan": plan_detail(request.user, plan)})


class PlanMerge(APIView):
    def post(self, request, pk):
        plan = _plan_for(request, pk, "unir")
        data = _body(request)
        result = P.merge_zones(request.user, plan, data.get("zone_ids"), data.get("version"))
        plan.refresh_from_db()
        return Response({"result": result.as_dict(), "plan": plan_detail(request.user, plan)})


class PlanSplit(APIView):
    def post(self, request, pk):
        plan = _plan_for(request, pk, "dividir")
        data = _body(request)
        result = P.split_zone(request.user, plan, data.get("zone_id"), data.get("line"), data.get("version"))
        plan.refresh_from_db()
        return Response({"result": result.as_dict(), "plan": plan_detail(request.user, plan)})


class PlanTransition(APIView):
    def post(self, request, pk):
        _require_login(request)
        plan = access.get_visible_plan(request.user, pk)
        perms = access.permissions_for(request.user, plan)
        if not (perms["planner"] or perms["review"]):  # the action is in the body: its own check follows
            raise PermissionDeniedError("El flujo del plan es de sus planificadores y de los revisores de la CVC.")
        data = _body(request)
        P.transition(request.user, plan, data.get("action", ""), data.get("version"), data.get("note", ""))
        return Response(plan_detail(request.user, plan))


class PlanVersions(APIView):
    def get(self, request, pk):
        plan = access.get_visible_plan(request.user, pk)
        return Response({"versions": [version_dict(v) for v in visible_versions(request.user, plan)]})


class PlanVersionDetail(APIView):
    def get(self, request, pk, number):
        plan = access.get_visible_plan(request.user, pk)
        v = visible_versions(request.user, plan).filter(number=number).first()
        if v is None:  # same answer for a missing and an internal version
            raise NotFound(f"El plan no tiene versión {number} o no es pública.")
        return Response({"number": v.number, "summary": v.summary, "snapshot": v.snapshot})


class PlanRestore(APIView):
    def post(self, request, pk, number):
        plan = _plan_for(request, pk, "restaurar")
        result = P.restore_version(request.user, plan, number, _body(request).get("version"))
        plan.refresh_from_db()
        return Response({"result": result.as_dict(), "plan": plan_detail(request.user, plan)})


class PlanComments(APIView):
    def get(self, request, pk):
        plan = access.get_visible_plan(request.user, pk)
        if not access.sees_internals(request.user, plan):
            raise PermissionDeniedError("Los comentarios de revisión son internos: los ven los planificadores del "
                                        "municipio y la CVC.")
        return Response({"comments": [comment_dict(c) for c in plan.comments.select_related("author")]})

    def post(self, request, pk):
        plan = _plan_for(request, pk, "responder")  # the weaker of the two; opening a thread is checked next
        d = _body(request)
        c = P.add_comment(request.user, plan, d.get("text", ""), d.get("lon"), d.get("lat"), d.get("parent"))
        return Response(comment_dict(c), status=201)


class PlanImport(APIView):
    throttle_scope = "jobs"
    parser_classes = [MultiPartParser, FormParser]

    def post(self, request, pk):
        from layers.uploads import check_size
        from territorial.pot.services.exchange import check_upload_size, import_plan

        # who may edit, and how big, are known before a byte of the upload is read or parsed
        plan = _plan_for(request, pk, "importar")
        check_size(request)
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidParameter("Adjunte el archivo (campo «file»): GeoPackage, Shapefile en .zip o GeoJSON.")
        check_upload_size(upload.size)
        try:
            mapping = json.loads(request.data.get("mapping") or "{}")
        except json.JSONDecodeError:
            raise InvalidParameter("El mapeo de clases debe ser JSON: {\"valor en el archivo\": \"clase\"}.") from None
        result = import_plan(request.user, plan, upload.read(), upload.name, request.data.get("class_field", "clase"),
                             request.data.get("version"), mapping=mapping, layer=request.data.get("layer") or None,
                             use_field=request.data.get("use_field") or "uso",
                             name_field=request.data.get("name_field") or "nombre")
        plan.refresh_from_db()
        return Response({"result": result.as_dict(), "plan": plan_detail(request.user, plan)})


class PlanExport(APIView):
    throttle_scope = "downloads"

    def get(self, request, pk, fmt):
        from territorial.pot.services.exchange import export_plan

        plan = access.get_visible_plan(request.user, pk)
        content, _ctype, filename = export_plan(plan, fmt)
        return formats.attachment(content, filename, fmt)


def conflict_params(q) -> dict:
    modes = q.get("modes") or q.get("mode")
    return {
        "plan_id": q.get("plan") or None, "municipality": q.get("municipality") or None,
        "modes": [m.strip() for m in modes.split(",") if m.strip()] if modes else None,
        "ronda_m": q.get("ronda_m"), "buffer_m": q.get("buffer_m"), "sliver_m2": q.get("sliver_m2"),
    }


class Conflicts(APIView):
    """GET /api/v1/pot/conflicts/?municipality=76001 | plan=ID [&modes=internal,cross_border,determinants]
    [&ronda_m=30&buffer_m=200&sliver_m2=1000] [&format=json|csv|gpkg|html|pdf]"""

    throttle_scope = by_format("conflicts", {"html": "reports", "pdf": "reports", "csv": "downloads", "gpkg": "downloads"})

    def perform_content_negotiation(self, request, force=False):
        # ?format= names our report formats, not DRF renderers: never 404 on it
        return super().perform_content_negotiation(request, force=True)

    def get(self, request):
        from territorial.pot.services.conflicts import analyse_conflicts
        from territorial.pot.services.reports import FORMATS, render_report

        fmt = request.query_params.get("format", "json")
        if fmt not in FORMATS:
            raise InvalidParameter(f"Formato desconocido «{fmt}». Valores válidos: {', '.join(FORMATS)}.")
        report = analyse_conflicts(request.user, with_geometry=fmt != "csv", **conflict_params(request.query_params))
        if fmt == "json":
            return Response(report.as_dict())
        content, f = render_report(report, fmt)
        scope = request.query_params.get("municipality") or request.query_params.get("plan") or "valle"
        # the HTML report opens in a tab (inline), the other formats download
        return formats.attachment(content, f"conflictos_pot_{scope}{'_DEMO' if report.has_demo else ''}", f,
                                  inline=f.key == "html")
