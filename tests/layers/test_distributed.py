"""Dask engine: a LocalCluster of 2 worker processes gives the same bits as the in-process path.

The reference is the engine's own threaded path (itself checked against skimage's MCP_Geometric in
test_corridors_corridor.py); here the per-core searches run as window tasks on other processes, reading their
inputs from shared COGs, and every surface, link and corridor must be identical (np.array_equal, not approx).
"""
import dataclasses
import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import rasterio
from django.conf import settings as django_settings

from layers import distributed
from layers.corridors.corridor import Cancelled, CoreTask, _cutoffs, adjacency, core_surface, corridors
from layers.corridors.costdistance import cost_distance, cost_distance_from_zone, validate_resistance
from layers.distributed import DaskExecutor, SharedRaster, get_client, read_window, write_cog

distributed_pkg = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    # The spec's acceptance setting: 2 worker processes (not threads), 1 thread each.
    with distributed_pkg.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                      host="127.0.0.1") as lc:
        yield lc


@pytest.fixture(scope="module")
def client(cluster):
    with distributed_pkg.Client(cluster, set_as_default=False) as c:
        yield c


class Recording(DaskExecutor):
    """The Dask executor, remembering the tasks it ran (to check the windows really are windows)."""

    def map(self, fn, batches):
        self.tasks = list(batches)
        return super().map(fn, self.tasks)


def long_valley(seed=5):
    """A 70 × 700 strip with 6 cores along it, a barrier wall with one gap, flat (tied) stretches and noise."""
    rng = np.random.default_rng(seed)
    rows, cols = 70, 700
    res = 1.0 + rng.uniform(0, 2, (rows, cols))
    res[:, 200:260] = 1.0  # flat: many equal costs, so predecessor ties must break the same way
    res[5:65, 400] = np.nan  # a wall with gaps at both ends
    res[30:40, 550:560] = 50.0
    cores = np.zeros((rows, cols), np.int32)
    for k, c in enumerate((20, 130, 240, 360, 480, 640), start=1):
        r = 15 + (k * 17) % 40
        cores[r:r + 4, c:c + 5] = k
    cores[60:62, 10:12] = 7  # a small core next to core 1
    return res, cores


def test_corridor_run_on_two_workers_is_identical_to_threads(client, tmp_path):
    res, cores = long_valley()
    ref = corridors(res, cores, cell_size=30.0, width=3000.0, threads=2)
    with Recording(client, shared_dir=tmp_path) as ex:
        out = corridors(res, cores, cell_size=30.0, width=3000.0, executor=ex)
        assert len(list(ex.dir.glob("*.tif"))) == 4  # inputs went as files, not pickled arrays
    assert not ex.dir.exists()  # the executor removes what it shared
    # The halo is a real window for the cores far from the strip's ends (not the whole grid every time).
    widths = [t.window[1][1] - t.window[1][0] for t in ex.tasks]
    assert min(widths) < res.shape[1] / 2, widths
    assert sorted(out.cwd) == sorted(ref.cwd) == [1, 2, 3, 4, 5, 6, 7]
    for lab in ref.cwd:
        assert np.array_equal(out.cwd[lab], ref.cwd[lab]), lab
        assert np.isfinite(ref.cwd[lab]).sum() > 1000
    assert np.array_equal(out.corridor, ref.corridor)
    assert np.array_equal(out.corridor_link, ref.corridor_link)
    assert np.array_equal(out.alloc, ref.alloc) and np.array_equal(out.cwd_min, ref.cwd_min)
    assert [(lk.a, lk.b, lk.status, lk.lcd, lk.via) for lk in out.links] == \
           [(lk.a, lk.b, lk.status, lk.lcd, lk.via) for lk in ref.links]
    for mine, theirs in zip(out.links, ref.links):  # least-cost paths are traced from the predecessors
        assert (mine.path is None and theirs.path is None) or np.array_equal(mine.path, theirs.path)
    assert sum(lk.status == "ok" for lk in ref.links) >= 5


