"""Circuitscape runs from the API and the page: the options of ``manage.py circuitscape CONFIG.ini`` as JSON,
the inputs uploaded to the corridor input store, the computation as a durable job (kind ``circuitscape``).

A request names Circuitscape's own keys (``scenario``, ``habitat_file``, ``connect_four_neighbors_only``…). A
file key holds the reference ``POST /api/v1/corridors/inputs/`` returned (kind ``grid`` or ``list``); giving
``polygon_file``, ``mask_file``, ``included_pairs_file`` or ``variable_source_file`` switches on its ``use_…``
option, as ticking the box in Circuitscape's window does. The job builds the configuration the command reads
from an .ini and runs ``circuitscape_files.run_settings`` — one code path, so the API answers what the command
answers (``tests/layers/test_circuitscape_api.py`` checks both against Circuitscape.jl's published outputs).
Results keep Circuitscape's names (``<output_file>_resistances.out``, ``_cum_curmap.asc``, ``_curmap_<n>.asc``…)
in ``MEDIA_ROOT/corridors/circuitscape/<job>/``.
"""
from __future__ import annotations

import hashlib
import json
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from geosig import params as P
from geosig.errors import InvalidParameter, NotFound
from jobs import registry as job_kinds
from jobs import services as jobs
from jobs.models import Job

from . import circuitscape as cs
from . import circuitscape_files as cf
from . import inputs

JOB_KIND = "circuitscape"
ENGINE_VERSION = 1  # bump when identical inputs would give different outputs
SCENARIOS = ("pairwise", "one-to-all", "all-to-one", "advanced")
FOCAL = ("pairwise", "one-to-all", "all-to-one")
# Circuitscape key → (upload kinds it admits, the scenarios that read it, the use_… switch it turns on)
FILES = {
    "habitat_file": (("grid",), SCENARIOS, None),
    "point_file": (("grid", "list"), FOCAL, None),
    "polygon_file": (("grid",), SCENARIOS, "use_polygons"),
    "mask_file": (("grid",), SCENARIOS, "use_mask"),
    "included_pairs_file": (("list",), FOCAL, "use_included_pairs"),
    "variable_source_file": (("list",), ("one-to-all", "all-to-one"), "use_variable_source_strengths"),
    "source_file": (("grid", "list"), ("advanced",), None),
    "ground_file": (("grid", "list"), ("advanced",), None),
}
REQUIRED = {"pairwise": ("point_file",), "one-to-all": ("point_file",), "all-to-one": ("point_file",),
            "advanced": ("source_file", "ground_file")}
# Circuitscape's switches with its defaults (habitat as resistances; conductance averaging; 8 neighbours)
FLAGS = {
    "habitat_map_is_resistances": True, "connect_four_neighbors_only": False, "connect_using_avg_resistances": False,
    "ground_file_is_resistances": True, "use_unit_currents": False, "use_direct_grounds": False,
    "write_cur_maps": False, "write_volt_maps": False, "write_cum_cur_map_only": False, "write_max_cur_maps": False,
    "set_null_currents_to_nodata": False, "set_null_voltages_to_nodata": False, "log_transform_maps": False,
    "write_as_tif": False,
}
CHOICES = {"remove_src_or_gnd": (cs.POLICIES, "keepall"), "solver": (tuple(cf.SOLVERS), "cg+amg"),
           "precision": (("double", "single"), "double")}
# Between cores (beyond the .ini): the corridor run's cores and resistance become the habitat and the focal
# regions, built in the job on the corridor analysis grid (same readers and rules as a corridor run)
CORE_KEYS = ("cores", "resistance", "cell_size", "point_radius", "margin_m", "base")
CORE_FILES = ("included_pairs_file", "variable_source_file")  # files that still apply (they name core ids)
KEYS = ("scenario", "output_file", *FILES, *FLAGS, *CHOICES, *CORE_KEYS)
OUTPUT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
MAX_TABLE = 51  # resistance tables up to 50 points are kept in the report (the .out file has them all)


