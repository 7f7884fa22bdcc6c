"""Thin API views of the plan follow-up (/api/v1/plan/): parse, check permission first, call a service."""
from __future__ import annotations

import json
from pathlib import Path

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from geosig import formats, params
from geosig import openapi as doc
from geosig.errors import InvalidParameter, NotFound
from geosig.openapi import BOOL, INT, NUM, OBJ, STR, array, enum, errors, nullable, obj
from layers.uploads import check_size
from plan.models import STATUSES, TERMS, Dimension, ProgramLine, ProgressReport, SpecificObjective
from plan.services import access, exports, importing, portfolio, queries, rollup, semaphore
from plan.services.evidence import CONTENT_TYPES

P = OpenApiParameter
NAMED = obj({"code": STR, "name": STR})
PROJECT = obj({
    "id": INT, "code": STR, "name": STR, "is_demo": BOOL, "program": NAMED, "line": NAMED,
    "dimension": nullable(NAMED), "entity": NAMED, "term": enum([t for t, _l in TERMS]),
    "status": enum([s for s, _l in STATUSES]), "start_date": nullable(STR), "end_date": nullable(STR),
    "progress": NUM, "weight": NUM, "published": BOOL, "version": INT,
    "municipalities": array(obj({"divipola": STR, "name": STR})), "subregions": array(NAMED),
    "budget_total_cop": INT, "budgets": array(obj({"year": INT, "funding_source": STR, "amount_cop": INT})),
    "links": array(OBJ), "expected_pct": nullable(NUM), "semaphore": enum(semaphore.STATES)})
PROJECT_FEATURE = obj({"type": enum(["Feature"]), "id": INT, "geometry": nullable(doc.GEOMETRY),
                       "properties": PROJECT})
PROJECT_COLLECTION = obj({"type": enum(["FeatureCollection"]), "features": array(PROJECT_FEATURE)})
REPORT = obj({"id": INT, "value": NUM, "date": STR, "note": STR, "reporter": nullable(STR),
              "evidence_url": nullable(STR), "evidence_file": nullable(STR), "is_demo": BOOL})
HISTORY = array(obj({"number": INT, "action": STR, "author": nullable(STR), "created_at": STR}))
PROJECT_DETAIL = obj({"type": enum(["Feature"]), "id": INT, "geometry": nullable(doc.GEOMETRY),
                      "properties": PROJECT, "reports": array(REPORT), "goals": array(OBJ), "history": HISTORY,
                      "can_report": BOOL})
GOAL = obj({"id": INT, "code": STR, "name": STR, "is_demo": BOOL, "program": NAMED, "entity": NAMED,
            "indicator": STR, "unit": STR, "baseline": obj({"value": NUM, "year": INT, "source": STR}),
            "target": obj({"value": NUM, "year": INT}), "latest": nullable(REPORT), "history": array(REPORT),
            "progress_pct": nullable(NUM), "expected_pct": nullable(NUM), "semaphore": enum(semaphore.STATES),
            "version": INT})
PROJECT_BODY = obj({
    "code": STR, "name": STR, "description": STR, "program": {**STR, "description": "código del programa"},
    "entity": {**STR, "description": "código de la entidad"}, "term": enum([t for t, _l in TERMS]),
    "status": enum([s for s, _l in STATUSES]), "start_date": {**STR, "format": "date"},
    "end_date": {**STR, "format": "date"}, "progress": {**NUM, "minimum": 0, "maximum": 100},
    "weight": {**NUM, "minimum": 0}, "geometry": nullable(doc.GEOMETRY),
    "crs": {**INT, "description": "EPSG de la geometría si no es lon/lat (4326)"},
    "municipalities": {**array(STR), "description": "DIVIPOLA; si se da, reemplaza los derivados de la geometría"},
    "budgets": array(obj({"year": INT, "funding_source": STR, "amount_cop": NUM})),
    "links": array(obj({"kind": enum(["corridor_run", "pot_plan", "city_scenario"]), "ref": STR})),
    "published": BOOL, "source": STR, "version": {**INT, "description": "versión leída (409 si otro guardó)"}},
    ["code", "name", "program", "entity", "term"])
