"""Corridors API (/api/v1/corridors/): options, start a run, poll, cancel, results, files. Thin views."""
from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.response import Response
from rest_framework.views import APIView

from geosig import formats, params
from geosig import openapi as doc
from geosig.errors import InvalidParameter, NotFound, PermissionDeniedError
from geosig.openapi import ANY, BOOL, DATETIME, INT, NUM, OBJ, STR, array, errors, nullable, obj
from jobs.models import Job
from layers.uploads import check_size, save_upload

from . import circuitscape_runs as cs_runs
from . import inputs, runs
from .models import CorridorRun
from .services import check_file_inputs, core_options

RUN_PERMISSION = "layers.add_corridorrun"  # groups «Analista CVC» and «Editor de capas» (migration 0005)


def require_runner(user) -> None:
    """Starting a run costs minutes of CPU and writes files: CVC roles only (cancelling: runs.may_cancel)."""
    if not user.is_authenticated:
        raise PermissionDeniedError(_("Ingrese con un usuario de la CVC (grupo «Analista CVC») para calcular corredores."))
    if not user.has_perm(RUN_PERMISSION):
        raise PermissionDeniedError(_("Su usuario no tiene el rol para calcular corredores (grupo «Analista CVC» o "
                                      "«Editor de capas»)."))


# Circuitscape's outputs by extension → their geosig.formats entry (text grids and tables, GeoTIFF maps)
CS_FORMATS = {".asc": "asc", ".out": "out", ".tif": "tif"}


DOWNLOAD_TYPES = sorted({formats.FORMATS[k].content_type for k in ("png", "tif", "gpkg", "csv", "json")})


def run_dict(run: CorridorRun, request) -> dict:
    base = request.build_absolute_uri(reverse("api-corridor-run", args=[run.pk]))
    return {
        "id": run.pk, "status": run.status, "status_label": str(run.get_status_display()), "progress": run.progress,
        "message": run.message, "error": run.error, "cancel_requested": run.cancel_requested,
        "created_at": run.created_at, "finished_at": run.finished_at, "params": run.params,
        "urls": {"self": base, "cancel": base + "cancel/", "results": base + "results/"},
    }


RUN = obj({
    "id": INT, "status": doc.enum(["pending", "running", "done", "failed", "cancelled"]), "status_label": STR,
    "progress": NUM, "message": STR, "error": STR, "cancel_requested": BOOL, "created_at": DATETIME,
    "finished_at": nullable(DATETIME), "params": OBJ, "urls": obj({"self": STR, "cancel": STR, "results": STR}),
})
RUN_ID = doc.path_id("id", "Número de la corrida")
_POSITIVE = {**NUM, "exclusiveMinimum": True, "minimum": 0}
RUN_BODY = obj({
    "cores": obj({"layer": STR, "ids": array(INT), "geojson": OBJ, "file": obj({"file": STR, "name": STR}),
                  "name_field": STR}, []),
    "resistance": {"oneOf": [STR, array(OBJ), obj({"raster": obj({"file": STR, "name": STR}), "layer": STR,
                                                  "table": obj({"file": STR, "name": STR})}, [])],
                   "description": "«derivada» (por defecto), una receta, o archivos subidos a inputs/: "
                                  "{\"raster\": …} (resistencia, en su propia grilla) o {\"raster\": …, \"table\": …} "
                                  "(cobertura + tabla clase → resistencia); {\"layer\": capa ráster del registro}"},
    "cell_size": {**NUM, "exclusiveMinimum": True, "minimum": 1,
                  "description": "m; obligatorio salvo con un ráster de resistencia (por defecto su celda)"},
    "base": {**NUM, "minimum": 0}, "project": STR, "width": _POSITIVE,
    "point_radius": {**NUM, "minimum": 0}, "max_link_cwd": _POSITIVE, "dispersal": _POSITIVE, "area_field": STR,
    "margin_m": {**NUM, "minimum": 0}, "pinch": BOOL,
    "circuit": {**obj({"connectivity": {"type": "integer", "enum": [4, 8]},
                       "averaging": doc.enum(["resistance", "conductance"]),
                       "combine": doc.enum(["max", "cumulative"])}, []),
                "description": "puntos de estrangulamiento como Circuitscape: 4 u 8 vecinos (8 por defecto), promedio "
                               "de resistencias o de conductancias («resistance» por defecto), corriente máxima o "
                               "acumulada sobre los vínculos («max» por defecto)"},
}, ["cores", "width"])