def test_a_window_too_small_grows_until_nothing_within_the_cut_off_touches_it(tmp_path):
    """The guard behind the windows: start a core's search on its own cells only; the task must widen the window
    (more than once) and still return exactly the whole-grid surface."""
    res, cores = long_valley(11)
    v = validate_resistance(res)
    full = cost_distance(v, cores, 30.0, allocation=True, predecessors=True, validated=True)
    adj = adjacency(full.alloc, full.dist, v, 30.0)
    cutoff = _cutoffs(adj, 3000.0, None)
    lab = 3
    whole = cost_distance_from_zone(v, full.alloc == lab, full.dist, full.pred, 30.0, cutoff=cutoff[lab])
    rasters = {k: SharedRaster(write_cog(a, name=k, directory=tmp_path), a.shape, a.dtype.name)
               for k, a in (("resistance", v), ("alloc", full.alloc), ("cwd", full.dist), ("pred", full.pred))}
    (r0, r1), (c0, c1) = np.nonzero(cores == lab)[0][[0, -1]], np.nonzero((cores == lab).any(0))[0][[0, -1]]
    zr, zc = np.nonzero((full.alloc == lab).any(1))[0], np.nonzero((full.alloc == lab).any(0))[0]
    task = CoreTask(lab, ((r0, r1 + 1), (c0, c1 + 1)), ((0, v.shape[0]), (0, v.shape[1])),
                    ((zr[0], zr[-1] + 1), (zc[0], zc[-1] + 1)), cutoff[lab], 30.0, rasters)
    got, ((a0, a1), (b0, b1)), dist, pred, tries = core_surface(task)
    assert got == lab and tries >= 3
    expected = np.full(v.shape, np.inf)
    expected[a0:a1, b0:b1] = dist
    assert np.array_equal(expected, whole.dist)
    assert np.array_equal(pred, whole.pred[a0:a1, b0:b1]) and (whole.pred[np.isinf(whole.dist)] == -1).all()


def test_a_cancelled_run_stops_and_leaves_nothing_shared(client, tmp_path):
    res, cores = long_valley(7)
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 3  # after the all-cores pass and the first core's surface

    with DaskExecutor(client, shared_dir=tmp_path) as ex, pytest.raises(Cancelled):
        corridors(res, cores, cell_size=30.0, width=3000.0, executor=ex, cancelled=cancelled)
    assert not ex.dir.exists()


def test_shared_cogs_keep_every_bit_and_refuse_foreign_paths(tmp_path):
    rng = np.random.default_rng(1)
    f = rng.normal(size=(300, 530))
    f[3, 4], f[200, 500] = np.inf, np.nan
    pred = rng.integers(-1, 8, (300, 530)).astype(np.int8)
    for arr, name in ((f, "surface"), (pred, "pred")):
        path = write_cog(arr, name=name, directory=tmp_path)
        with rasterio.open(path) as ds:  # a tiled COG with overviews, as the shared-storage contract says
            assert ds.profile["tiled"] and ds.overviews(1) and ds.dtypes[0] == arr.dtype.name
        win = read_window(path, ((17, 290), (99, 531)))
        assert win.dtype == arr.dtype
        np.testing.assert_array_equal(win, arr[17:290, 99:531])  # NaN == NaN here; inf, signs, all bits
        ref = SharedRaster(path, arr.shape, arr.dtype.name)
        np.testing.assert_array_equal(ref.read(), arr)
    for bad in ("/vsicurl/http://x/a.tif", "relative.tif", "https://x/a.tif", str(tmp_path / "a.vrt")):
        with pytest.raises(ValueError):
            read_window(bad, ((0, 1), (0, 1)))
    with pytest.raises(ValueError):
        write_cog(f, name="../escape", directory=tmp_path)


