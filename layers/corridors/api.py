"""Corridors API (/api/v1/corridors/): options, start a run, poll, cancel, results, files. Thin views."""
from __future__ import annotations

import json

import numpy as np

from django.conf import settings
from django.http import FileResponse
from django.urls import reverse
from rest_framework.response import Response
from rest_framework.views import APIView

from geosig.errors import InvalidParameter, NotFound, PermissionDeniedError
from layers.models import Feature, Layer

from . import runs
from .models import CorridorRun
from .resistance import DERIVED_LABEL, DERIVED_RECIPE, SOURCES
from .services import max_cells

DEFAULT_CORE_LAYER = "runap-centroides"
RUN_PERMISSION = "layers.add_corridorrun"  # groups «Analista CVC» and «Editor de capas» (migration 0005)


def require_runner(user) -> None:
    """Starting or cancelling a run costs minutes of CPU and writes files: CVC roles only."""
    if not user.is_authenticated:
        raise PermissionDeniedError("Ingrese con un usuario de la CVC (grupo «Analista CVC») para calcular corredores.")
    if not user.has_perm(RUN_PERMISSION):
        raise PermissionDeniedError("Su usuario no tiene el rol para calcular corredores (grupo «Analista CVC» o «Editor de capas»).")
# RUNAP categories pre-selected on the page (large public areas; the 187 private reserves stay optional).
DEFAULT_CATEGORIES = ("Parque Nacional Natural", "Parques Naturales Regionales",
                      "Reservas Forestales Protectoras Nacionales")
DOWNLOAD_TYPES = {".png": "image/png", ".tif": "image/tiff", ".gpkg": "application/geopackage+sqlite3", ".csv": "text/csv",
                  ".json": "application/json"}


def run_dict(run: CorridorRun, request) -> dict:
    base = request.build_absolute_uri(reverse("api-corridor-run", args=[run.pk]))
    return {
        "id": run.pk, "status": run.status, "status_label": str(run.get_status_display()), "progress": run.progress,
        "message": run.message, "error": run.error, "cancel_requested": run.cancel_requested,
        "created_at": run.created_at, "finished_at": run.finished_at, "params": run.params,
        "urls": {"self": base, "cancel": base + "cancel/", "results": base + "results/"},
    }


def _on_dem(dem: Layer | None, pts) -> list[bool]:
    """True where the DEM has data under the point (the DEM covers only the department south of 4°N)."""
    if dem is None or not dem.raster_path or not dem.raster_path.is_file() or not pts:
        return [False] * len(pts)
    import rasterio

    with rasterio.open(dem.raster_path) as src:
        b = src.bounds
        out = []
        for p, v in zip(pts, src.sample([(p.x, p.y) for p in pts], masked=True)):
            inside = b.left < p.x < b.right and b.bottom < p.y < b.top
            out.append(bool(inside and not np.ma.is_masked(v[0])))
    return out


class Options(APIView):
    """Core layers, the candidate cores of one layer (with DEM coverage), resistance sources, default recipe."""

    def get(self, request):
        slug = request.query_params.get("layer") or DEFAULT_CORE_LAYER
        layers = Layer.objects.filter(kind=Layer.Kind.VECTOR,
                                      geometry_type__in=[Layer.GeometryType.POINT, Layer.GeometryType.POLYGON])
        dem = Layer.objects.filter(slug="dem-srtm3").first()
        cover = (dem.raster_meta or {}).get("bounds") if dem else None
        cores = []
        layer = layers.filter(slug=slug).first()
        if layer:
            feats = list(Feature.objects.filter(layer=layer).order_by("fid"))
            pts = [f.geom.point_on_surface if f.geom.geom_type != "Point" else f.geom for f in feats]
            on_dem = _on_dem(dem, pts)
            for f, p, inside in zip(feats, pts, on_dem):
                name = f.attributes.get(layer.label_field) if layer.label_field else None
                cores.append({"fid": f.fid, "name": name or f"{layer.title} #{f.fid}", "class": f.class_value,
                              "lon": round(p.x, 5), "lat": round(p.y, 5), "in_dem": inside,
                              "default": inside and f.class_value in DEFAULT_CATEGORIES and p.y < cover[3] - 0.07})
        return Response({
            "core_layers": [{"slug": l.slug, "title": l.title, "geometry_type": l.geometry_type} for l in layers],
            "layer": slug, "cores": cores,
            "raster_layers": [{"slug": l.slug, "title": l.title} for l in Layer.objects.filter(kind=Layer.Kind.RASTER)],
            "vector_layers": [{"slug": l.slug, "title": l.title} for l in Layer.objects.filter(kind=Layer.Kind.VECTOR)],
            "sources": list(SOURCES), "derived_recipe": DERIVED_RECIPE, "derived_label": DERIVED_LABEL,
            "dem_bounds": cover, "max_cells": max_cells(),
        })


class RunList(APIView):
    """POST parameters → 202 with the run (or 200 with an identical cached run)."""

    def post(self, request):
        require_runner(request.user)
        data = request.data if isinstance(request.data, dict) else {}
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
        require_runner(request.user)
        return Response(run_dict(runs.cancel_run(pk), request))


class RunResults(APIView):
    def get(self, request, pk):
        run = runs.get_run(pk)
        if run.status != CorridorRun.Status.DONE or not run.result_path or not run.result_path.is_dir():
            raise NotFound(f"La corrida {run.pk} no tiene resultados ({run.get_status_display().lower()}).")
        base = request.build_absolute_uri(reverse("api-corridor-run", args=[run.pk]))
        mapdata = json.loads((run.result_path / "mapa.json").read_text(encoding="utf-8"))
        overlay = None
        if (run.result_path / "corriente.json").is_file():
            overlay = json.loads((run.result_path / "corriente.json").read_text(encoding="utf-8"))
            overlay["url"] = f"{base}files/corriente.png"
        return Response({**run_dict(run, request), "report": run.report, "map": mapdata, "current": overlay,
                         "downloads": {f: f"{base}files/{f}" for f in run.report.get("files", [])}})


class RunFile(APIView):
    def get(self, request, pk, name):
        run = runs.get_run(pk)
        files = (run.report or {}).get("files", [])
        if run.status != CorridorRun.Status.DONE or name not in files + ["corriente.png"]:
            raise NotFound(f"La corrida {run.pk} no tiene el archivo «{name}»; disponibles: {', '.join(files) or 'ninguno'}.")
        path = run.result_path / name
        ext = path.suffix.lower()
        if not path.is_file():
            raise NotFound(f"La corrida {run.pk} no tiene el archivo «{name}».")
        return FileResponse(open(path, "rb"), as_attachment=ext != ".png", filename=f"corredores_{run.pk}_{name}",
                            content_type=DOWNLOAD_TYPES.get(ext, "application/octet-stream"))