@extend_schema(summary="Opciones de la página de corredores: capas de núcleos, núcleos candidatos, fuentes de resistencia",
               parameters=[doc.query("layer", STR, "Capa de núcleos (por defecto la de áreas protegidas)")],
               responses={200: obj({"core_layers": array(OBJ), "layer": STR, "cores": array(OBJ),
                                    "raster_layers": array(OBJ), "vector_layers": array(OBJ), "sources": array(ANY),
                                    "dem_bounds": nullable(array(NUM)), "max_cells": INT}), **errors()})
class Options(APIView):
    """Core layers, the candidate cores of one layer (with DEM coverage), resistance sources, default recipe."""

    throttle_scope = "overlay"  # ?layer= reads every feature of any point/polygon layer and samples the DEM

    def get(self, request):
        return Response(core_options(request.query_params.get("layer")))


@extend_schema(methods=["POST"], summary="Calcular corredores (rol «Analista CVC» o «Editor de capas»)",
               request=doc.json_body(RUN_BODY),
               responses={202: RUN, 200: OpenApiResponse({**RUN, "properties": {**RUN["properties"], "cached": BOOL}},
                                                         description="Corrida idéntica ya calculada o en curso"),
                          **errors(403, 404, 409, 422)})
@extend_schema(methods=["GET"], summary="Últimas 20 corridas", responses={200: obj({"runs": array(RUN)}), **errors()})
class RunList(APIView):
    """POST parameters → 202 with the run (or 200 with an identical cached run)."""

    throttle_scope = {"POST": "jobs"}

    def post(self, request):
        require_runner(request.user)
        data = params.body(request.data)  # a JSON list or string is refused by name
        if not data:
            raise InvalidParameter(_("Envíe los parámetros de la corrida como JSON."))
        check_file_inputs(runs.normalise(dict(data)))  # cores outside an uploaded raster: 4xx, no run row
        background = getattr(settings, "CORRIDORS_BACKGROUND", True)
        run, cached = runs.start_run(dict(data), request.user, background=background)
        out = run_dict(run, request)
        out["cached"] = cached
        return Response(out, status=200 if cached else 202)

    def get(self, request):
        return Response({"runs": [run_dict(r, request) for r in CorridorRun.objects.all()[:20]]})


@extend_schema(summary="Estado de una corrida", parameters=[RUN_ID],
               responses={200: RUN, **errors(404)})
@extend_schema_view(get=extend_schema(operation_id="corridor_run_detail"))
class RunDetail(APIView):
    def get(self, request, pk):
        return Response(run_dict(runs.get_run(pk), request))


@extend_schema(summary="Cancelar una corrida", parameters=[RUN_ID], request=None,
               responses={200: RUN, **errors(403, 404, 409)})
class RunCancel(APIView):
    def post(self, request, pk):
        if not request.user.is_authenticated:
            raise PermissionDeniedError(_("Ingrese con el usuario que inició la corrida para cancelarla."))
        # the owner, or the «cancel any run» permission: checked on the run row, under its lock
        return Response(run_dict(runs.cancel_run(pk, request.user), request))


@extend_schema(summary="Resultados de una corrida terminada (mapa, informe, descargas)", parameters=[RUN_ID],
               responses={200: obj({**RUN["properties"], "report": OBJ, "map": OBJ, "current": nullable(OBJ),
                                    "downloads": OBJ}), **errors(404)})
class RunResults(APIView):
    def get(self, request, pk):
        run = runs.get_run(pk)
        base = request.build_absolute_uri(reverse("api-corridor-run", args=[run.pk]))
        mapdata, overlay = runs.read_results(run)
        if overlay is not None:
            overlay["url"] = f"{base}files/corriente.png"
        return Response({**run_dict(run, request), "report": run.report, "map": mapdata, "current": overlay,
                         "downloads": {f: f"{base}files/{f}" for f in run.report.get("files", [])}})


