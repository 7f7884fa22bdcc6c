"""Corridor runs as database records: cache by inputs hash, execution as a durable job, progress, cancel.

The web process stores the run and enqueues a ``corridors`` job (``jobs``, on PostgreSQL) in the same
transaction; ``python manage.py geosig_worker`` runs it, so a web worker restart, timeout or deploy no longer
kills a run. Results are written into the job's work folder (``MEDIA_ROOT/jobs/.tmp-<job>/``) and renamed to
``MEDIA_ROOT/corridors/<id>/`` only on success: a cancelled, failed or killed run leaves nothing half-written.
The run row mirrors its job's state (``_mirror``), so the corridor API and page read as before.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geosig import params
from geosig.errors import ConflictError, InvalidParameter, NotFound, PermissionDeniedError
from jobs import registry as job_kinds
from jobs import services as jobs
from jobs.models import Job
from jobs.registry import JobCancelled
from layers.models import Layer

from .circuit import AVERAGING
from .corridor import Cancelled
from .models import CorridorRun
from .resistance import SOURCES
from .services import _jsonable, run_corridors

log = logging.getLogger(__name__)
PARAMS = ("cores", "resistance", "cell_size", "width", "point_radius", "max_link_cwd", "dispersal", "area_field",
          "margin_m", "pinch", "base", "project", "circuit")
ENGINE_VERSION = 2  # bump when results of identical inputs would change (2: core cells carry their total current)
# parameter → (minimum, minimum excluded): the ranges run_corridors / rasterize_cores / corridors / network enforce;
# every number is also finite and at most MAX_DISTANCE (metres or cost units: far beyond any Valle-sized analysis)
NUMBER_RANGES = {"cell_size": (1.0, True), "width": (0.0, True), "point_radius": (0.0, False),
                 "max_link_cwd": (0.0, True), "dispersal": (0.0, True), "margin_m": (0.0, False)}
MAX_DISTANCE = 1e9
MAX_CORE_IDS = 5000  # features picked as cores
MAX_RECIPE = 20  # sources of one resistance recipe
CORE_KEYS = ("layer", "ids", "classes", "geojson", "file", "name_field")
# what a user may set in one resistance entry ("data" is filled in by the service, never by the request)
ENTRY_TEXTS = ("layer", "label", "resampling")
ENTRY_NUMBERS = {"weight": (None, False), "reference": (None, False), "scale": (0.0, True), "buffer": (0.0, False)}
FILE_REF = re.compile(r"^[0-9a-f]{32}\.(gpkg|geojson|json|zip|tif|tiff|csv)$")  # layers.corridors.inputs.REF
CIRCUIT_DEFAULTS = {"connectivity": 8, "averaging": "resistance", "combine": "max"}
COMBINE = ("max", "cumulative")
ACTIVE_LOCK = 0x636F7272  # pg_advisory_xact_lock key serialising the active-run cap ("corr")


def normalise(raw: dict) -> dict:
    """A run request → its typed parameters (stored with the run and hashed), checked by ``geosig.params``
    before any run row exists: a bad value is a 400 and nothing is stored."""
    unknown = sorted(set(raw) - set(PARAMS))
    if unknown:
        raise InvalidParameter(f"Parámetros desconocidos: {', '.join(unknown)}; válidos: {', '.join(PARAMS)}.")
    out = {"cores": _cores(raw.get("cores")), "resistance": _resistance(raw.get("resistance"))}
    from_file = isinstance(out["resistance"], dict)  # a resistance raster: its own cell size unless one is given
    for k, (minimum, strict) in NUMBER_RANGES.items():
        value = params.number(raw.get(k), k, minimum=minimum, exclusive_minimum=strict, maximum=MAX_DISTANCE,
                              required=k == "width" or (k == "cell_size" and not from_file))
        if value is not None:
            out[k] = value
    area_field = params.text(raw.get("area_field"), "area_field", max_length=100)
    if area_field:
        out["area_field"] = area_field
    out["pinch"] = params.boolean(raw.get("pinch"), "pinch", default=True)
    if raw.get("circuit") not in (None, "", {}):
        circuit = circuit_options(raw["circuit"])
        if circuit != CIRCUIT_DEFAULTS:  # the defaults are stored as absent: same hash as a run without them
            out["circuit"] = circuit
    base = params.number(raw.get("base"), "base", minimum=0.0, maximum=MAX_DISTANCE)
    if base is not None:
        out["base"] = base
    project = params.text(raw.get("project"), "project", max_length=40)
    if project:
        out["project"] = project
    return out


def circuit_options(raw) -> dict:
    """{"connectivity": 4|8, "averaging": "resistance"|"conductance", "combine": "max"|"cumulative"} for the
    pinch points (Circuitscape's connect_four_neighbors_only, connect_using_avg_resistances, and the maximum
    or the cumulative current over the links); absent keys take the defaults 8, "resistance", "max"."""
    c = params.mapping(raw, "circuit", allowed=CIRCUIT_DEFAULTS)
    return {
        "connectivity": int(params.choice(None if c.get("connectivity") is None else str(c["connectivity"]),
                                          "circuit.connectivity", ("4", "8"), default="8")),
        "averaging": params.choice(c.get("averaging"), "circuit.averaging", AVERAGING, default="resistance"),
        "combine": params.choice(c.get("combine"), "circuit.combine", COMBINE, default="max"),
    }


def _cores(raw) -> dict:
    """{"layer": slug, "ids": [fid…], "classes": [class…]} and/or {"geojson": FeatureCollection}."""
    cores = params.mapping(raw, "cores", required=True, allowed=CORE_KEYS)
    out = {}
    if cores.get("layer") not in (None, ""):
        out["layer"] = params.text(cores["layer"], "cores.layer", max_length=80)
    if cores.get("ids") not in (None, "", []):
        out["ids"] = params.id_list(cores["ids"], "cores.ids", max_items=MAX_CORE_IDS, minimum=0)
    if cores.get("classes") not in (None, "", []):
        out["classes"] = params.text_list(cores["classes"], "cores.classes", max_items=500, max_length=200)
    if cores.get("geojson") not in (None, "", {}):
        out["geojson"] = params.json_mapping(cores["geojson"], "cores.geojson")
    if cores.get("file") not in (None, "", {}):
        out["file"] = _file_ref(cores["file"], "cores.file")
    if cores.get("name_field") not in (None, ""):
        out["name_field"] = params.text(cores["name_field"], "cores.name_field", max_length=100)
    return out


def _file_ref(raw, name: str) -> dict:
    """{"file": "<hash>.<ext>", "name": original name} of a file in the corridor input store (never a path)."""
    ref = params.mapping(raw, name, required=True, allowed=("file", "name"))
    out = {"file": params.text(ref.get("file"), f"{name}.file", max_length=50, required=True)}
    if not FILE_REF.match(out["file"]):
        raise InvalidParameter(f"«{name}» debe ser la referencia que devolvió la subida del archivo "
                               "(POST /api/v1/corridors/inputs/).", parameter=name)
    label = params.text(ref.get("name"), f"{name}.name", max_length=200)
    if label:
        out["name"] = label
    return out


def _resistance(raw):
    """«derivada» (the default recipe) or a list of source entries (also as {"entries": […]})."""
    if isinstance(raw, dict) and "entries" in raw:
        raw = raw["entries"]
    if raw is None or isinstance(raw, str):
        return params.choice(raw, "resistance", ("derivada",), default="derivada")
    if isinstance(raw, dict):  # a resistance raster file, or a land-cover raster file + class table file
        spec = params.mapping(raw, "resistance", required=True, allowed=("raster", "layer", "table"))
        if spec.get("layer") not in (None, ""):  # a registry raster layer, analysed on its stored (native) grid
            if spec.get("raster") not in (None, "", {}):
                raise InvalidParameter("«resistance»: indique «raster» (archivo subido) o «layer» (capa del registro), "
                                       "no ambos.", parameter="resistance")
            out = {"layer": params.text(spec["layer"], "resistance.layer", max_length=80)}
        else:
            out = {"raster": _file_ref(spec.get("raster"), "resistance.raster")}
        if spec.get("table") not in (None, "", {}):
            out["table"] = _file_ref(spec["table"], "resistance.table")
        return out
    if not isinstance(raw, list):
        raise InvalidParameter("«resistance» debe ser «derivada» o una lista de fuentes (o {\"raster\": archivo "
                               "subido, \"table\": …}); recibido "
                               f"{type(raw).__name__}.", parameter="resistance")
    if len(raw) > MAX_RECIPE:
        raise InvalidParameter(f"«resistance» admite como máximo {MAX_RECIPE} fuentes.", parameter="resistance")
    return params.each(raw, "resistance", _entry, lambda n, _item, why: f"Resistencia, fuente n.º {n}: {why}")


def _entry(raw) -> dict:
    entry = params.mapping(raw, "fuente", required=True,
                           allowed=("source", "absolute", "table", *ENTRY_TEXTS, *ENTRY_NUMBERS))
    out = {"source": params.choice(entry.get("source"), "source", list(SOURCES), required=True)}
    for k in ENTRY_TEXTS:
        if entry.get(k) not in (None, ""):
            out[k] = params.text(entry[k], k, max_length=200)
    for k, (minimum, strict) in ENTRY_NUMBERS.items():
        if entry.get(k) is not None:
            out[k] = params.number(entry[k], k, minimum=minimum, exclusive_minimum=strict, maximum=MAX_DISTANCE)
    if "absolute" in entry:
        out["absolute"] = params.boolean(entry["absolute"], "absolute")
    if entry.get("table") is not None:
        table = params.mapping(entry["table"], "table")
        if len(table) > 1000:
            raise InvalidParameter("«table» admite como máximo 1000 clases.", parameter="table")
        out["table"] = {str(params.number(k, "table (clase)")): params.number(v, "table (resistencia)", minimum=0)
                        for k, v in table.items()}
    return out


def inputs_hash(params: dict) -> str:
    """Parameters + the last change of every registry layer they read: same hash = same result."""
    if not isinstance(params.get("cores"), dict):
        raise InvalidParameter("Falta el parámetro cores: {\"layer\": …, \"ids\": […]} y/o {\"geojson\": …}.")
    slugs = {params["cores"].get("layer")}
    res = params.get("resistance")
    if isinstance(res, list):
        slugs |= {e.get("layer") for e in res if isinstance(e, dict) and e.get("layer")}
    elif isinstance(res, dict):
        slugs.add(res.get("layer"))  # a file is named by its content hash; a registry raster by its last change
    else:
        slugs |= {"dem-srtm3", "red-vial-nacional", "centros-poblados"}
    stamps = {s: str(Layer.objects.filter(slug=s).values_list("updated_at", flat=True).first()) for s in sorted(x for x in slugs if x)}
    blob = json.dumps({"v": ENGINE_VERSION, "params": params, "layers": stamps}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def runs_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "corridors"


def check_room() -> None:
    """Under ACTIVE_LOCK: a 409 when CORRIDORS_MAX_ACTIVE corridor and Circuitscape runs are already queued or
    running. Both kinds count against one cap, whichever is started: the server's two cores are shared, and more
    parallel runs would only slow every one of them down."""
    limit = int(getattr(settings, "CORRIDORS_MAX_ACTIVE", 2))
    n_busy = (CorridorRun.objects.filter(status__in=[CorridorRun.Status.PENDING, CorridorRun.Status.RUNNING]).count()
              + Job.objects.filter(kind=circuitscape_runs.JOB_KIND, state__in=Job.ACTIVE).count())
    if n_busy >= limit:
        raise ConflictError(f"Ya hay {n_busy} corrida(s) de corredores o de Circuitscape en curso (máximo {limit}); "
                            "espere a que terminen o cancele una.")


def start_run(params: dict, user=None, background: bool = True) -> tuple[CorridorRun, bool]:
    """Return (run, cached). An identical finished run with its files still on disk is returned as is."""
    params = normalise(params)
    h = inputs_hash(params)
    for done in CorridorRun.objects.filter(inputs_hash=h, status=CorridorRun.Status.DONE):
        if done.result_path and done.result_path.is_dir():
            return done, True
    _expire_stale()
    with transaction.atomic():
        # Check and create under one lock: two parallel requests would otherwise both see room for a run.
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [ACTIVE_LOCK])
        busy = CorridorRun.objects.filter(status__in=[CorridorRun.Status.PENDING, CorridorRun.Status.RUNNING])
        active = busy.filter(inputs_hash=h).first()
        if active:
            return active, True
        check_room()
        run = CorridorRun.objects.create(inputs_hash=h, params=params,
                                         created_by=user if getattr(user, "is_authenticated", False) else None)
        jobs.enqueue(JOB_KIND, {"run": run.pk}, owner=user)  # same transaction: both rows or neither
    if not background:
        execute(run.pk)
        run.refresh_from_db()
    return run, False


def _job_of(run_id: int) -> Job | None:
    return Job.objects.filter(kind=JOB_KIND, params__run=run_id).order_by("-pk").first()


def _expire_stale() -> None:
    """A run without a live job (a row from before the job queue, or whose job row was deleted) still
    'running' long after it started lost its process: mark it failed, so an identical request starts afresh.
    Runs with a job are looked after by the workers (dead workers' jobs are re-queued or failed)."""
    minutes = int(getattr(settings, "CORRIDORS_STALE_MINUTES", 60))
    limit = timezone.now() - timedelta(minutes=minutes)
    queued = Job.objects.filter(kind=JOB_KIND, state__in=Job.ACTIVE).values_list("params__run", flat=True)
    CorridorRun.objects.filter(status__in=[CorridorRun.Status.PENDING, CorridorRun.Status.RUNNING],
                               created_at__lt=limit).exclude(pk__in=[r for r in queued if r]).update(
        status=CorridorRun.Status.FAILED, message="Interrumpida",
        error=f"La corrida no terminó en {minutes} minutos (¿se reinició el servidor?). Vuelva a lanzarla.",
        finished_at=timezone.now())


def execute(run_id: int) -> None:
    """Run this run's job now, in this process (``CORRIDORS_BACKGROUND = False``, tests), through the same
    job code the worker runs; a run without a job (older rows) gets one."""
    job = _job_of(run_id)
    if job is None or job.state not in Job.ACTIVE:
        job = jobs.enqueue(JOB_KIND, {"run": run_id})
    jobs.run_inline(job)


JOB_KIND = "corridors"
RUN_STATUS = {Job.State.QUEUED: CorridorRun.Status.PENDING, Job.State.RUNNING: CorridorRun.Status.RUNNING,
              Job.State.DONE: CorridorRun.Status.DONE, Job.State.FAILED: CorridorRun.Status.FAILED,
              Job.State.CANCELLED: CorridorRun.Status.CANCELLED}


def _mirror(job: Job) -> None:
    """The run row follows its job's state (the corridor API and page read the run)."""
    fields = {"status": RUN_STATUS[job.state], "message": job.message[:300], "error": job.error}
    if job.state == Job.State.RUNNING:
        fields.update(started_at=job.started_at, progress=0)
    elif job.state == Job.State.QUEUED:
        fields["progress"] = 0
    elif job.state == Job.State.DONE:
        fields.update(progress=100, result_dir=job.result.get("result_dir", ""), report=job.result.get("report", {}))
    elif job.state == Job.State.CANCELLED:
        fields["message"] = "Cancelada por el usuario"
    if job.state in Job.FINAL:
        fields["finished_at"] = job.finished_at
    CorridorRun.objects.filter(pk=job.params.get("run")).update(**fields)


@job_kinds.register(JOB_KIND, label=_("Corredores ecológicos"), retries=1, on_change=_mirror)
def run_job(ctx, job_params: dict) -> dict:
    """The worker side: compute the run into the job's work folder, publish it atomically, return the report."""
    run = CorridorRun.objects.filter(pk=job_params.get("run")).first()
    if run is None:
        raise NotFound(f"No existe la corrida de corredores {job_params.get('run')}.")
    if run.cancel_requested:
        raise JobCancelled()
    last = {"t": 0.0}

    def progress(pct: int, msg: str) -> None:
        ctx.progress(pct, msg)  # job row: progress, heartbeat; raises JobCancelled when asked to stop
        now = time.monotonic()
        if now - last["t"] > 0.3 or pct >= 100:
            last["t"] = now
            CorridorRun.objects.filter(pk=run.pk).update(progress=min(100, max(0, int(pct))), message=msg[:300])

    p = run.params
    try:
        report = run_corridors(
            p["cores"], p.get("resistance"), p.get("cell_size"), p["width"], out_dir=ctx.workdir,
            point_radius=p.get("point_radius"), max_link_cwd=p.get("max_link_cwd"), dispersal=p.get("dispersal"),
            area_field=p.get("area_field"), margin_m=p.get("margin_m", 5000.0), pinch=p.get("pinch", True),
            base=p.get("base", 1.0), project=p.get("project", "corredores"), circuit=p.get("circuit"),
            progress=progress, cancelled=ctx.cancelled,
        )
    except Cancelled:
        raise JobCancelled() from None
    ctx.check_cancelled()
    result_dir = ctx.publish(runs_root() / str(run.pk))  # one rename: complete results or none
    return {"result_dir": result_dir, "report": _jsonable(report.as_dict())}


def get_run(run_id) -> CorridorRun:
    run = CorridorRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"No existe la corrida de corredores {run_id}.")
    return run


