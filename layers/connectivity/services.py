"""Omniscape runs from files: read the rasters of a config (``geosig.readers``), run the engine, write
Omniscape.jl's outputs as GeoTIFF in the resistance's grid and CRS. Used by ``manage.py omniscape`` (and by a
job/page on top of it)."""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geosig.errors import InvalidParameter
from geosig.formats import Raster, write_geotiff
from geosig.readers import GRID_DRIVERS, open_raster

from .config import OmniscapeConfig, read_reclass_table
from .omniscape import OmniscapeResult, run_omniscape

OUTPUT_NODATA = -9999.0
CONDITION_KEYS = {"condition1_file": "condition1", "condition1_future_file": "condition1_future",
                  "condition2_file": "condition2", "condition2_future_file": "condition2_future"}


@dataclass
class Grid:
    array: np.ndarray
    transform: object
    crs: object
    label: str


@dataclass
class RunReport:
    out_dir: Path
    files: list
    result: OmniscapeResult
    notes: list = field(default_factory=list)

    def __str__(self):
        t = self.result.timings
        lines = [f"Omniscape: {self.result.targets} ventanas en {t['total']:.1f} s "
                 f"(CPU: ensamblaje {t['assembly']:.1f} s, factorización {t['setup']:.1f} s, solución {t['solve']:.1f} s, "
                 f"corrientes {t['currents']:.1f} s).", f"Salidas en {self.out_dir}:"]
        lines += [f"  {f}" for f in self.files]
        lines += [f"Nota: {n}" for n in self.notes]
        return "\n".join(lines)


def read_grid(path: Path) -> Grid:
    with open_raster(path, drivers=GRID_DRIVERS) as ds:  # GeoTIFF or ESRI ASCII grid, as Omniscape.jl reads
        arr = ds.read(1, masked=True).astype(np.float64).filled(np.nan)
        return Grid(arr, ds.transform, ds.crs, path.name)


def _aligned(base: Grid, other: Grid, allow_different: bool) -> np.ndarray:
    if other.array.shape != base.array.shape:
        raise InvalidParameter(f"«{other.label}» ({other.array.shape[0]}×{other.array.shape[1]}) no tiene el tamaño "
                               f"de «{base.label}» ({base.array.shape[0]}×{base.array.shape[1]}).")
    if not allow_different and (other.transform != base.transform or other.crs != base.crs):
        raise InvalidParameter(f"«{other.label}» no está en la grilla o el CRS de «{base.label}»; alinéelos "
                               f"(o ponga allow_different_projections = true si sabe que coinciden).")
    return other.array


def run_config(cfg: OmniscapeConfig, base: Path, *, executor=None, progress=None, cancelled=None) -> RunReport:
    """Run a parsed config; paths are relative to ``base`` (the folder Omniscape.jl would be run from)."""
    res = read_grid(base / cfg.files["resistance_file"])
    sources = None
    if not cfg.params.source_from_resistance:
        if "source_file" not in cfg.files:
            raise InvalidParameter("Falta source_file (o ponga source_from_resistance = true).",
                                   parameter="source_file")
        sources = _aligned(res, read_grid(base / cfg.files["source_file"]), cfg.allow_different_projections)
    conditions = {name: _aligned(res, read_grid(base / cfg.files[key]), cfg.allow_different_projections)
                  for key, name in CONDITION_KEYS.items() if key in cfg.files and cfg.params.conditional}
    params = cfg.params
    if "reclass_table" in cfg.files:
        from dataclasses import replace
        params = replace(params, reclass_table=read_reclass_table(base / cfg.files["reclass_table"]))
    result = run_omniscape(res.array, sources, params, conditions=conditions, executor=executor,
                           progress=progress, cancelled=cancelled)
    out = _project_dir(base / cfg.project_name)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        files = _write_outputs(tmp, cfg, params, res, result)
        tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    notes = list(cfg.notes)
    if out.name != Path(cfg.project_name).name:
        notes.append(f"«{cfg.project_name}» ya existía: las salidas van a «{out.name}» (como Omniscape.jl).")
    return RunReport(out, files, result, notes)


def _project_dir(path: Path) -> Path:
    """Omniscape.jl never overwrites: an existing project folder gets a _1, _2… suffix."""
    if not path.exists():
        return path
    k = 1
    while path.with_name(f"{path.name}_{k}").exists():
        k += 1
    return path.with_name(f"{path.name}_{k}")


def _write_outputs(folder: Path, cfg: OmniscapeConfig, params, res: Grid, result: OmniscapeResult) -> list:
    dtype = "float32" if params.precision == "single" else "float64"
    outputs = []
    if cfg.write_raw_currmap:
        outputs.append(("cum_currmap.tif", result.cum_currmap))
    if params.calc_flow_potential:
        outputs.append(("flow_potential.tif", result.flow_potential))
    if params.calc_normalized_current:
        outputs.append(("normalized_cum_currmap.tif", result.normalized))
    if cfg.write_reclassified:
        reclassified = res.array.copy()
        old = res.array.copy()
        for a, b in params.reclass_table:
            reclassified[old == a] = b
        outputs.append(("classified_resistance.tif", reclassified))
    profile = {"driver": "GTiff", "count": 1, "dtype": dtype, "height": res.array.shape[0],
               "width": res.array.shape[1], "transform": res.transform, "crs": res.crs, "nodata": OUTPUT_NODATA,
               "compress": "lzw"}
    for name, arr in outputs:
        data = np.where(np.isfinite(arr), arr, OUTPUT_NODATA).astype(dtype)[None]
        (folder / name).write_bytes(write_geotiff(Raster(data, profile)))
    (folder / "config.ini").write_text("".join(f"{k} = {v}\n" for k, v in cfg.raw.items()), encoding="utf-8")
    return [name for name, _ in outputs] + ["config.ini"]