@extend_schema(summary="Un archivo de resultados de una corrida", parameters=[RUN_ID, doc.path_str("name", "Nombre del archivo")],
               responses={**doc.binary(*DOWNLOAD_TYPES), **errors(404)})
class RunFile(APIView):
    throttle_scope = "downloads"

    def get(self, request, pk, name):
        run = runs.get_run(pk)
        files = (run.report or {}).get("files", [])
        if run.status != CorridorRun.Status.DONE or name not in files + ["corriente.png"]:
            raise NotFound(_("La corrida %(id)s no tiene el archivo «%(name)s»; disponibles: %(files)s.")
                           % {"id": run.pk, "name": name, "files": ", ".join(files) or _("ninguno")})
        path = run.result_path / name
        if not path.is_file():
            raise NotFound(_("La corrida %(id)s no tiene el archivo «%(name)s».") % {"id": run.pk, "name": name})
        fmt = formats.for_extension(path.suffix)
        # the current-flow PNG is the map's overlay image (shown inline); the other results download
        return formats.attachment(path, f"corredores_{run.pk}_{name}", fmt, inline=fmt.key == "png")


@extend_schema(
    summary="Subir un archivo de entrada de corredores: núcleos (GeoPackage, GeoJSON, Shapefile .zip), ráster "
            "(GeoTIFF de resistencia o de cobertura) o tabla clase → resistencia (CSV)",
    request={"multipart/form-data": obj({"file": {"type": "string", "format": "binary"},
                                         "kind": doc.enum(list(inputs.KINDS))}, ["file", "kind"])},
    responses={201: obj({"file": STR, "name": STR, "kind": STR}), **errors(403, 413, 422)},
)
class InputUpload(APIView):
    """POST multipart (file, kind) → {"file", "name"}: the reference a run body uses in cores.file,
    resistance.raster or resistance.table. Checked with the same safe readers as layer uploads."""

    throttle_scope = "jobs"

    def post(self, request):
        require_runner(request.user)  # permission and size before Django reads the body
        check_size(request)
        kind = params.choice(request.data.get("kind"), "kind", list(inputs.KINDS), required=True)
        with save_upload(request, default_name="entrada") as (path, name):
            inputs.check_name(name, kind)
            ref = inputs.store(path, name, kind)
        return Response({**ref, "kind": kind}, status=201)


# ------------------------------------------------------------------------ Circuitscape's raster scenarios

CS_FILE = {"oneOf": [STR, obj({"file": STR, "name": STR, "kind": STR}, ["file"])],
           "description": "referencia devuelta por POST /api/v1/corridors/inputs/ (tipo grid o list)"}
CS_BODY = obj({
    "scenario": {**doc.enum(list(cs_runs.SCENARIOS)), "description": "modo de Circuitscape"},
    "output_file": {**STR, "description": "prefijo de las salidas (por defecto «circuitscape»)"},
    **{k: {**CS_FILE, "description": f"{CS_FILE['description']}; modos: {', '.join(s)}"
                                     + (f"; activa {sw}" if sw else "")}
       for k, (_kinds, s, sw) in cs_runs.FILES.items()},
    **{k: {**BOOL, "default": d} for k, d in cs_runs.FLAGS.items()},
    **{k: {**doc.enum(list(v)), "default": d} for k, (v, d) in cs_runs.CHOICES.items()},
    "cores": {**RUN_BODY["properties"]["cores"],
              "description": "entre núcleos (pairwise, one-to-all, all-to-one): los núcleos de una corrida de corredores "
                             "como regiones focales, en vez de habitat_file y point_file"},
    "resistance": {**RUN_BODY["properties"]["resistance"], "description": "con «cores»: la resistencia de la corrida "
                                                                          "(«derivada», receta, ráster subido o capa)"},
    "cell_size": {**RUN_BODY["properties"]["cell_size"], "description": "con «cores»: m (salvo con un ráster)"},
    "point_radius": RUN_BODY["properties"]["point_radius"], "margin_m": RUN_BODY["properties"]["margin_m"],
    "base": RUN_BODY["properties"]["base"],
}, ["scenario"])
CS_RUN = obj({
    "id": INT, "state": doc.enum([s.value for s in Job.State]), "state_label": STR, "progress": INT,
    "message": STR, "error": STR, "cancel_requested": BOOL, "created_at": DATETIME,
    "finished_at": nullable(DATETIME), "options": OBJ, "report": nullable(OBJ), "downloads": OBJ,
    "urls": obj({"self": STR, "cancel": STR}),
})
CS_DOWNLOAD_TYPES = sorted({formats.FORMATS[k].content_type for k in CS_FORMATS.values()})


