"""Omnidirectional connectivity API (/api/v1/connectivity/): start a run (a job), poll, cancel, results, files,
map tiles. Thin views over ``runs`` and ``analysis``."""
from __future__ import annotations

from django.http import HttpResponse
from rasterio.enums import Resampling
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.response import Response
from rest_framework.views import APIView

from geosig import formats, params
from geosig import openapi as doc
from geosig.errors import InvalidParameter, NotFound, PermissionDeniedError
from geosig.openapi import BOOL, DATETIME, INT, NUM, OBJ, STR, array, errors, nullable, obj
from jobs.models import Job
from layers.services.tiles import empty_png, render_raster_tile

from . import analysis, runs
from .models import ConnectivityRun

STATES = ["queued", "running", "done", "failed", "cancelled"]


def run_dict(run: ConnectivityRun, request) -> dict:
    base = request.build_absolute_uri(reverse("api-connectivity-run", args=[run.pk]))
    job = run.job
    return {
        "id": run.pk, "job": run.job_id, "status": runs.status(run),
        "status_label": str(job.get_state_display()) if job else "", "progress": job.progress if job else 0,
        "message": job.message if job else "", "error": job.error if job else "",
        "cancel_requested": bool(job and job.cancel_requested), "created_at": run.created_at,
        "finished_at": job.finished_at if job else None, "params": run.params, "public": run.public,
        "area_label": (run.report or {}).get("area", ""),
        "urls": {"self": base, "cancel": base + "cancel/", "results": base + "results/"},
    }


RUN = obj({
    "id": INT, "job": nullable(INT), "status": doc.enum(STATES), "status_label": STR, "progress": NUM,
    "message": STR, "error": STR, "cancel_requested": BOOL, "created_at": DATETIME,
    "finished_at": nullable(DATETIME), "params": OBJ, "public": BOOL, "area_label": STR,
    "urls": obj({"self": STR, "cancel": STR, "results": STR}),
})
RUN_ID = doc.path_id("id", "Número de la corrida")
FILE_REF = obj({"file": STR, "name": STR}, ["file"])
RUN_BODY = obj({
    "area": {**obj({"kind": STR, "codes": array(STR), "geojson": OBJ}, []),
             "description": "{\"kind\": tipo registrado (departamento, subregion, municipio), \"codes\": [códigos]} "
                            "o {\"geojson\": polígono EPSG:4326}; opcional con un ráster de resistencia"},
    "resistance": {"oneOf": [STR, array(OBJ), obj({"raster": FILE_REF, "layer": STR, "table": FILE_REF}, [])],
                   "description": "«derivada» (por defecto), una receta de fuentes, un ráster del registro "
                                  "({\"layer\"}), o archivos subidos en /api/v1/corridors/inputs/: {\"raster\"} o "
                                  "{\"raster\", \"table\"} (cobertura + tabla clase → resistencia)"},
    "cell_size": {**NUM, "minimum": 1, "maximum": 1e5, "description": "m; obligatorio salvo con un ráster"},
    "radius": {**INT, "minimum": 1, "maximum": runs.MAX_RADIUS, "description": "celdas (como Omniscape.jl)"},
    "block_size": {**INT, "minimum": 1, "maximum": runs.MAX_BLOCK, "description": "celdas; impar"},
    "r_cutoff": {**NUM, "exclusiveMinimum": True, "minimum": 0,
                 "description": "fuente = 1/R solo donde R ≤ r_cutoff (por defecto sin corte)"},
}, ["radius"])
MAP_KEYS = list(analysis.MAPS)


@extend_schema(methods=["POST"], summary="Calcular conectividad omnidireccional (rol «Analista CVC» o «Editor de "
                                         "capas»)", request=doc.json_body(RUN_BODY),
               responses={202: RUN, 200: OpenApiResponse({**RUN, "properties": {**RUN["properties"], "cached": BOOL}},
                                                         description="Corrida idéntica ya calculada o en curso"),
                          **errors(403, 404, 409, 422)})
@extend_schema(methods=["GET"], summary="Últimas 20 corridas públicas", responses={200: obj({"runs": array(RUN)}),
                                                                                   **errors()})
