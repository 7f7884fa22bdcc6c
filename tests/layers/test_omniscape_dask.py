"""Omniscape on a Dask cluster (layers.distributed.DaskExecutor): 2 worker processes reading the inputs from shared
COGs give the in-process result, which itself reproduces Omniscape.jl's published test1 outputs."""
import numpy as np
import pytest

from layers.connectivity.omniscape import Cancelled, OmniscapeParams, run_omniscape
from layers.distributed import DaskExecutor

from .test_omniscape import BASE, RES, SRC, grid, isapprox

distributed_pkg = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed_pkg.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                      host="127.0.0.1") as lc, distributed_pkg.Client(lc, set_as_default=False) as c:
        yield c


def test_two_dask_workers_give_the_published_outputs(client, tmp_path):
    p = OmniscapeParams(block_size=2, calc_flow_potential=True, calc_normalized_current=True, batch_size=8, **BASE)
    with DaskExecutor(client, shared_dir=tmp_path) as ex:
        r = run_omniscape(grid(RES), grid(SRC), p, executor=ex)
        assert len(list(ex.dir.glob("*.tif"))) == 2  # conductance and source went as COGs, not pickled arrays
    local = run_omniscape(grid(RES), grid(SRC), p)
    np.testing.assert_allclose(r.cum_currmap, local.cum_currmap, rtol=1e-12)
    assert isapprox(r.cum_currmap, grid("output_verify/test1/cum_currmap.tif"))
    assert isapprox(r.normalized, grid("output_verify/test1/normalized_cum_currmap.tif"))


def test_cancel_on_dask_stops_between_batches(client, tmp_path):
    p = OmniscapeParams(block_size=3, batch_size=4, **BASE)
    seen = []

    def cancelled():
        seen.append(1)
        return len(seen) >= 2

    with DaskExecutor(client, shared_dir=tmp_path) as ex, pytest.raises(Cancelled):
        run_omniscape(grid(RES), grid(SRC), p, executor=ex, cancelled=cancelled)
    assert len(seen) == 2  # checked after each batch: stopped after the second of 25
