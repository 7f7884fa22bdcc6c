"""Dask engine for raster work: a cluster client, an executor the engines plug in, and shared-storage rasters.

Engines (``layers.corridors.corridor``, ``layers.connectivity.omniscape``) stay Dask-agnostic: they take an
``executor`` with two methods and know nothing else about where their tasks run:

* ``share(array, name) -> SharedRaster`` — puts an input raster where every worker can read it (a tiled
  Cloud-Optimized GeoTIFF under ``GEOSIG_SHARED_DIR``) and returns a small picklable reference; a task reads
  only the window it needs with ``ref.read(window)``. Big arrays therefore never travel pickled to workers.
  A dataclass of rasters (Omniscape's inputs) is shared field by field (``SharedFields.window``).
* ``map(fn, batches) -> iterator`` — runs ``fn(batch)`` for every batch on the cluster and yields the results
  **in the order of ``batches``** (not as they complete), so a caller that sums them always sums in the same
  order and gets bit-identical totals whatever the number of workers.

Where the cluster is: ``GEOSIG_DASK_SCHEDULER`` (settings or environment, e.g. ``tcp://host:8786``) → an
existing scheduler; unset → a ``LocalCluster`` sized to this machine (one single-threaded worker process per
core, the RAM split between them), created lazily once per process and closed at exit.

Shared storage: ``GEOSIG_SHARED_DIR`` (default ``MEDIA_ROOT/shared``) must be the same path on the web/job
machine and on every worker (one machine: nothing to do; a cluster: an NFS/SMB mount at the same path).
Only paths this module wrote are ever opened (``read_window`` refuses anything else); user input never
reaches it. Django settings are read only in the functions that need them (``settings_*``), so workers import
this module without a configured Django.
"""
from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import re
import shutil
import threading
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

Window = tuple[tuple[int, int], tuple[int, int]]  # ((row0, row1), (col0, col1)), half-open
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")
_clients: dict[str, Any] = {}
_clusters: list = []  # LocalClusters this process started (closed with their clients at exit)
_lock = threading.Lock()


# ------------------------------------------------------------------------------------------- settings


def settings_scheduler() -> str:
    """The scheduler address from Django settings (if configured) or the environment; '' = a LocalCluster."""
    return str(_setting("GEOSIG_DASK_SCHEDULER", os.environ.get("GEOSIG_DASK_SCHEDULER", "")) or "").strip()


def settings_enabled() -> bool:
    """Whether entry points should send raster work to Dask (``GEOSIG_DASK``; on when a scheduler is named)."""
    return bool(_setting("GEOSIG_DASK", bool(settings_scheduler())))


def settings_shared_dir() -> Path:
    default = None
    media = _setting("MEDIA_ROOT", None)
    if media:
        default = Path(media) / "shared"
    value = _setting("GEOSIG_SHARED_DIR", os.environ.get("GEOSIG_SHARED_DIR") or default)
    if not value:
        raise RuntimeError("GEOSIG_SHARED_DIR no está configurado (carpeta compartida por todos los workers de Dask).")
    return Path(value)


def _setting(name: str, default):
    try:
        from django.conf import settings
        if settings.configured:
            return getattr(settings, name, default)
    except ImportError:  # a bare Dask worker without Django installed
        pass
    return default


# --------------------------------------------------------------------------------------------- client


def get_client(address: str | None = None):
    """A ``distributed.Client``: to ``address`` / ``GEOSIG_DASK_SCHEDULER`` if set, else to this process's
    LocalCluster (started on first use: one worker process per core, 1 thread each, RAM split between them)."""
    from distributed import Client

    address = settings_scheduler() if address is None else address.strip()
    with _lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        if address:
            client = Client(address, set_as_default=False, timeout="20s")
        else:
            cluster = local_cluster()
            _clusters.append(cluster)
            client = Client(cluster, set_as_default=False)
        _clients[address] = client
        return client