def normalise(raw) -> dict:
    """A request → its typed options (stored with the job and hashed); a bad value is a Spanish 400 naming the
    valid ones, before any file is read."""
    body = P.mapping(raw, "body", required=True, allowed=KEYS)
    out = {"scenario": P.choice(body.get("scenario"), "scenario", SCENARIOS, required=True)}
    name = P.text(body.get("output_file"), "output_file", max_length=44) or "circuitscape"
    name = name.removesuffix(".out")
    if not OUTPUT_NAME.match(name):
        raise InvalidParameter("«output_file» es el prefijo de las salidas: letras, números, «_» o «-» (hasta 40), "
                               f"sin carpetas; recibido «{name[:44]}».", parameter="output_file")
    out["output_file"] = name
    for key, default in FLAGS.items():
        out[key] = P.boolean(body.get(key), key, default=default)
    for key, (valid, default) in CHOICES.items():
        out[key] = P.choice(body.get(key), key, valid, default=default)
    between_cores = body.get("cores") not in (None, "", {})
    if between_cores:
        out.update(_core_options(body, out["scenario"]))
    elif any(body.get(k) not in (None, "") for k in CORE_KEYS[1:]):
        raise InvalidParameter("«resistance», «cell_size», «point_radius», «margin_m» y «base» solo se usan con "
                               "«cores» (circuito entre núcleos).", parameter="cores")
    for key, (kinds, scenarios, _switch) in FILES.items():
        if body.get(key) in (None, "", {}):
            continue
        if between_cores and key not in CORE_FILES:
            raise InvalidParameter(f"«{key}» no se combina con «cores»: el hábitat y las regiones focales salen de "
                                   "los núcleos y la resistencia, en la grilla de la corrida.", parameter=key)
        if out["scenario"] not in scenarios:
            raise InvalidParameter(f"«{key}» no se usa en el modo {out['scenario']} (solo en: {', '.join(scenarios)}).",
                                   parameter=key)
        out[key] = _file_ref(body[key], key, kinds)
    for key in () if between_cores else ("habitat_file", *REQUIRED[out["scenario"]]):
        if key not in out:
            raise InvalidParameter(f"El modo {out['scenario']} necesita «{key}»: suba el archivo con POST "
                                   "/api/v1/corridors/inputs/ y envíe la referencia que devuelve.", parameter=key)
    return out


def _core_options(body: dict, scenario: str) -> dict:
    """«cores» and «resistance» as in a corridor run (``runs``' own parsers), with its cell size, disc radius,
    margin and recipe base."""
    from . import runs

    if scenario not in FOCAL:
        raise InvalidParameter(f"«cores» no se usa en el modo {scenario} (solo en: {', '.join(FOCAL)}).",
                               parameter="cores")
    if body.get("habitat_map_is_resistances") not in (None, True, "true", "True"):
        raise InvalidParameter("Con «cores» el hábitat es la superficie de resistencia: "
                               "habitat_map_is_resistances debe ser verdadero.", parameter="habitat_map_is_resistances")
    out = {"cores": runs.core_spec(body["cores"]), "resistance": runs.resistance_spec(body.get("resistance"))}
    from_file = isinstance(out["resistance"], dict)
    for key in ("cell_size", "point_radius", "margin_m"):
        minimum, strict = runs.NUMBER_RANGES[key]
        value = P.number(body.get(key), key, minimum=minimum, exclusive_minimum=strict, maximum=runs.MAX_DISTANCE,
                         required=key == "cell_size" and not from_file)
        if value is not None:
            out[key] = value
    base = P.number(body.get("base"), "base", minimum=0.0, maximum=runs.MAX_DISTANCE)
    if base is not None:
        out["base"] = base
    return out


def _file_ref(raw, key: str, kinds: tuple[str, ...]) -> dict:
    """{"file": "<hash>.<ext>", "name": original name} (or the bare reference) of a stored input; the upload's
    whole answer is accepted as it is (its «kind» is implied by the extension)."""
    ref = {"file": raw} if isinstance(raw, str) else P.mapping(raw, key, required=True,
                                                               allowed=("file", "name", "kind"))
    file = P.text(ref.get("file"), f"{key}.file", max_length=50, required=True)
    if not inputs.REF.match(file):
        raise InvalidParameter(f"«{key}» debe ser la referencia que devolvió la subida del archivo "
                               "(POST /api/v1/corridors/inputs/).", parameter=key)
    exts = [e for k in kinds for e in inputs.KINDS[k]]
    if Path(file).suffix not in exts:
        raise InvalidParameter(f"«{key}» admite {', '.join(exts)}; recibido un {Path(file).suffix}.", parameter=key)
    out = {"file": file}
    label = P.text(ref.get("name"), f"{key}.name", max_length=200)
    if label:
        out["name"] = label
    return out


