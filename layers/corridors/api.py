"""Corridors API (/api/v1/corridors/): options, start a run, poll, cancel, results, files. Thin views."""
from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from rest_framework.response import Response
from rest_framework.views import APIView

from geosig import formats, params
from geosig.errors import InvalidParameter, NotFound, PermissionDeniedError

from . import runs
from .models import CorridorRun
from .services import core_options

RUN_PERMISSION = "layers.add_corridorrun"  # groups «Analista CVC» and «Editor de capas» (migration 0005)


def require_runner(user) -> None:
    """Starting a run costs minutes of CPU and writes files: CVC roles only (cancelling: runs.may_cancel)."""
    if not user.is_authenticated:
        raise PermissionDeniedError("Ingrese con un usuario de la CVC (grupo «Analista CVC») para calcular corredores.")
    if not user.has_perm(RUN_PERMISSION):
        raise PermissionDeniedError("Su usuario no tiene el rol para calcular corredores (grupo «Analista CVC» o «Editor de capas»).")


DOWNLOAD_TYPES = sorted({formats.FORMATS[k].content_type for k in ("png", "tif", "gpkg", "csv", "json")})


def run_dict(run: CorridorRun, request) -> dict:
    base = request.build_absolute_uri(reverse("api-corridor-run", args=[run.pk]))
    return {
        "id": run.pk, "status": run.status, "status_label": str(run.get_status_display()), "progress": run.progress,
        "message": run.message, "error": run.error, "cancel_requested": run.cancel_requested,
        "created_at": run.created_at, "finished_at": run.finished_at, "params": run.params,
        "urls": {"self": base, "cancel": base + "cancel/", "results": base + "results/"},
    }


class Options(APIView):
    """Core layers, the candidate cores of one layer (with DEM coverage), resistance sources, default recipe."""

    def get(self, request):
        return Response(core_options(request.query_params.get("layer")))


class RunList(APIView):
    """POST parameters → 202 with the run (or 200 with an identical cached run)."""

    throttle_scope = {"POST": "jobs"}

    def post(self, request):
        require_runner(request.user)
        data = params.body(request.data)  # a JSON list or string is refused by name
        if not data:
            raise InvalidParameter("Envíe los parámetros de la corrida como JSON.")
        background = getattr(settings, "CORRIDORS_BACKGROUND", True)
        run, cached = runs.start_run(dict(data), request.user, background=background)
        out = run_dict(run, request)
        out["cached"] = cached
        return Response(out, status=200 if cached else 202)

    def get(self, request):
        return Response({"runs": [run_dict(r, request) for r in CorridorRun.objects.all()[:20]]})


class RunDetail(APIView):
    def get(self, request, pk):
        return Response(run_dict(runs.get_run(pk), request))


class RunCancel(APIView):
    def post(self, request, pk):
        if not request.user.is_authenticated:
            raise PermissionDeniedError("Ingrese con el usuario que inició la corrida para cancelarla.")
        # the owner, or the «cancel any run» permission: checked on the run row, under its lock
        return Response(run_dict(runs.cancel_run(pk, request.user), request))


class RunResults(APIView):
    def get(self, request, pk):
        run = runs.get_run(pk)
        base = request.build_absolute_uri(reverse("api-corridor-run", args=[run.pk]))
        mapdata, overlay = runs.read_results(run)
        if overlay is not None:
            overlay["url"] = f"{base}files/corriente.png"
        return Response({**run_dict(run, request), "report": run.report, "map": mapdata, "current": overlay,
                         "downloads": {f: f"{base}files/{f}" for f in run.report.get("files", [])}})


class RunFile(APIView):
    throttle_scope = "downloads"

    def get(self, request, pk, name):
        run = runs.get_run(pk)
        files = (run.report or {}).get("files", [])
        if run.status != CorridorRun.Status.DONE or name not in files + ["corriente.png"]:
            raise NotFound(f"La corrida {run.pk} no tiene el archivo «{name}»; disponibles: {', '.join(files) or 'ninguno'}.")
        path = run.result_path / name
        if not path.is_file():
            raise NotFound(f"La corrida {run.pk} no tiene el archivo «{name}».")
        fmt = formats.for_extension(path.suffix)
        # the current-flow PNG is the map's overlay image (shown inline); the other results download
        return formats.attachment(path, f"corredores_{run.pk}_{name}", fmt, inline=fmt.key == "png")