def local_cluster(n_workers: int | None = None):
    """A LocalCluster sized to the machine: ``n_workers`` (default: cores) processes × 1 thread, memory split."""
    import psutil
    from distributed import LocalCluster

    n = n_workers or os.cpu_count() or 1
    memory = int(psutil.virtual_memory().total * 0.8 / n)
    # Random ports on 127.0.0.1 (scheduler and its HTTP server): several processes on one machine never clash.
    return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=memory,
                        dashboard_address=":0", host="127.0.0.1")


@atexit.register
def close_clients() -> None:
    """Close every client (and the LocalCluster this process started)."""
    with _lock:
        for obj in [*_clients.values(), *_clusters]:
            try:
                obj.close()
            except Exception:  # noqa: BLE001 — at exit, a cluster already gone is fine
                pass
        _clients.clear()
        _clusters.clear()


# ------------------------------------------------------------------------------------- shared rasters


@dataclass(frozen=True)
class SharedRaster:
    """A raster written by ``write_cog`` (a path on shared storage); pickles as a few bytes."""

    path: str
    shape: tuple[int, int]
    dtype: str

    def read(self, window: Window | None = None) -> np.ndarray:
        return read_window(self.path, window or ((0, self.shape[0]), (0, self.shape[1])))


def write_cog(array: np.ndarray, transform=None, crs=None, name: str = "raster", directory: Path | None = None,
              overviews: bool = True) -> str:
    """Write ``array`` as a tiled Cloud-Optimized GeoTIFF in the shared folder; returns its path. ``name`` is an
    internal identifier (letters, digits, ``_.-``), never user input. Values (inf, NaN, every dtype GeoTIFF
    holds) are stored exactly: workers read back the same bits.

    Integer rasters are ZSTD-compressed; float rasters are not (measured on a 16 M-cell float64 surface: no
    gain in size, 3× slower reads). ``overviews=False`` for transient task inputs: workers read full-resolution
    windows only, and nearest overviews cost 2–3 s per 16 M-cell float raster (still a valid COG)."""
    import rasterio
    import rasterio.errors

    if not _NAME.match(name):
        raise ValueError(f"nombre interno no válido: {name!r}")
    directory = Path(directory) if directory is not None else settings_shared_dir()
    directory.mkdir(parents=True, exist_ok=True)
    arr = np.ascontiguousarray(array)
    final = directory / f"{name}.tif"
    tmp = directory / f".{name}.{uuid.uuid4().hex}.tif"
    profile = {"driver": "MEM", "height": arr.shape[0], "width": arr.shape[1], "count": 1, "dtype": arr.dtype.name,
               "transform": transform or rasterio.Affine.identity(), "crs": crs}
    with warnings.catch_warnings():
        # Engine grids are addressed by row/col only; an identity transform is expected, not a mistake.
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        _write_cog(arr, profile, tmp, overviews)
    os.replace(tmp, final)
    return str(final)


def _write_cog(arr, profile, tmp, overviews: bool) -> None:
    from rasterio.io import MemoryFile
    from rasterio.shutil import copy as rio_copy

    options = {"compress": "NONE"} if arr.dtype.kind == "f" else {"compress": "ZSTD", "level": 1}
    # Nearest overviews: an overview of a cost surface must not invent values.
    options.update(overview_resampling="nearest") if overviews else options.update(overviews="NONE")
    with MemoryFile() as mem, mem.open(**profile) as ds:
        ds.write(arr, 1)
        rio_copy(ds, str(tmp), driver="COG", blocksize=512, **options)


def read_window(path: str, window: Window) -> np.ndarray:
    """Band 1 of a COG written by ``write_cog``, rows ``window[0]`` × cols ``window[1]`` (half-open)."""
    import rasterio
    import rasterio.errors
    from rasterio.windows import Window as RioWindow

    p = Path(path)
    if not p.is_absolute() or p.suffix != ".tif" or str(path).startswith("/vsi") or "://" in str(path):
        raise ValueError(f"sólo se leen rásteres internos escritos por write_cog: {path!r}")
    (r0, r1), (c0, c1) = window
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # engine grids: rows/cols only
        with rasterio.open(p, driver="GTiff") as ds:  # our own COG: GeoTIFF driver only
            return ds.read(1, window=RioWindow.from_slices((r0, r1), (c0, c1)))