def test_get_client_connects_to_the_scheduler_in_settings(cluster, settings, tmp_path):
    settings.GEOSIG_DASK_SCHEDULER = cluster.scheduler_address
    settings.GEOSIG_DASK = True
    settings.GEOSIG_SHARED_DIR = str(tmp_path)
    try:
        c = get_client()
        assert c.scheduler.address == cluster.scheduler_address
        assert len(c.scheduler_info(n_workers=-1)["workers"]) == 2
        assert c.submit(math.hypot, 3, 4).result() == 5.0  # runs on that cluster's workers
        ex = distributed.executor_from_settings()
        assert isinstance(ex, DaskExecutor) and ex.client is c and ex.dir.parent == tmp_path
        settings.GEOSIG_DASK = False
        assert distributed.executor_from_settings() is None
    finally:
        distributed.close_clients()


def test_without_a_scheduler_a_local_cluster_sized_to_the_machine(settings, monkeypatch):
    settings.GEOSIG_DASK_SCHEDULER = ""
    monkeypatch.delenv("GEOSIG_DASK_SCHEDULER", raising=False)
    try:
        c = get_client()
        assert get_client() is c  # once per process
        workers = c.scheduler_info(n_workers=-1)["workers"].values()
        assert len(workers) == (os.cpu_count() or 1)
        assert {w["nthreads"] for w in workers} == {1}
    finally:
        distributed.close_clients()
    assert c.status == "closed"


@dataclasses.dataclass
class Pair:
    conductance: np.ndarray
    source: np.ndarray
    condition1: np.ndarray | None = None


def test_shared_dataclass_reads_windows_of_each_field(client, tmp_path):
    """Omniscape's inputs travel as one COG per field; a window on the worker rebuilds the same dataclass."""
    rng = np.random.default_rng(3)
    obj = Pair(rng.uniform(0.1, 5, (80, 120)), rng.uniform(0, 1, (80, 120)))
    obj.conductance[4, 5] = np.nan
    with DaskExecutor(client, shared_dir=tmp_path) as ex:
        shared = ex.share(obj, "inputs")
        assert shared.shape == (80, 120) and len(list(ex.dir.glob("*.tif"))) == 2
        sub = shared.window(3, 50, 7, 119)
        assert type(sub) is Pair and sub.condition1 is None
        np.testing.assert_array_equal(sub.conductance, obj.conductance[3:50, 7:119])
        np.testing.assert_array_equal(sub.source, obj.source[3:50, 7:119])
        # ... and on the workers, where the tasks read it (the shared object pickles as paths, not arrays).
        sums = list(ex.map(_window_sum, [(shared, r) for r in range(0, 80, 20)]))
        assert len(pickle.dumps(shared)) < 2000
    assert sums == [float(np.nansum(obj.conductance[r:r + 20])) for r in range(0, 80, 20)]


def _window_sum(args):
    shared, r = args
    return float(np.nansum(shared.window(r, r + 20, 0, shared.shape[1]).conductance))


CALI_CORES = [17, 216, 221, 225]  # RUNAP centroids south of 4°N, on the DEM (as test_corridors_services.py)


@pytest.fixture
def real_layers(db, media):
    from layers.services.importing import import_layer
    from layers.services.shipped import SHIPPED

    for e in SHIPPED:
        if e["meta"]["slug"] in ("dem-srtm3", "runap-centroides", "red-vial-nacional", "centros-poblados"):
            import_layer(Path(django_settings.GEOSIG_RAW_DIR) / e["file"], theme=e["theme"], replace=True, metadata=e["meta"])