class RunList(APIView):
    throttle_scope = {"POST": "jobs"}

    def post(self, request):
        runs.require_runner(request.user)  # before the body is parsed
        data = params.body(request.data)
        if not data:
            raise InvalidParameter("Envíe los parámetros de la corrida como JSON.")
        run, cached = runs.start_run(dict(data), request.user)
        out = run_dict(run, request)
        out["cached"] = cached
        return Response(out, status=200 if cached else 202)

    def get(self, request):
        qs = ConnectivityRun.objects.select_related("job").filter(public=True)[:20]
        return Response({"runs": [run_dict(r, request) for r in qs]})


@extend_schema(summary="Estado y avance de una corrida", parameters=[RUN_ID], responses={200: RUN, **errors(404)})
@extend_schema_view(get=extend_schema(operation_id="connectivity_run_detail"))
class RunDetail(APIView):
    def get(self, request, pk):
        return Response(run_dict(runs.get_run(pk, request.user), request))


@extend_schema(summary="Cancelar una corrida (se detiene antes del siguiente bloque)", parameters=[RUN_ID],
               request=None, responses={200: RUN, **errors(403, 404, 409)})
class RunCancel(APIView):
    def post(self, request, pk):
        if not request.user.is_authenticated:
            raise PermissionDeniedError("Ingrese con el usuario que inició la corrida para cancelarla.")
        return Response(run_dict(runs.cancel_run(pk, request.user), request))


LEGEND = obj({"title": STR, "file": STR, "kind": STR, "tiles": STR, "legend": array(OBJ), "style": OBJ})


@extend_schema(summary="Resultados: mapas (teselas y leyendas), clases de corriente normalizada, notas, descargas",
               parameters=[RUN_ID],
               responses={200: obj({**RUN["properties"], "report": OBJ, "maps": OBJ, "classes": array(OBJ),
                                    "notes": array(STR), "downloads": OBJ}), **errors(404)})
class RunResults(APIView):
    def get(self, request, pk):
        run = runs.get_run(pk, request.user)
        if runs.status(run) != Job.State.DONE or not run.report:
            raise NotFound(f"La corrida {run.pk} no tiene resultados todavía ({runs.status(run)}).")
        base = request.build_absolute_uri(reverse("api-connectivity-run", args=[run.pk]))
        maps = {k: {**m, "tiles": f"{base}tiles/{k}/{{z}}/{{x}}/{{y}}.png"} for k, m in run.report["maps"].items()}
        return Response({**run_dict(run, request), "report": run.report, "maps": maps,
                         "classes": run.report.get("classes", []), "notes": run.report.get("notes", []),
                         "downloads": {f: f"{base}files/{f}" for f in run.report.get("files", [])}})


@extend_schema(summary="Un archivo de resultados (GeoTIFF EPSG:9377 o informe JSON)",
               parameters=[RUN_ID, doc.path_str("name", "Nombre del archivo")],
               responses={**doc.binary("image/tiff", "application/json"), **errors(404)})
class RunFile(APIView):
    throttle_scope = "downloads"

    def get(self, request, pk, name):
        run = runs.get_run(pk, request.user)
        path = runs.result_file(run, name)
        return formats.attachment(path, f"conectividad_{run.pk}_{name}", formats.for_extension(path.suffix))


@extend_schema(summary="Tesela PNG de un mapa de resultados (reproyectado al vuelo a EPSG:3857)",
               parameters=[RUN_ID, doc.path_str("map", "Mapa", MAP_KEYS),
                           doc.path_id("z", "Zoom"), doc.path_id("x", "Columna"), doc.path_id("y", "Fila")],
               responses={**doc.binary("image/png"), **errors(400, 404)})
class RunTile(APIView):
    def get(self, request, pk, map, z, x, y):  # noqa: A002 - the URL's name
        run = runs.get_run(pk, request.user)
        spec = (run.report or {}).get("maps", {}).get(map)
        if spec is None or runs.status(run) != Job.State.DONE:
            raise NotFound(f"La corrida {run.pk} no tiene el mapa «{map}»; mapas: {', '.join(MAP_KEYS)}.")
        resampling = Resampling.nearest if spec["kind"] == "classes" else Resampling.bilinear
        data = render_raster_tile(runs.result_file(run, spec["file"]), z, x, y, spec["style"],
                                  run.report["grid"]["bounds_4326"], resampling) or empty_png()
        resp = HttpResponse(data, content_type="image/png")
        resp["Cache-Control"] = "public, max-age=86400"  # a run's files never change once published
        return resp
