"""Omniscape runs as records and jobs: parameters checked before anything is stored, a unique cache key on the
inputs (identical request → the finished run at once), the «connectivity» job (progress, cancel within one
block, atomic publish), visibility and cancel rights.

A run row is unique per cache key (parameters + the resolved area's geometry + the last change of every registry
layer read + uploaded files, which are named by their content hash). A failed or cancelled run is started again on
the same row with a new job. Its state is its job's state.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext_lazy as _

from geosig import params as P
from geosig.errors import ConflictError, InvalidParameter, NotFound, PermissionDeniedError
from jobs import registry as job_kinds
from jobs import services as jobs
from jobs.models import Job
from jobs.registry import JobCancelled
from layers import hooks
from layers.corridors import runs as corridor_runs
from layers.corridors.corridor import Cancelled
from layers.models import Layer

from . import analysis
from .models import ConnectivityRun

JOB_KIND = "connectivity"
ENGINE_VERSION = 1  # bump when identical inputs would give other numbers
PARAMS = ("area", "resistance", "cell_size", "radius", "block_size", "r_cutoff")
AREA_KEYS = ("kind", "codes", "geojson")
MAX_CODES = 60
MAX_RADIUS = 300  # cells: a window of (2r + 1)² ≈ 360 000 nodes is already minutes per thousand windows
MAX_BLOCK = 51
RUN_PERMISSION = "layers.add_connectivityrun"  # «Analista CVC», «Editor de capas» (migration 0009)


def normalise(raw: dict) -> dict:
    """A request body → typed parameters (stored and hashed); every bad value is a Spanish 400 before any row."""
    unknown = sorted(set(raw) - set(PARAMS))
    if unknown:
        raise InvalidParameter(f"Parámetros desconocidos: {', '.join(unknown)}; válidos: {', '.join(PARAMS)}.")
    out = {"resistance": corridor_runs._resistance(raw.get("resistance"))}  # the corridors' resistance inputs
    from_file = isinstance(out["resistance"], dict)
    area = _area(raw.get("area"), required=not from_file)
    if area:
        out["area"] = area
    out["radius"] = P.integer(raw.get("radius"), "radius", minimum=1, maximum=MAX_RADIUS, required=True)
    block = P.integer(raw.get("block_size"), "block_size", minimum=1, maximum=MAX_BLOCK, default=1)
    if block % 2 == 0:
        raise InvalidParameter(f"«block_size» debe ser impar (el objetivo es la celda central del bloque); llegó "
                               f"{block}. Omniscape.jl usaría {block + 1}.", parameter="block_size")
    if block > 2 * out["radius"] + 1:
        raise InvalidParameter("«block_size» no puede ser mayor que la ventana (2 × radius + 1 celdas).",
                               parameter="block_size")
    out["block_size"] = block
    cell = P.number(raw.get("cell_size"), "cell_size", minimum=1.0, maximum=1e5, required=not from_file)
    if cell is not None:
        out["cell_size"] = cell
    cutoff = P.number(raw.get("r_cutoff"), "r_cutoff", minimum=0.0, exclusive_minimum=True, maximum=1e12)
    if cutoff is not None:
        out["r_cutoff"] = cutoff
    return out


def _area(raw, required: bool) -> dict | None:
    """{"kind": <registered kind>, "codes": [...]} or {"geojson": <polygon>}; unknown kinds list the valid ones."""
    if raw in (None, "", {}):
        if required:
            raise InvalidParameter("Falta «area»: {\"kind\": …, \"codes\": […]} (tipos: "
                                   f"{', '.join(sorted(hooks.AREA_RESOLVERS))}) o {{\"geojson\": polígono}}.",
                                   parameter="area")
        return None
    spec = P.mapping(raw, "area", required=True, allowed=AREA_KEYS)
    if spec.get("geojson") not in (None, "", {}):
        if spec.get("kind") not in (None, ""):
            raise InvalidParameter("«area»: indique «kind» + «codes» o «geojson», no ambos.", parameter="area")
        return {"geojson": P.json_mapping(spec["geojson"], "area.geojson")}
    kinds = sorted(hooks.AREA_RESOLVERS)
    kind = P.choice(spec.get("kind"), "area.kind", kinds, required=True)
    codes = P.text_list(spec.get("codes"), "area.codes", max_items=MAX_CODES, max_length=20)
    if not codes:
        choices = hooks.AREA_RESOLVERS[kind].choices()
        if len(choices) != 1:
            raise InvalidParameter(f"«area.codes»: elija al menos un código de «{kind}».", parameter="area.codes")
        codes = [choices[0][0]]
    return {"kind": kind, "codes": codes}


def cache_key(params: dict, polygon_wkb: bytes | None) -> str:
    """Parameters + the area's geometry + the last change of every registry layer they read (files are named by
    content): the same key means the same numbers."""
    res = params.get("resistance")
    if isinstance(res, list):
        slugs = {e.get("layer") or "dem-srtm3" for e in res}
    elif isinstance(res, dict):
        slugs = {res.get("layer")}
    else:
        slugs = {"dem-srtm3", "red-vial-nacional", "centros-poblados"}
    stamps = {s: str(Layer.objects.filter(slug=s).values_list("updated_at", flat=True).first())
              for s in sorted(x for x in slugs if x)}
    area = hashlib.sha256(polygon_wkb).hexdigest() if polygon_wkb else None
    blob = json.dumps({"v": ENGINE_VERSION, "params": params, "area": area, "layers": stamps}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _uses_files(params: dict) -> bool:
    res = params.get("resistance")
    return isinstance(res, dict) and "raster" in res


def start_run(raw: dict, user) -> tuple[ConnectivityRun, bool]:
    """(run, cached). Checks parameters, the area and the grid size first (400s, nothing stored); then the row
    for the cache key: finished with files → returned as is; active → returned; failed/cancelled → started again."""
    params = normalise(raw)
    polygon = None
    if params.get("area"):
        polygon, _label = analysis.resolve_area(params["area"])
        if not isinstance(params["resistance"], dict):
            analysis.area_grid(polygon, params["cell_size"])  # too many cells: a 400 here, not a failed job
    if isinstance(params["resistance"], dict):  # a raster: its header gives the grid (the job checks it again)
        analysis.check_raster_cells(params["resistance"], polygon, params.get("cell_size"))
    key = cache_key(params, shapely_wkb(polygon))
    with transaction.atomic():
        run, created = ConnectivityRun.objects.select_for_update().filter(cache_key=key).first(), False
        if run is None:
            try:
                with transaction.atomic():
                    run = ConnectivityRun.objects.create(cache_key=key, params=params, owner=_user(user),
                                                         public=not _uses_files(params))
                    created = True
            except IntegrityError:  # a parallel identical request created it first: wait for it, then read it
                run = ConnectivityRun.objects.select_for_update().get(cache_key=key)
        if not created and (_reusable(run) or (run.job_id and run.job.state in Job.ACTIVE)):
            return run, True
        run.owner, run.result_dir, run.report, run.notes = _user(user), "", {}, []
        run.job = jobs.enqueue(JOB_KIND, {"run": run.pk}, owner=user)  # same transaction: both or neither
        run.save(update_fields=["owner", "job", "result_dir", "report", "notes"])
    return run, False


def shapely_wkb(polygon) -> bytes | None:
    return None if polygon is None else polygon.wkb


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


def _reusable(run: ConnectivityRun) -> bool:
    return bool(run.job_id and run.job.state == Job.State.DONE and run.result_path and run.result_path.is_dir())


def status(run: ConnectivityRun) -> str:
    return run.job.state if run.job_id else Job.State.FAILED


# ------------------------------------------------------------------------------------------------ the job


class CancelProbe:
    """The engine's ``cancelled()``: reads the job's cancel flag on every call (at most every
    CONNECTIVITY_CANCEL_POLL_SECONDS; 0 = every call, one indexed read, well under 1 % of a window's solve), from
    whichever thread solves, through one private autocommit connection — so a cancel is seen before the next
    target block, not after a whole batch."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.interval = float(getattr(settings, "CONNECTIVITY_CANCEL_POLL_SECONDS", 0.0))
        self.lock = threading.Lock()
        self.flag = False
        self.last = 0.0
        self.conn = connection.get_new_connection(connection.get_connection_params())
        self.conn.autocommit = True
        self.sql = f"SELECT cancel_requested FROM {connection.ops.quote_name(Job._meta.db_table)} WHERE id = %s"

    def __call__(self) -> bool:
        if self.flag:
            return True
        with self.lock:
            now = time.monotonic()
            if not self.flag and now - self.last >= self.interval:
                self.last = now
                with self.conn.cursor() as cur:
                    cur.execute(self.sql, [self.job_id])
                    row = cur.fetchone()
                self.flag = bool(row and row[0])
        return self.flag

    def close(self) -> None:
        self.conn.close()


def runs_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "connectivity"


def _mirror(job: Job) -> None:
    """A finished job's result folder and report go to its run (the API reads them there)."""
    if job.state == Job.State.DONE:
        ConnectivityRun.objects.filter(pk=job.params.get("run"), job=job).update(
            result_dir=job.result.get("result_dir", ""), report=job.result.get("report", {}),
            notes=job.result.get("report", {}).get("notes", []))


@job_kinds.register(JOB_KIND, label=_("Conectividad omnidireccional (Omniscape)"), retries=1, on_change=_mirror)
def run_job(ctx, job_params: dict) -> dict:
    """Worker side: compute into the job's folder, publish it with one rename, return the report."""
    run = ConnectivityRun.objects.filter(pk=job_params.get("run")).first()
    if run is None:
        raise NotFound(f"No existe la corrida de conectividad {job_params.get('run')}.")
    probe = CancelProbe(ctx.job.pk)
    try:
        report = analysis.run_connectivity(run.params, ctx.workdir, progress=ctx.progress, cancelled=probe)
    except Cancelled:
        raise JobCancelled() from None
    finally:
        probe.close()
    ctx.check_cancelled()
    result_dir = ctx.publish(runs_root() / str(run.pk))
    return {"result_dir": result_dir, "report": report}


# ------------------------------------------------------------------------------------------------ access


def may_see(user, run: ConnectivityRun) -> bool:
    """Runs on the registry's data are public; a run on uploaded files is its owner's (and staff's)."""
    if run.public:
        return True
    return bool(getattr(user, "is_authenticated", False) and (run.owner_id == user.pk or user.is_staff))


def get_run(run_id, user) -> ConnectivityRun:
    run = ConnectivityRun.objects.select_related("job").filter(pk=run_id).first()
    if run is None or not may_see(user, run):
        raise NotFound(f"No existe la corrida de conectividad {run_id} (o no es pública).")
    return run


def cancel_run(run_id, user) -> ConnectivityRun:
    """The run's owner or a holder of ``jobs.cancel_any_job``; checked again under the job's row lock."""
    run = get_run(run_id, user)
    if run.job_id is None or run.job.state in Job.FINAL:
        raise ConflictError(f"La corrida {run.pk} ya terminó; no se puede cancelar.")
    if not (run.owner_id == user.pk or user.has_perm(jobs.CANCEL_ANY_PERMISSION)):
        raise PermissionDeniedError(f"La corrida {run.pk} es de otro usuario: solo quien la inició o un "
                                    "administrador la cancela.")
    jobs.cancel(run.job, user)
    run.refresh_from_db()
    return run


def require_runner(user) -> None:
    """Starting a run costs minutes of CPU: CVC roles only (checked before the body is parsed)."""
    if not user.is_authenticated:
        raise PermissionDeniedError("Ingrese con un usuario de la CVC (grupo «Analista CVC») para calcular la "
                                    "conectividad omnidireccional.")
    if not user.has_perm(RUN_PERMISSION):
        raise PermissionDeniedError("Su usuario no tiene el rol para calcular la conectividad omnidireccional "
                                    "(grupo «Analista CVC» o «Editor de capas»).")


def result_file(run: ConnectivityRun, name: str) -> Path:
    files = (run.report or {}).get("files", [])
    if status(run) != Job.State.DONE or name not in files or not run.result_path:
        raise NotFound(f"La corrida {run.pk} no tiene el archivo «{name}»; disponibles: "
                       f"{', '.join(files) or 'ninguno'}.")
    path = run.result_path / name
    if not path.is_file():
        raise NotFound(f"La corrida {run.pk} no tiene el archivo «{name}».")
    return path


__all__ = ["normalise", "start_run", "cancel_run", "get_run", "run_job", "CancelProbe"]