def test_corridor_run_with_dask_in_settings_writes_the_same_results(real_layers, cluster, settings, tmp_path):
    """The acceptance check of issue #10: a whole corridor run (real DEM, roads, towns, RUNAP cores) with
    GEOSIG_DASK on and a 2-worker LocalCluster writes the same rasters and tables as the in-process run."""
    from layers.corridors.services import run_corridors

    def run(out):
        return run_corridors({"layer": "runap-centroides", "ids": CALI_CORES}, "derivada", 500, 20000,
                             out_dir=out, point_radius=1000)

    settings.GEOSIG_DASK = False
    ref = run(tmp_path / "threads")
    settings.GEOSIG_DASK, settings.GEOSIG_DASK_SCHEDULER = True, cluster.scheduler_address
    settings.GEOSIG_SHARED_DIR = str(tmp_path / "shared")
    try:
        with distributed_pkg.get_task_stream(client=get_client()) as stream:
            out = run(tmp_path / "dask")
    finally:
        distributed.close_clients()
    ran = [t["key"] for t in stream.data]
    assert sum("core_surface" in str(k) for k in ran) == 4, ran  # one task per core, on the cluster
    assert list((tmp_path / "shared").iterdir()) == []  # the run's shared COGs are gone
    assert sorted(p.name for p in out.out_dir.iterdir()) == sorted(p.name for p in ref.out_dir.iterdir())
    compared = 0
    for f in sorted(ref.out_dir.iterdir()):
        g = out.out_dir / f.name
        if f.suffix == ".tif":
            with rasterio.open(f) as a, rasterio.open(g) as b:
                assert a.count == b.count and a.transform == b.transform
                assert np.array_equal(a.read(), b.read(), equal_nan=True), f.name
            compared += 1
        elif f.suffix == ".csv":
            assert f.read_bytes() == g.read_bytes(), f.name
            compared += 1
    assert compared >= 6
    assert [(lk["core_a"], lk["core_b"], lk["status"], lk["cwd"]) for lk in out.links] == \
           [(lk["core_a"], lk["core_b"], lk["status"], lk["cwd"]) for lk in ref.links]


def test_omniscape_on_two_workers_is_bit_identical_to_the_serial_run(client, tmp_path):
    """The second client of the engine (issue #10): Omniscape.jl's test1 grid on a 2-process LocalCluster. The
    executor yields partial sums in batch order, so the engine adds them in the serial order: equal bits, not
    merely close (the agreement with Omniscape.jl's published outputs is tested in test_omniscape*.py)."""
    from layers.connectivity.omniscape import OmniscapeParams, run_omniscape

    from .test_omniscape import BASE, RES, SRC, grid

    p = OmniscapeParams(block_size=2, calc_flow_potential=True, calc_normalized_current=True, batch_size=4, **BASE)
    serial = run_omniscape(grid(RES), grid(SRC), p)
    threads = run_omniscape(grid(RES), grid(SRC), dataclasses.replace(p, workers=2))
    with DaskExecutor(client, shared_dir=tmp_path) as ex:
        dask = run_omniscape(grid(RES), grid(SRC), p, executor=ex)
    assert dask.targets == serial.targets > 20  # several batches, spread over both workers
    for out in (dask, threads):
        for name in ("cum_currmap", "flow_potential", "normalized"):
            assert np.array_equal(getattr(out, name), getattr(serial, name), equal_nan=True), name
    assert np.nanmax(serial.cum_currmap) > 0


def test_the_environment_names_the_scheduler_where_settings_do_not(settings, monkeypatch, tmp_path):
    del settings.GEOSIG_DASK_SCHEDULER, settings.GEOSIG_DASK, settings.GEOSIG_SHARED_DIR
    monkeypatch.setenv("GEOSIG_DASK_SCHEDULER", " tcp://10.0.0.5:8786 ")
    monkeypatch.delenv("GEOSIG_SHARED_DIR", raising=False)
    assert distributed.settings_scheduler() == "tcp://10.0.0.5:8786"
    assert distributed.settings_enabled()  # naming a scheduler turns Dask on unless GEOSIG_DASK says otherwise
    assert distributed.settings_shared_dir() == Path(settings.MEDIA_ROOT) / "shared"
    monkeypatch.delenv("GEOSIG_DASK_SCHEDULER")
    assert distributed.settings_scheduler() == "" and not distributed.settings_enabled()