def read_results(run: CorridorRun) -> tuple[dict, dict | None]:
    """The map layers (mapa.json) and the current-density overlay bounds (corriente.json, None without pinch
    points) of a finished run."""
    path = run.result_path
    if run.status != CorridorRun.Status.DONE or not path or not path.is_dir():
        raise NotFound(f"La corrida {run.pk} no tiene resultados ({run.get_status_display().lower()}).")
    mapdata = json.loads((path / "mapa.json").read_text(encoding="utf-8"))
    overlay = None
    if (path / "corriente.json").is_file():
        overlay = json.loads((path / "corriente.json").read_text(encoding="utf-8"))
    return mapdata, overlay


CANCEL_ANY_PERMISSION = "layers.cancel_any_corridorrun"


def may_cancel(user, run: CorridorRun) -> bool:
    """The run's owner, or a user with the cancel-any permission (superusers have every permission)."""
    if user is None or not user.is_authenticated:
        return False
    return (run.created_by_id is not None and run.created_by_id == user.pk) or user.has_perm(CANCEL_ANY_PERMISSION)


def cancel_run(run_id, user) -> CorridorRun:
    get_run(run_id)  # 404 before anything else
    with transaction.atomic():
        run = CorridorRun.objects.select_for_update().get(pk=run_id)
        if not may_cancel(user, run):
            raise PermissionDeniedError(
                f"La corrida {run.pk} es de otro usuario: solo quien la inició o un revisor de la CVC la cancela.")
        if run.status in (CorridorRun.Status.DONE, CorridorRun.Status.FAILED, CorridorRun.Status.CANCELLED):
            raise ConflictError(f"La corrida {run.pk} ya terminó ({run.get_status_display().lower()}); "
                                "no se puede cancelar.")
        run.cancel_requested = True
        fields = ["cancel_requested"]
        if run.status == CorridorRun.Status.PENDING:
            run.status, run.message = CorridorRun.Status.CANCELLED, "Cancelada"
            fields += ["status", "message"]
        run.save(update_fields=fields)
        job = _job_of(run.pk)
        if job is not None and job.state in Job.ACTIVE:
            jobs.request_cancel(job)  # a queued job leaves the queue; a running one stops at its next stage
            run.refresh_from_db()
    return run


core_spec, resistance_spec = _cores, _resistance  # the same parsers for Circuitscape runs between cores


# Circuitscape's raster scenarios are a job kind of their own, registered with this one (layers.apps imports
# this module for the worker): imported last, it uses ACTIVE_LOCK above.
from . import circuitscape_runs  # noqa: E402,F401