GOAL_BODY = obj({"code": STR, "name": STR, "program": STR, "project": nullable(STR), "entity": STR,
                 "indicator": STR, "unit": STR, "baseline_value": NUM, "baseline_year": INT, "baseline_source": STR,
                 "target_value": NUM, "target_year": INT, "weight": NUM, "published": BOOL, "version": INT},
                ["code", "name", "program", "entity", "indicator", "unit", "baseline_value", "baseline_year",
                 "baseline_source", "target_value", "target_year"])
REPORT_BODY = obj({"value": NUM, "date": {**STR, "format": "date"}, "note": STR, "evidence_url": STR,
                   "evidence": {"type": "string", "format": "binary", "description": "PDF, PNG o JPEG (≤ 10 MB)"}},
                  ["value"])
FILTER_PARAMS = [P(k, str, description=d) for k, d in (
    ("dimension", "código de dimensión"), ("line", "código de línea"), ("program", "código de programa"),
    ("subregion", "código de subregión"), ("municipality", "DIVIPOLA"), ("entity", "código de entidad"))] + [
    P("term", {"type": "string", "enum": [t for t, _l in TERMS]}),
    P("status", {"type": "string", "enum": [s for s, _l in STATUSES]})]
ID = doc.path_id("id", "Identificador")  # drf-spectacular shows a <pk> route as {id}


def _optional(schema: dict) -> dict:
    """The same body with every key optional (PATCH): OpenAPI 3.0 refuses an empty ``required`` list."""
    return {k: v for k, v in schema.items() if k != "required"}


def _feature(p, user, *, detail=False) -> dict:
    return {"type": "Feature", "id": p.pk, "geometry": json.loads(p.geom.geojson) if p.geom else None,
            "properties": queries.project_dict(p, detail=detail)}


def _project_detail(request, pk) -> dict:
    p = access.get_visible(request.user, queries.projects_for(request.user), pk)
    office = access.is_office(request.user)
    goals = queries.goals_for(request.user).filter(project=p)
    history = portfolio.history("project", p.pk)
    if not office:
        history = [{**h, "author": None} for h in history]
    return {**_feature(p, request.user, detail=True),
            "reports": [queries.report_dict(r, show_reporter=office) for r in p.reports.order_by("date", "id")],
            "goals": [queries.goal_dict(g, show_reporter=office) for g in goals], "history": history,
            "can_report": access.can_report(request.user, p.entity_id)}


class Structure(APIView):
    @extend_schema(summary="Estructura del plan: dimensiones → líneas → programas, objetivos y umbrales del semáforo",
                   responses={200: obj({"dimensions": array(OBJ), "unassigned_lines": array(OBJ),
                                        "objectives": array(OBJ), "thresholds": OBJ, "note": STR}), **errors()})
    def get(self, request):
        from plan import seed

        def line(ln):
            return {"code": ln.code, "name": ln.name, "weight": ln.weight, "source": ln.source,
                    "dimension_is_demo": ln.dimension_is_demo,
                    "programs": [{"code": p.code, "name": p.name, "weight": p.weight, "is_demo": p.is_demo,
                                  "objectives": [o.order for o in p.objectives.all()]} for p in ln.programs.all()]}
        lines = ProgramLine.objects.prefetch_related("programs__objectives")
        th = semaphore.thresholds()
        return Response({
            "dimensions": [{"code": d.code, "name": d.name, "source": d.source,
                            "lines": [line(ln) for ln in lines if ln.dimension_id == d.pk]}
                           for d in Dimension.objects.all()],
            "unassigned_lines": [line(ln) for ln in lines if ln.dimension_id is None],
            "objectives": [{"order": o.order, "text": o.text, "source": o.source}
                           for o in SpecificObjective.objects.all()],
            "thresholds": {"on_track_min": th.on_track_min, "at_risk_min": th.at_risk_min}, "note": seed.NOTE})