def cs_run_dict(job: Job, request) -> dict:
    base = request.build_absolute_uri(reverse("api-circuitscape-run", args=[job.pk]))
    report = (job.result or {}).get("report") if job.state == Job.State.DONE else None
    return {
        "id": job.pk, "state": job.state, "state_label": str(job.get_state_display()), "progress": job.progress,
        "message": job.message, "error": job.error, "cancel_requested": job.cancel_requested,
        "created_at": job.created_at, "finished_at": job.finished_at, "options": job.params.get("options", {}),
        "report": report, "downloads": {f: f"{base}files/{f}" for f in (report or {}).get("files", [])},
        "urls": {"self": base, "cancel": base + "cancel/"},
    }


def _require_login(request) -> None:
    if not request.user.is_authenticated:
        raise PermissionDeniedError(_("Ingrese con el usuario que lanzó la corrida de Circuitscape."))


@extend_schema(methods=["POST"], summary="Correr un escenario ráster de Circuitscape (pairwise, one-to-all, "
                                         "all-to-one, advanced) con sus opciones (rol «Analista CVC» o «Editor de capas»)",
               request=doc.json_body(CS_BODY),
               responses={202: CS_RUN, 200: OpenApiResponse({**CS_RUN, "properties": {**CS_RUN["properties"],
                                                                                       "cached": BOOL}},
                                                            description="Corrida idéntica ya calculada o en curso"),
                          **errors(403, 404, 409, 422)})
@extend_schema(methods=["GET"], summary="Sus últimas 20 corridas de Circuitscape",
               responses={200: obj({"runs": array(CS_RUN)}), **errors(403)})
class CircuitscapeList(APIView):
    """POST Circuitscape's options (its .ini keys as JSON, files as upload references) → 202 with the job."""

    throttle_scope = {"POST": "jobs"}

    def post(self, request):
        require_runner(request.user)
        data = params.body(request.data)
        background = getattr(settings, "CORRIDORS_BACKGROUND", True)
        job, cached = cs_runs.start(dict(data), request.user, background=background)
        return Response({**cs_run_dict(job, request), "cached": cached}, status=200 if cached else 202)

    def get(self, request):
        _require_login(request)
        return Response({"runs": [cs_run_dict(j, request) for j in cs_runs.recent(request.user)]})


@extend_schema(summary="Estado y resultados de una corrida de Circuitscape (su dueño o el personal)",
               parameters=[RUN_ID], responses={200: CS_RUN, **errors(403, 404)})
@extend_schema_view(get=extend_schema(operation_id="circuitscape_run_detail"))
class CircuitscapeDetail(APIView):
    def get(self, request, pk):
        _require_login(request)
        return Response(cs_run_dict(cs_runs.get(pk, request.user), request))


@extend_schema(summary="Cancelar una corrida de Circuitscape", parameters=[RUN_ID], request=None,
               responses={200: CS_RUN, **errors(403, 404, 409)})
class CircuitscapeCancel(APIView):
    throttle_scope = "jobs"

    def post(self, request, pk):
        _require_login(request)
        return Response(cs_run_dict(cs_runs.cancel(pk, request.user), request))


@extend_schema(summary="Un archivo de resultados de Circuitscape, con su nombre de Circuitscape "
                       "(_resistances.out, _cum_curmap.asc, _curmap_<n>.asc, _voltmap_<n>.asc…)",
               parameters=[RUN_ID, doc.path_str("name", "Nombre del archivo")],
               responses={**doc.binary(*CS_DOWNLOAD_TYPES), **errors(403, 404)})
class CircuitscapeFile(APIView):
    throttle_scope = "downloads"

    def get(self, request, pk, name):
        _require_login(request)
        path = cs_runs.output_file(cs_runs.get(pk, request.user), name)
        return formats.attachment(path, name, CS_FORMATS[path.suffix.lower()])
