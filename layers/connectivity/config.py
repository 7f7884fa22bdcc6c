"""Omniscape.jl INI files: parse them as Omniscape.jl does and turn them into ``OmniscapeParams`` + file names.

Omniscape.jl reads ``key = value`` lines, ignores ``[section]`` headers and takes paths relative to the folder the
user runs it from; the same here, so a config made for Omniscape.jl runs unchanged (rasters: GeoTIFF or ESRI ASCII
grid ``.asc``, opened by ``geosig.readers`` with ``GRID_DRIVERS``). Unknown keys are an error here (Omniscape.jl only warns) so
a typo never passes silently.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from geosig import params as P
from geosig.errors import InvalidParameter

from .omniscape import OmniscapeParams

MAX_INI_BYTES = 64 * 1024
MAX_RECLASS_ROWS = 10_000
FILE_KEYS = ("resistance_file", "source_file", "condition1_file", "condition2_file", "condition1_future_file",
             "condition2_future_file", "reclass_table")
BOOL_KEYS = ("resistance_is_conductance", "source_from_resistance", "connect_four_neighbors_only",
             "calc_flow_potential", "calc_normalized_current", "correct_artifacts", "write_raw_currmap",
             "write_as_tif", "mask_nodata", "suppress_cs_messages", "conditional", "reclassify_resistance",
             "write_reclassified_resistance", "allow_different_projections", "parallelize")
NUMBER_KEYS = ("source_threshold", "r_cutoff", "condition1_lower", "condition1_upper", "condition2_lower",
               "condition2_upper")
INT_KEYS = ("radius", "block_size", "buffer", "parallel_batch_size")
CHOICE_KEYS = {"precision": ("double", "single"), "solver": ("cg+amg", "cholmod"), "n_conditions": ("1", "2"),
               "compare_to_future": ("none", "1", "2", "both"), "comparison1": ("within", "equal"),
               "comparison2": ("within", "equal")}
SUPPORTED = FILE_KEYS + BOOL_KEYS + NUMBER_KEYS + INT_KEYS + tuple(CHOICE_KEYS) + ("project_name",)
REQUIRED = ("resistance_file", "radius", "project_name")


@dataclass
class OmniscapeConfig:
    params: OmniscapeParams
    files: dict  # key → Path (only the keys given)
    project_name: str
    write_raw_currmap: bool
    write_reclassified: bool
    allow_different_projections: bool
    raw: dict  # the key = value pairs as read (written back to the output folder, as Omniscape.jl does)
    notes: list


def read_ini(path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise InvalidParameter(f"No existe el archivo de configuración «{p.name}».", parameter="config")
    if p.stat().st_size > MAX_INI_BYTES:
        raise InvalidParameter(f"El archivo de configuración pasa de {MAX_INI_BYTES // 1024} KB.", parameter="config")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidParameter(f"«{p.name}» no es texto UTF-8.", parameter="config") from exc
    cfg = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "[#;" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        cfg[key.strip()] = value.strip()
    return cfg


def parse_config(cfg: dict) -> OmniscapeConfig:
    """Check keys first (unknown → error listing the supported ones), then values; return the run's config."""
    unknown = sorted(k for k in cfg if k not in SUPPORTED)
    if unknown:
        raise InvalidParameter(f"Claves no soportadas en la configuración: {', '.join(unknown)}. Claves "
                               f"soportadas (las de Omniscape.jl): {', '.join(sorted(SUPPORTED))}.",
                               parameter="config")
    missing = [k for k in REQUIRED if not cfg.get(k)]
    if missing:
        raise InvalidParameter(f"Faltan claves obligatorias: {', '.join(missing)}.", parameter="config")
    b = {k: P.boolean(cfg.get(k), k, default=_DEFAULT_TRUE.get(k, False)) for k in BOOL_KEYS}
    n = {k: _number(cfg.get(k), k) for k in NUMBER_KEYS}
    i = {k: _int(cfg.get(k), k) for k in INT_KEYS}
    c = {k: P.choice(cfg.get(k), k, v, default=v[0]) for k, v in CHOICE_KEYS.items()}
    notes = []
    if c["solver"] == "cg+amg" and cfg.get("solver"):
        notes.append("solver = cg+amg: se resuelve con un método directo (misma respuesta dentro de la tolerancia).")
    if not b["write_as_tif"]:
        notes.append("write_as_tif = false: las salidas se escriben igual en GeoTIFF (no se escribe ASCII).")
    params = OmniscapeParams(
        radius=i["radius"] or 0, block_size=i["block_size"] or 1, buffer=i["buffer"] or 0,
        source_from_resistance=b["source_from_resistance"], r_cutoff=n["r_cutoff"] if cfg.get("r_cutoff") else math.inf,
        source_threshold=n["source_threshold"] or 0.0, resistance_is_conductance=b["resistance_is_conductance"],
        connectivity=4 if b["connect_four_neighbors_only"] else 8, calc_flow_potential=b["calc_flow_potential"],
        calc_normalized_current=b["calc_normalized_current"], correct_artifacts=b["correct_artifacts"],
        mask_nodata=b["mask_nodata"], conditional=b["conditional"], n_conditions=int(c["n_conditions"]),
        compare_to_future=c["compare_to_future"], comparison1=c["comparison1"], comparison2=c["comparison2"],
        **{k: n[k] or 0.0 for k in NUMBER_KEYS if k.startswith("condition")},
        precision=c["precision"], batch_size=i["parallel_batch_size"] or 32,
    )
    files = {k: Path(cfg[k]) for k in FILE_KEYS if cfg.get(k)}
    if b["reclassify_resistance"] and "reclass_table" not in files:
        raise InvalidParameter("reclassify_resistance = true necesita reclass_table.", parameter="reclass_table")
    if not b["reclassify_resistance"]:
        files.pop("reclass_table", None)
    return OmniscapeConfig(params, files, cfg["project_name"], b["write_raw_currmap"],
                           b["reclassify_resistance"] and b["write_reclassified_resistance"],
                           b["allow_different_projections"], dict(cfg), notes + list(params.notes))


_DEFAULT_TRUE = {"correct_artifacts": True, "write_raw_currmap": True, "write_as_tif": True, "mask_nodata": True,
                 "suppress_cs_messages": True, "parallelize": True}


def _number(value, name):
    if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "infinity"):
        return math.inf
    return P.number(value, name)


def _int(value, name):
    """Omniscape.jl rounds these (``Int(round(parse(Float64, v)))``)."""
    v = P.number(value, name)
    return None if v is None else int(round(v))


def read_reclass_table(path) -> tuple:
    """Two columns (whitespace separated): original value, new value or ``missing`` (→ nodata)."""
    p = Path(path)
    if not p.is_file():
        raise InvalidParameter(f"No existe la tabla de reclasificación «{p.name}».", parameter="reclass_table")
    rows = []
    for k, line in enumerate(p.read_text(encoding="utf-8-sig").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or len(rows) >= MAX_RECLASS_ROWS:
            raise InvalidParameter(f"Tabla de reclasificación «{p.name}», línea {k}: se esperan dos columnas "
                                   f"(valor original, valor nuevo o missing).", parameter="reclass_table")
        old = P.number(parts[0], f"{p.name}:{k}")
        new = math.nan if parts[1].strip('"').lower() == "missing" else P.number(parts[1], f"{p.name}:{k}")
        rows.append((old, new))
    return tuple(rows)