class ProjectList(APIView):
    @extend_schema(summary="Proyectos del portafolio (GeoJSON; el público ve sólo los publicados)",
                   operation_id="plan_projects_list", parameters=FILTER_PARAMS,
                   responses={(200, "application/geo+json"): PROJECT_COLLECTION, **errors()})
    def get(self, request):
        qs, _f = queries.filter_projects(queries.projects_for(request.user), request.query_params)
        return Response(queries.projects_geojson(qs), content_type="application/geo+json")

    @extend_schema(summary="Crear un proyecto (oficina de planeación); municipios derivados de la geometría",
                   operation_id="plan_projects_create", request=doc.json_body(PROJECT_BODY),
                   responses={201: PROJECT_FEATURE, **errors(403, 409, 422)})
    def post(self, request):
        access.require_office(request.user)  # before the body is read
        project = portfolio.create_project(request.user, request.data)
        return Response(_feature(project, request.user), status=201)


class ProjectDetail(APIView):
    @extend_schema(summary="Un proyecto: ficha, reportes (línea de tiempo y evidencias), metas e historial",
                   operation_id="plan_project_detail", parameters=[ID],
                   responses={200: PROJECT_DETAIL, **errors(404)})
    def get(self, request, pk):
        return Response(_project_detail(request, pk))

    @extend_schema(summary="Modificar un proyecto (oficina de planeación); «version» evita pisar otro guardado",
                   operation_id="plan_project_update", parameters=[ID],
                   request=doc.json_body(_optional(PROJECT_BODY)),
                   responses={200: PROJECT_FEATURE, **errors(403, 404, 409, 422)})
    def patch(self, request, pk):
        access.require_office(request.user)
        project = portfolio.update_project(request.user, pk, request.data)
        return Response(_feature(project, request.user))

    @extend_schema(summary="Eliminar un proyecto (oficina de planeación; queda en el historial)",
                   operation_id="plan_project_delete", parameters=[ID],
                   responses={204: None, **errors(403, 404)})
    def delete(self, request, pk):
        access.require_office(request.user)
        portfolio.delete_project(request.user, pk)
        return Response(status=204)


class ProjectGeometry(APIView):
    throttle_scope = "jobs"
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="Subir la geometría de un proyecto (GeoPackage, Shapefile .zip o GeoJSON; cualquier CRS "
                           "declarado): reemplaza la actual y vuelve a derivar los municipios",
                   operation_id="plan_project_geometry", parameters=[ID],
                   request={"multipart/form-data": obj({"file": {"type": "string", "format": "binary"}}, ["file"])},
                   responses={200: PROJECT_FEATURE, **errors(403, 404, 413, 422)})
    def post(self, request, pk):
        access.require_office(request.user)  # before the upload is read
        check_size(request)
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidParameter(_("Adjunte el archivo (campo «file»): GeoPackage, Shapefile en .zip o GeoJSON."),
                                   parameter="file")
        project = portfolio.set_project_geometry(request.user, pk, upload.read(), upload.name)
        return Response(_feature(project, request.user))


class _Reports(APIView):
    kind = "project"
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    throttle_scope = "jobs"

    def report(self, request, pk):
        portfolio.require_report_permission(request.user, self.kind, pk)  # before a byte of the body is read
        check_size(request)
        evidence = request.FILES.get("evidence")
        data = request.data
        if evidence is not None or hasattr(data, "getlist"):
            data = {k: data.get(k) for k in data if k != "evidence"}
        report = portfolio.add_report(request.user, self.kind, pk, data, evidence)
        return Response(queries.report_dict(report, show_reporter=True), status=201)


