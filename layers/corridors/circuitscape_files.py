"""Circuitscape's files around the engine: the .ini, its grids and lists, and its outputs (names and formats).

``run_config(ini)`` is the one service: it reads a Circuitscape raster configuration, runs
``circuitscape.compute`` and writes what Circuitscape writes, with its names:
``<output stem>_resistances.out`` (matrix with the point ids on the first row/column, −1 between disconnected
points), ``_resistances_3columns.out``, ``_cum_curmap.asc``, ``_max_curmap.asc``, ``_curmap_<a>_<b>.asc``,
``_voltmap_<a>_<b>.asc`` (pairwise), ``_curmap_<n>.asc``/``_voltmap_<n>.asc`` (one-to-all, all-to-one),
``_curmap.asc``/``_voltmap.asc`` (advanced). Grids are ESRI ASCII like Circuitscape's (GeoTIFF with
``write_as_tif = True``).

Every grid is opened through ``geosig.readers`` (.asc with the AAIGrid driver, .tif with GTiff, after their
magic bytes); a ``.gz`` grid is decompressed by Python into a private temporary folder first (no GDAL
virtual path). Point, source/ground, pair and strength lists are plain text parsed here.
"""
from __future__ import annotations

import gzip
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio

from geosig import readers
from geosig.errors import DataFileError, InvalidParameter
from layers.corridors import circuitscape as cs

MAX_TEXT_BYTES = 64 * 1024 * 1024
MAX_GZ_BYTES = 1024 * 1024 * 1024
TRUE = ("True", "true", "1")
SCENARIOS = {"pairwise": "pairwise", "Pairwise": "pairwise", "advanced": "advanced", "Advanced": "advanced",
             "one-to-all": "one-to-all", "one_to_all": "one-to-all", "all-to-one": "all-to-one",
             "all_to_one": "all-to-one"}
SOLVERS = {"cg+amg": "auto", "amg+cg": "auto", "cholmod": "direct", "cholesky": "direct", "cholfact": "direct",
           "pardiso": "direct", "mklpardiso": "direct", "accelerate": "direct"}
# Circuitscape.jl's keys. Read: the ones that change the computation or the outputs. Accepted and without
# effect here: logging, timing, memory and threading switches (they change neither numbers nor files).
READ_KEYS = (
    "data_type", "scenario", "habitat_file", "habitat_map_is_resistances", "connect_four_neighbors_only",
    "connect_using_avg_resistances", "use_polygons", "polygon_file", "source_file", "ground_file",
    "ground_file_is_resistances", "use_unit_currents", "use_direct_grounds", "remove_src_or_gnd", "use_mask",
    "mask_file", "solver", "use_variable_source_strengths", "variable_source_file", "use_included_pairs",
    "included_pairs_file", "point_file", "use_reclass_table", "reclass_file", "output_file", "write_cur_maps",
    "write_volt_maps", "write_cum_cur_map_only", "write_max_cur_maps", "set_null_currents_to_nodata",
    "set_null_voltages_to_nodata", "log_transform_maps", "write_as_tif", "precision",
)
IGNORED_KEYS = (
    "version", "parallelize", "use_64bit_indexing", "cholmod_batch_size", "low_memory_mode",
    "preemptive_memory_release", "print_timings", "print_rusages", "log_file", "log_level", "profiler_log_file",
    "screenprint_log", "suppress_messages", "compress_grids", "set_focal_node_currents_to_zero",
)


@dataclass
class Grid:
    values: np.ndarray  # float64, NaN = no data
    transform: rasterio.Affine
    crs: object


# ------------------------------------------------------------------------------------------------ the .ini