@dataclass(frozen=True)
class SharedFields:
    """A dataclass of same-shape 2-D arrays shared field by field; other fields (None, numbers) travel as they are.
    ``window`` reads only the requested cells of each raster and returns an instance of the original class."""

    cls: type
    refs: dict
    shape: tuple[int, int]

    def window(self, r0: int, r1: int, c0: int, c1: int):
        win = ((r0, r1), (c0, c1))
        return self.cls(**{k: v.read(win) if isinstance(v, SharedRaster) else v for k, v in self.refs.items()})


# ------------------------------------------------------------------------------------------- executor


class DaskExecutor:
    """Runs engine tasks on a Dask cluster; inputs go through shared COGs. Use as a context manager: on exit the
    rasters it shared are deleted. ``map`` yields results in the order of the batches (see module docstring)."""

    def __init__(self, client=None, shared_dir: Path | None = None, workers: list[str] | None = None):
        self.client = client if client is not None else get_client()
        self.only = workers  # restrict tasks to these worker addresses (strong-scaling benchmarks); None = all
        self.dir = Path(shared_dir if shared_dir is not None else settings_shared_dir()) / f"run-{uuid.uuid4().hex}"
        self._futures: list = []

    @property
    def workers(self) -> int:
        return len(self.only) if self.only else len(self.client.scheduler_info(n_workers=-1)["workers"])

    def share(self, obj, name: str = "raster", transform=None, crs=None):
        """A 2-D array → ``SharedRaster``; a dataclass of 2-D arrays (e.g. Omniscape's inputs) → ``SharedFields``,
        whose ``window(r0, r1, c0, c1)`` rebuilds the dataclass from windowed reads on the worker."""
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            refs = {f.name: self.share(v, f"{name}-{f.name}", transform, crs)
                    if isinstance(v := getattr(obj, f.name), np.ndarray) and v.ndim == 2 else v
                    for f in dataclasses.fields(obj)}
            shapes = {r.shape for r in refs.values() if isinstance(r, SharedRaster)}
            if len(shapes) != 1:
                raise ValueError(f"{type(obj).__name__}: se esperaba una sola forma de grilla, hay {shapes}")
            return SharedFields(type(obj), refs, shapes.pop())
        arr = np.asarray(obj)
        # A unique file per call: one executor may serve several runs (or several rasters of one name) at once.
        path = write_cog(arr, transform, crs, f"{name}-{uuid.uuid4().hex[:12]}", directory=self.dir, overviews=False)
        return SharedRaster(path, (int(arr.shape[0]), int(arr.shape[1])), arr.dtype.name)

    def map(self, fn: Callable, batches: Iterable) -> Iterator:
        futures = self.client.map(fn, list(batches), pure=False, workers=self.only, allow_other_workers=False)
        self._futures.extend(futures)
        try:
            for fut in futures:
                yield fut.result()
        finally:
            # A caller that stops early (cancelled run, error) leaves nothing running on the cluster.
            self.client.cancel([f for f in futures if not f.done()])

    def cancel(self) -> None:
        """Cancel every task this executor submitted that has not finished (engines call it on a cancel)."""
        pending = [f for f in self._futures if not f.done()]
        if pending:
            self.client.cancel(pending)
        self._futures.clear()

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def executor_from_settings() -> DaskExecutor | None:
    """A ``DaskExecutor`` when ``GEOSIG_DASK`` is on (the entry points' switch), else None (in-process engine)."""
    return DaskExecutor() if settings_enabled() else None


@contextlib.contextmanager
def raster_executor(given=None):
    """For entry points (services, jobs): the caller's executor; else a Dask one when ``GEOSIG_DASK`` is on, its
    shared files removed when the block ends; else None (the engine computes in this process)."""
    if given is not None:
        yield given
        return
    ex = executor_from_settings()
    if ex is None:
        yield None
        return
    with ex:
        yield ex