class ProjectReports(_Reports):
    kind = "project"

    @extend_schema(summary="Reportar avance de un proyecto (entidad responsable u oficina); valor = avance físico %",
                   operation_id="plan_project_report", parameters=[ID],
                   request={"application/json": REPORT_BODY, "multipart/form-data": REPORT_BODY},
                   responses={201: REPORT, **errors(403, 404, 413)})
    def post(self, request, pk):
        return self.report(request, pk)


class GoalReports(_Reports):
    kind = "goal"

    @extend_schema(summary="Reportar el valor de una meta (entidad responsable u oficina)",
                   operation_id="plan_goal_report", parameters=[ID],
                   request={"application/json": REPORT_BODY, "multipart/form-data": REPORT_BODY},
                   responses={201: REPORT, **errors(403, 404, 413)})
    def post(self, request, pk):
        return self.report(request, pk)


class GoalList(APIView):
    @extend_schema(summary="Metas con su semáforo e historial (el público ve sólo las publicadas)",
                   operation_id="plan_goals_list",
                   parameters=[P("program", str), P("dimension", str), P("entity", str),
                               P("semaphore", {"type": "string", "enum": list(semaphore.STATES)})],
                   responses={200: array(GOAL), **errors()})
    def get(self, request):
        q = request.query_params
        qs = queries.goals_for(request.user)
        for key, lookup in (("program", "program__code"), ("dimension", "program__line__dimension__code"),
                            ("entity", "entity__code")):
            value = params.text(q.get(key), key, max_length=60)
            if value:
                qs = qs.filter(**{lookup: value})
        th, office = semaphore.thresholds(), access.is_office(request.user)
        items = [queries.goal_dict(g, th, show_reporter=office) for g in qs]
        return Response(queries.goal_semaphore_filter(items, q.get("semaphore")))

    @extend_schema(summary="Crear una meta (oficina de planeación)", operation_id="plan_goals_create",
                   request=doc.json_body(GOAL_BODY), responses={201: GOAL, **errors(403, 409)})
    def post(self, request):
        access.require_office(request.user)
        goal = portfolio.save_goal(request.user, request.data)
        return Response(queries.goal_dict(queries.goals_for(request.user).get(pk=goal.pk)), status=201)


class GoalDetail(APIView):
    @extend_schema(summary="Una meta con su semáforo e historial de reportes", operation_id="plan_goal_detail",
                   parameters=[ID], responses={200: GOAL, **errors(404)})
    def get(self, request, pk):
        g = access.get_visible(request.user, queries.goals_for(request.user), pk)
        return Response(queries.goal_dict(g, show_reporter=access.is_office(request.user)))

    @extend_schema(summary="Modificar una meta (oficina de planeación)", operation_id="plan_goal_update",
                   parameters=[ID], request=doc.json_body(_optional(GOAL_BODY)),
                   responses={200: GOAL, **errors(403, 404, 409)})
    def patch(self, request, pk):
        access.require_office(request.user)
        goal = portfolio.save_goal(request.user, request.data, pk)
        return Response(queries.goal_dict(queries.goals_for(request.user).get(pk=goal.pk)))


class Progress(APIView):
    @extend_schema(summary="Avance ponderado: proyectos → programas → líneas → dimensiones, y por subregión",
                   operation_id="plan_progress", parameters=FILTER_PARAMS,
                   responses={200: obj({"dimensions": array(OBJ), "unassigned": OBJ, "subregions": array(OBJ),
                                        "semaphores": OBJ, "projects": INT}), **errors()})
    def get(self, request):
        qs, _f = queries.filter_projects(queries.projects_for(request.user), request.query_params)
        th = semaphore.thresholds()
        counts = {k: 0 for k in semaphore.STATES}
        for p in qs:
            counts[queries.project_dict(p, th)["semaphore"]] += 1
        ids = list(qs.values_list("pk", flat=True))
        from plan.models import Project

        base = Project.objects.filter(pk__in=ids)
        return Response({**rollup.rollup(base), "subregions": rollup.by_subregion(base), "semaphores": counts,
                         "projects": len(ids)})