def inputs_hash(options: dict) -> str:
    """Options + file contents (references are content hashes) + the last change of the registry layers the
    cores and the resistance read: same hash, same outputs."""
    layers = None
    if "cores" in options:
        from .runs import inputs_hash as corridor_hash

        layers = corridor_hash({"cores": options["cores"], "resistance": options.get("resistance")})
    blob = json.dumps({"v": ENGINE_VERSION, "options": options, "layers": layers}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@contextmanager
def staged(options: dict, info: dict | None = None):
    """The configuration dict ``circuitscape_files`` reads, its inputs linked under their original names in a
    private temporary folder (messages then name the user's files, never the store's hashes). Between cores,
    the habitat and focal-region grids are built here first (the job's work: registry layers, recipes); their
    notes and the region → core name table go to ``info``."""
    with tempfile.TemporaryDirectory(prefix="circuitscape-in-") as tmp:
        derived = _core_grids(options, Path(tmp), info if info is not None else {}) if "cores" in options else {}
        cfg = {"data_type": "raster", "scenario": options["scenario"], "output_file": f"{options['output_file']}.out"}
        cfg.update({k: str(bool(options.get(k, d))) for k, d in FLAGS.items()})
        cfg.update({k: options.get(k, d) for k, (_v, d) in CHOICES.items()})
        for key, (kinds, _scenarios, switch) in FILES.items():
            if key not in options:
                continue
            ref = options[key]
            kind = next(k for k in kinds if Path(ref["file"]).suffix in inputs.KINDS[k])
            path, label = inputs.resolve(ref, kind)
            name = re.sub(r"[^\w.\-]", "_", label)[:100]
            if Path(name).suffix.lower() != path.suffix:
                name = f"{key}{path.suffix}"
            link = Path(tmp) / key / name
            link.parent.mkdir()
            link.symlink_to(path)
            cfg[key] = str(link)
            if switch:
                cfg[switch] = "True"
        cfg.update(derived)
        yield cfg


def _core_grids(options: dict, folder: Path, info: dict) -> dict[str, str]:
    """The resistance (habitat, barriers as no data) and the cores (focal regions 1…n) of a corridor run as
    GeoTIFFs on its analysis grid."""
    from .services import circuit_landscape

    grid, res, labels, names, more, label = circuit_landscape(
        options["cores"], options.get("resistance"), options.get("cell_size"),
        point_radius=options.get("point_radius"), margin_m=options.get("margin_m", 5000.0),
        base=options.get("base", 1.0))
    geo = cf.Grid(res, grid.transform, grid.crs)
    paths = {"habitat_file": folder / "resistencia.tif", "point_file": folder / "nucleos.tif"}
    cf.write_tif(paths["habitat_file"], np.where(np.isfinite(res), res, cs.NODATA), geo)
    cf.write_tif(paths["point_file"], labels.astype(np.float64), geo)
    info["notes"] = more + [f"Resistencia: {label}; grilla {grid.shape[0]} × {grid.shape[1]} de {grid.cell_size:g} m "
                            f"en {grid.crs.to_string()}."] + [f"Región focal {i} = núcleo «{n}»."
                                                              for i, n in sorted(names.items())]
    info["regions"] = {str(i): n for i, n in sorted(names.items())}
    return {k: str(p) for k, p in paths.items()} | {"habitat_map_is_resistances": "True"}


def check(options: dict) -> None:
    """Every input read and checked as the run will (sizes against the habitat, points inside it, ids…).
    Between cores, what needs no registry layer nor recipe: the files exist, the cores meet an uploaded raster
    (the grid itself is built in the job)."""
    if "cores" in options:
        from .services import check_file_inputs

        for key in CORE_FILES:
            if key in options:
                inputs.resolve(options[key], "list")
        check_file_inputs({"cores": options["cores"], "resistance": options.get("resistance")})
        return
    with staged(options) as cfg:
        cf.check_settings(cfg)


def start(raw, user, background: bool = True) -> tuple[Job, bool]:
    """Return (job, cached): an identical finished run of the same user with its files on disk, or one in
    progress, is returned as is; else a new job (at most CORRIDORS_MAX_ACTIVE corridor and Circuitscape runs
    at once: two cores)."""
    options = normalise(raw)
    check(options)
    h = inputs_hash(options)
    mine = Job.objects.filter(kind=JOB_KIND, owner=user, params__hash=h)
    for done in mine.filter(state=Job.State.DONE).order_by("-pk"):
        if result_dir(done).is_dir():
            return done, True
    from .runs import ACTIVE_LOCK, check_room  # the corridor runs' lock and cap: both kinds share the two cores

    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [ACTIVE_LOCK])
        active = mine.filter(state__in=Job.ACTIVE).order_by("-pk").first()
        if active:
            return active, True
        check_room()
        job = jobs.enqueue(JOB_KIND, {"hash": h, "options": options}, owner=user)
    if not background:
        job = jobs.run_inline(job)
    return job, False