def read_ini(path) -> dict[str, str]:
    """Circuitscape's parse_config: ``key = value`` lines, sections ignored; unknown keys refused."""
    p = Path(path)
    if not p.is_file():
        raise DataFileError(f"No existe el archivo de configuración «{p.name}».", file=p.name)
    cfg = {}
    for line in _text(p).splitlines():
        line = line.strip()
        if not line or line.startswith(("[", "#", ";")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        cfg[key.strip()] = value.strip()
    unknown = sorted(set(cfg) - set(READ_KEYS) - set(IGNORED_KEYS))
    if unknown:
        raise InvalidParameter(f"Opción de Circuitscape no admitida: {', '.join(unknown)}. Opciones admitidas: "
                               f"{', '.join(READ_KEYS + IGNORED_KEYS)}.")
    return cfg


def _flag(cfg, key, default="False") -> bool:
    return cfg.get(key, default) in TRUE


def _file(cfg, key, base: Path) -> Path | None:
    value = cfg.get(key, "None")
    if value in ("", "None", "none", "False") or value.startswith("("):  # "(Browse for …)": the GUI's placeholder
        return None
    p = Path(value)
    return p if p.is_absolute() else base / p


def options_from(cfg: dict[str, str]) -> cs.Options:
    """Engine options from the .ini, each unsupported value named with the valid ones."""
    if cfg.get("data_type", "raster") not in ("raster", "Raster"):
        raise InvalidParameter(f"data_type «{cfg['data_type']}» no admitido: solo «raster» (el modo de redes de "
                               "Circuitscape no está implementado).")
    scenario = cfg.get("scenario", "not entered")
    if scenario not in SCENARIOS:
        raise InvalidParameter(f"scenario «{scenario}» no válido; use uno de: {', '.join(SCENARIOS)}.")
    solver = cfg.get("solver", "cg+amg")
    if solver.lower() not in SOLVERS:
        raise InvalidParameter(f"solver «{solver}» no válido; use uno de: {', '.join(SOLVERS)}.")
    if _flag(cfg, "use_reclass_table"):
        raise InvalidParameter("use_reclass_table = True no se admite (Circuitscape.jl tampoco lo aplica); "
                               "reclasifique el hábitat antes.")
    policy = cfg.get("remove_src_or_gnd", "keepall")
    return cs.Options(
        mode=SCENARIOS[scenario],
        connectivity=4 if _flag(cfg, "connect_four_neighbors_only") else 8,
        averaging="resistance" if _flag(cfg, "connect_using_avg_resistances") else "conductance",
        ground_is_resistance=_flag(cfg, "ground_file_is_resistances", "True"),
        policy=policy if policy != "not entered" else "keepall",
        unit_currents=_flag(cfg, "use_unit_currents"),
        direct_grounds=_flag(cfg, "use_direct_grounds"),
        write_cur_maps=_flag(cfg, "write_cur_maps"),
        write_cum_cur_map_only=_flag(cfg, "write_cum_cur_map_only"),
        write_max_cur_maps=_flag(cfg, "write_max_cur_maps"),
        write_volt_maps=_flag(cfg, "write_volt_maps"),
        null_currents_to_nodata=_flag(cfg, "set_null_currents_to_nodata"),
        null_voltages_to_nodata=_flag(cfg, "set_null_voltages_to_nodata"),
        log_transform=_flag(cfg, "log_transform_maps"),
        solver=SOLVERS[solver.lower()],
    )


# ------------------------------------------------------------------------------------------------ inputs


def _text(p: Path) -> str:
    try:
        if p.stat().st_size > MAX_TEXT_BYTES:
            raise InvalidParameter(f"«{p.name}» pasa de {MAX_TEXT_BYTES // 2**20} MB.")
        return p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:  # missing, unreadable, a folder
        raise DataFileError(f"No se pudo leer «{p.name}»: {exc.strerror or exc}.", file=p.name) from None


def read_grid(path: Path, tmp: Path) -> Grid:
    """A .asc or .tif grid (optionally .gz) through geosig.readers; NaN where the file has no data or −9999."""
    if not path.is_file():
        raise DataFileError(f"No existe el archivo «{path.name}».", file=path.name)
    if path.suffix.lower() == ".gz":
        inner = tmp / f"{len(list(tmp.iterdir()))}-{path.stem}"
        try:
            with gzip.open(path, "rb") as src, open(inner, "wb") as dst:
                copied = 0
                while chunk := src.read(1 << 20):
                    copied += len(chunk)
                    if copied > MAX_GZ_BYTES:
                        raise InvalidParameter(f"«{path.name}» descomprimido pasa de {MAX_GZ_BYTES // 2**20} MB.")
                    dst.write(chunk)
        except (OSError, EOFError) as exc:  # not gzip, truncated
            raise DataFileError(f"No se pudo descomprimir «{path.name}»: {exc}.", file=path.name) from None
        path = inner
    with readers.open_raster(path, drivers=readers.GRID_DRIVERS) as ds:
        a = ds.read(1).astype(np.float64)
        nodata = ds.nodata
        transform, crs = ds.transform, ds.crs
    bad = ~np.isfinite(a) | (a == cs.NODATA)
    if nodata is not None:
        bad |= a == nodata
    return Grid(np.where(bad, np.nan, a), transform, crs)


def _numbers(path: Path, cols: int) -> np.ndarray:
    rows = []
    for n, line in enumerate(_text(path).splitlines(), 1):
        parts = line.replace(",", " ").split()
        if not parts:
            continue
        try:
            rows.append([float(x) for x in parts[:cols]])
        except ValueError:
            raise DataFileError(f"«{path.name}», línea {n}: se esperaban {cols} números.", file=path.name) from None
        if len(rows[-1]) < cols:
            raise DataFileError(f"«{path.name}», línea {n}: se esperaban {cols} números.", file=path.name)
    return np.asarray(rows, dtype=np.float64).reshape(-1, cols)


def _is_grid(path: Path) -> bool:
    return path.suffix.lower() in (".asc", ".tif", ".tiff", ".gz")


def _cells(xy: np.ndarray, hab: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Row/column of map coordinates, as Circuitscape: ceil(nrows − (y − yll)/cs), ceil((x − xll)/cs), 1-based."""
    t, nrows = hab.transform, hab.values.shape[0]
    cell = t.a
    yll = t.f - nrows * abs(t.e)
    r = np.ceil(nrows - (xy[:, 1] - yll) / cell).astype(np.int64) - 1
    c = np.ceil((xy[:, 0] - t.c) / cell).astype(np.int64) - 1
    return r, c


def read_points(path: Path, hab: Grid, tmp: Path) -> np.ndarray:
    """Focal points as (row, col, id): the non-zero cells of a grid (column-major) or a text list «id x y»."""
    if _is_grid(path):
        g = np.nan_to_num(read_grid(path, tmp).values, nan=0.0)
        _same_shape(g, hab, path)
        cc, rr = np.nonzero(g.T)  # column-major, as Julia's findall
        pts = np.column_stack([rr, cc, g[rr, cc]])
    else:
        rows = _numbers(path, 3)
        r, c = _cells(rows[:, 1:], hab)
        pts = np.column_stack([r, c, rows[:, 0]])
    if np.any(pts[:, 2] != np.round(pts[:, 2])):
        raise DataFileError(f"«{path.name}» tiene ids de puntos focales que no son enteros.", file=path.name)
    return pts.astype(np.int64)


def read_value_grid(path: Path, hab: Grid, tmp: Path) -> np.ndarray:
    """A source or ground file: a grid, or a text list «value x y» (other cells: no data)."""
    if _is_grid(path):
        g = read_grid(path, tmp).values
        _same_shape(g, hab, path)
        return g
    rows = _numbers(path, 3)
    r, c = _cells(rows[:, 1:], hab)
    shape = hab.values.shape
    if (r < 0).any() or (c < 0).any() or (r >= shape[0]).any() or (c >= shape[1]).any():
        raise InvalidParameter(f"Un punto de «{path.name}» cae fuera del mapa de hábitat.")
    g = np.full(shape, np.nan)
    g[r, c] = rows[:, 0]
    return g


def read_included_pairs(path: Path) -> cs.IncludedPairs:
    """Circuitscape's two formats: a «min/max» matrix of point ids, or «mode include|exclude» and pairs."""
    try:
        return _included_pairs(path)
    except (ValueError, IndexError):
        raise DataFileError(f"«{path.name}» no es un archivo de pares de Circuitscape legible: «min»/«max» y una "
                            "matriz de ids, o «mode include|exclude» y pares de ids.", file=path.name) from None


def _included_pairs(path: Path) -> cs.IncludedPairs:
    lines = [ln.split() for ln in _text(path).splitlines() if ln.strip()]
    head = lines[0][0].lower() if lines else ""
    if head == "min":
        lo, hi = float(lines[0][1]), float(lines[1][1])
        ids = np.array([int(float(ln[0])) for ln in lines[3:]])  # the first column, as Circuitscape
        m = np.array([[float(x) for x in ln[1:len(ids) + 1]] for ln in lines[3:]])
        m = np.where(m > hi, 0.0, m)
        return cs.IncludedPairs("include", ids, (m >= lo).astype(np.int64))
    if head == "mode":
        mode = lines[0][1].lower()
        if mode not in ("include", "exclude"):
            raise DataFileError(f"«{path.name}»: mode «{mode}» no válido; use include o exclude.", file=path.name)
        pairs = np.array([[int(float(x)) for x in ln[:2]] for ln in lines[1:]], dtype=np.int64).reshape(-1, 2)
        ids = np.unique(pairs)
        ids = ids[ids != 0]
        m = np.zeros((len(ids), len(ids)), np.int64)
        for a, b in pairs:
            if a in ids and b in ids:
                i, j = np.searchsorted(ids, a), np.searchsorted(ids, b)
                m[i, j] = m[j, i] = 1
        return cs.IncludedPairs(mode, ids, m)
    raise DataFileError(f"«{path.name}» no es un archivo de pares de Circuitscape: debe empezar por «min» "
                        "(matriz) o «mode» (lista).", file=path.name)


def _same_shape(g, hab: Grid, path: Path):
    if g.shape != hab.values.shape:
        raise InvalidParameter(f"«{path.name}» tiene {g.shape[0]}×{g.shape[1]} celdas y el hábitat "
                               f"{hab.values.shape[0]}×{hab.values.shape[1]}.")


def landscape_from(cfg: dict[str, str], o: cs.Options, base: Path, tmp: Path) -> tuple[cs.Landscape, Grid]:
    hab_path = _file(cfg, "habitat_file", base)
    if hab_path is None:
        raise InvalidParameter("Falta habitat_file en la configuración.")
    hab = read_grid(hab_path, tmp)
    ls = cs.Landscape(hab.values, cfg.get("habitat_map_is_resistances", "True") in TRUE)

    def optional(flag, key, reader):
        path = _file(cfg, key, base) if _flag(cfg, flag) else None
        if _flag(cfg, flag) and path is None:
            raise InvalidParameter(f"{flag} = True pero falta {key}.")
        return reader(path) if path is not None else None

    def grid_of(p):
        g = read_grid(p, tmp).values
        _same_shape(g, hab, p)
        return g

    ls.polygons = optional("use_polygons", "polygon_file", lambda p: np.nan_to_num(grid_of(p), nan=0).astype(np.int64))
    ls.mask = optional("use_mask", "mask_file", grid_of)
    ls.included = optional("use_included_pairs", "included_pairs_file", read_included_pairs)
    ls.strengths = optional("use_variable_source_strengths", "variable_source_file", lambda p: _numbers(p, 2))
    if o.mode == "advanced":
        for key, attr in (("source_file", "sources"), ("ground_file", "grounds")):
            p = _file(cfg, key, base)
            if p is None:
                raise InvalidParameter(f"El modo avanzado necesita {key}.")
            setattr(ls, attr, read_value_grid(p, hab, tmp))
    else:
        p = _file(cfg, "point_file", base)
        if p is None:
            raise InvalidParameter(f"El modo {o.mode} necesita point_file.")
        ls.points = read_points(p, hab, tmp)
    return ls, hab


# ------------------------------------------------------------------------------------------------ outputs


def _num(x: float) -> str:
    return "%.12g" % x


def write_asc(path: Path, grid: np.ndarray, hab: Grid) -> None:
    """ESRI ASCII grid with Circuitscape's header (lower-left corner, square cells, NODATA −9999)."""
    t, (nrows, ncols) = hab.transform, grid.shape
    head = (f"ncols {ncols}\nnrows {nrows}\nxllcorner {_num(t.c)}\nyllcorner {_num(t.f - nrows * abs(t.e))}\n"
            f"cellsize {_num(t.a)}\nNODATA_value -9999\n")
    with open(path, "w", encoding="ascii") as fh:
        fh.write(head)
        np.savetxt(fh, grid, fmt="%.12g", delimiter=" ")


def write_tif(path: Path, grid: np.ndarray, hab: Grid) -> None:
    with rasterio.open(path, "w", driver="GTiff", width=grid.shape[1], height=grid.shape[0], count=1,
                       dtype="float64", transform=hab.transform, crs=hab.crs, nodata=cs.NODATA,
                       compress="lzw") as ds:
        ds.write(grid, 1)


def write_resistances(prefix: str, table: np.ndarray, pairwise: bool) -> list[Path]:
    """``_resistances.out`` (ids on the first row and column) and, for pairwise, ``_resistances_3columns.out``."""
    out = [Path(f"{prefix}_resistances.out")]
    with open(out[0], "w", encoding="ascii") as fh:
        for k, row in enumerate(table):  # ids as integers: the first column, and the first row of a matrix
            ids = row if pairwise and k == 0 else row[:1]
            fh.write(" ".join([str(int(x)) for x in ids] + [_num(x) for x in row[len(ids):]]) + "\n")
    if pairwise:
        ids, vals = table[0, 1:], table[1:, 1:]
        out.append(Path(f"{prefix}_resistances_3columns.out"))
        with open(out[1], "w", encoding="ascii") as fh:
            for i in range(len(ids)):
                for j in range(i + 1, len(ids)):
                    fh.write(f"{int(ids[i])} {int(ids[j])} {_num(vals[j, i])}\n")
    return out


def output_prefix(cfg, base: Path, output_dir: Path | None) -> str:
    """Circuitscape's prefix: the output_file up to «.out»; ``output_dir`` replaces its folder."""
    out = cfg.get("output_file", "")
    if not out or out.startswith("("):
        raise InvalidParameter("Falta output_file en la configuración.")
    p = Path(out.split(".out")[0])
    p = (output_dir / p.name) if output_dir is not None else (p if p.is_absolute() else base / p)
    with _writing(str(p)):
        p.parent.mkdir(parents=True, exist_ok=True)
    return str(p)


# ------------------------------------------------------------------------------------------------ service


def run_config(ini, *, base_dir=None, output_dir=None) -> dict:
    """Run a Circuitscape raster .ini and write its outputs; returns the report (files, table, counts, notes).

    Relative paths in the .ini are read from ``base_dir`` (default: the current folder, as Circuitscape)."""
    return run_settings(read_ini(ini), base_dir=base_dir, output_dir=output_dir)


def check_settings(cfg: dict[str, str], *, base_dir=None) -> cs.Options:
    """Every option and input of a configuration read and checked, nothing computed nor written (the API's
    4xx before a job exists); returns the engine options."""
    o = options_from(cfg)
    with tempfile.TemporaryDirectory(prefix="circuitscape-") as tmp:
        ls, _hab = landscape_from(cfg, o, Path(base_dir) if base_dir is not None else Path.cwd(), Path(tmp))
        cs.check(ls, o)
    return o


def run_settings(cfg: dict[str, str], *, base_dir=None, output_dir=None, on_map=None) -> dict:
    """``run_config`` on a configuration already read (``read_ini``'s dict, or the API's); ``on_map(path)``
    is called after each map is written (a job's progress and cancel point)."""
    t0 = time.perf_counter()
    o = options_from(cfg)  # every mode and value checked before any file is read
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    prefix = output_prefix(cfg, base, Path(output_dir) if output_dir is not None else None)
    tif = _flag(cfg, "write_as_tif")
    notes = []
    if cfg.get("precision", "double").lower() == "single":
        notes.append("precision = single: se calcula en doble precisión.")
    written: list[Path] = []
    result = _run(cfg, o, base, prefix, tif, written, on_map)
    if result.resistances is not None:
        with _writing(prefix):
            written[:0] = write_resistances(prefix, result.resistances, o.mode == "pairwise")
    return {
        "mode": result.mode, "nodes": result.nodes, "solves": result.solves,
        "factorisations": result.factorisations,
        "resistances": None if result.resistances is None else result.resistances.tolist(),
        "files": [str(p) for p in written], "notes": notes + result.notes,
        "seconds": round(time.perf_counter() - t0, 3),
    }


@contextmanager
def _writing(prefix: str):
    """An output folder that cannot be written, a full disk: a Spanish error, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise DataFileError(f"No se pudieron escribir las salidas «{Path(prefix).name}_…»: "
                            f"{exc.strerror or exc}.") from None


def _run(cfg, o, base, prefix, tif, written, on_map=None) -> cs.CircuitscapeResult:
    with tempfile.TemporaryDirectory(prefix="circuitscape-") as tmp:
        ls, hab = landscape_from(cfg, o, base, Path(tmp))

        def sink(name, grid):
            path = Path(f"{prefix}_{name}.{'tif' if tif else 'asc'}")
            with _writing(prefix):
                (write_tif if tif else write_asc)(path, grid, hab)
            written.append(path)
            if on_map is not None:
                on_map(path)

        return cs.compute(ls, o, sink)