EXPORT_TYPES = ["text/csv; charset=utf-8", formats.FORMATS["xlsx"].content_type, formats.FORMATS["gpkg"].content_type,
                "application/geo+json", "text/html; charset=utf-8"]


class Export(APIView):
    throttle_scope = "downloads"

    @extend_schema(summary="Descargar el portafolio visible: csv (Excel es), xlsx, gpkg, geojson o html (mapa "
                           "autónomo sin internet)", operation_id="plan_export",
                   parameters=[doc.path_str("fmt", enum_values=list(exports.PATH_FORMATS)), *FILTER_PARAMS],
                   responses={**doc.binary(*EXPORT_TYPES), **errors(404)})
    def get(self, request, fmt):
        if fmt not in exports.PATH_FORMATS:
            raise NotFound(_("Formato desconocido «%(f)s»; válidos: %(v)s.") % {"f": fmt, "v": ", ".join(exports.PATH_FORMATS)})
        qs, _f = queries.filter_projects(queries.projects_for(request.user), request.query_params)
        body, stem, f = exports.render(fmt, qs, queries.goals_for(request.user))
        return formats.attachment(body, stem, f)


class Import(APIView):
    throttle_scope = "jobs"
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="Importar una plantilla CSV/XLSX (programas, proyectos, presupuestos, metas, reportes); "
                           "una fila mala y no se escribe nada", operation_id="plan_import",
                   request={"multipart/form-data": obj({"kind": enum(list(importing.KINDS)),
                                                        "file": {"type": "string", "format": "binary"}},
                                                       ["kind", "file"])},
                   responses={200: obj({"kind": STR, "rows": INT, "written": INT}), **errors(403, 413)})
    def post(self, request):
        if not (access.is_office(request.user) or access.entity_ids(request.user)):
            access.require_office(request.user)  # before the upload is read
        check_size(request)
        kind = params.choice(request.data.get("kind"), "kind", list(importing.KINDS), required=True)
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidParameter(_("Adjunte el archivo (campo «file»): CSV o XLSX."), parameter="file")
        return Response(importing.import_file(request.user, kind, upload.read(), upload.name))


class Template(APIView):
    @extend_schema(summary="Plantilla CSV vacía de una importación", operation_id="plan_template",
                   parameters=[doc.path_str("kind", enum_values=list(importing.KINDS))],
                   responses={**doc.binary("text/csv; charset=utf-8"), **errors(404)})
    def get(self, request, kind):
        if kind not in importing.KINDS:
            raise NotFound(_("No hay plantilla «%(k)s»; válidas: %(v)s.") % {"k": kind, "v": ", ".join(importing.KINDS)})
        return formats.attachment(importing.template(kind), f"plantilla_plan_{kind}", "csv")


class Evidence(APIView):
    @extend_schema(summary="Archivo de evidencia de un reporte (si su proyecto o meta es visible)",
                   operation_id="plan_evidence", parameters=[ID],
                   responses={**doc.binary(*sorted(set(CONTENT_TYPES.values()))), **errors(404)})
    def get(self, request, pk):
        r = ProgressReport.objects.filter(pk=pk).exclude(evidence_file="").first()
        target = r and (r.project or r.goal)
        if target is None or not access.visible(request.user, type(target).objects.filter(pk=target.pk)).exists():
            raise NotFound(_("No existe la evidencia %(id)s.") % {"id": pk})
        ext = r.evidence_file.name.rsplit(".", 1)[-1].lower()
        # the registry's format of the stored extension (checked by its first bytes at upload)
        return formats.attachment(Path(r.evidence_file.path), f"evidencia_{r.pk}", {"jpeg": "jpg"}.get(ext, ext))