def runs_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "corridors" / "circuitscape"


def result_dir(job: Job) -> Path:
    rel = (job.result or {}).get("result_dir") or f"corridors/circuitscape/{job.pk}"
    return Path(settings.MEDIA_ROOT) / rel


@job_kinds.register(JOB_KIND, label=_("Circuitscape (modos ráster)"), retries=1)
def run_job(ctx, job_params: dict) -> dict:
    """The worker side: run the configuration into the job's work folder, publish it with one rename."""
    options = job_params.get("options")
    if not isinstance(options, dict):
        raise NotFound("El trabajo no tiene opciones de Circuitscape.")
    ctx.progress(2, "Leyendo las entradas")
    maps = [0]

    def on_map(path: Path) -> None:  # a progress step and a cancel point after each map written
        maps[0] += 1
        ctx.progress(min(95, 5 + maps[0]), f"{maps[0]} mapa(s) escrito(s)")

    info: dict = {}
    if "cores" in options:
        ctx.progress(3, "Construyendo la resistencia y ubicando los núcleos")
    with staged(options, info) as cfg:
        report = cf.run_settings(cfg, output_dir=ctx.workdir, on_map=on_map)
    report["notes"] = info.get("notes", []) + report["notes"]
    if "regions" in info:
        report["regions"] = info["regions"]  # focal region id → core name
    ctx.check_cancelled()
    report["files"] = [Path(f).name for f in report["files"]]
    table = report.get("resistances")
    if table is not None and len(table) > MAX_TABLE:
        report["resistances"] = None
        report["notes"].append(f"La tabla de resistencias tiene {len(table) - 1} puntos: véala en el archivo "
                               f"{options['output_file']}_resistances.out.")
    report["scenario"] = options["scenario"]
    published = ctx.publish(runs_root() / str(ctx.job.pk))
    return {"result_dir": published, "report": report}


def get(job_id, user) -> Job:
    """A Circuitscape job its owner (or staff) may see; 404 for any other job alike."""
    job = jobs.get_job(job_id, user)
    if job.kind != JOB_KIND:
        raise NotFound(f"No existe la corrida de Circuitscape {job_id}.")
    return job


def cancel(job_id, user) -> Job:
    return jobs.cancel(get(job_id, user), user)


def recent(user, n: int = 20) -> list[Job]:
    return list(Job.objects.filter(kind=JOB_KIND, owner=user).order_by("-pk")[:n])


def output_file(job: Job, name: str) -> Path:
    """A result file of a finished run, by its Circuitscape name only (never a path)."""
    files = ((job.result or {}).get("report") or {}).get("files", [])
    if job.state != Job.State.DONE or name not in files:
        raise NotFound(f"La corrida de Circuitscape {job.pk} no tiene el archivo «{name[:100]}»; disponibles: "
                       f"{', '.join(files) or 'ninguno'}.")
    path = result_dir(job) / name
    if not path.is_file():
        raise NotFound(f"El archivo «{name}» de la corrida {job.pk} ya no está en el servidor.")
    return path
