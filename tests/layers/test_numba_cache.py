"""No compile pause on first use in a process: every compiled engine kernel is cached on disk (numba
``cache=True``), so a fresh process loads the machine code instead of compiling it.

Checked without timing (a loaded machine makes timings flaky): two fresh subprocesses share an empty
NUMBA_CACHE_DIR; the first compiles and writes the cache, the second must report only cache hits (numba's
dispatcher ``stats``) and no misses for every kernel it ran."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, math
import numpy as np
from numba.core.registry import CPUDispatcher
from layers.corridors import costdistance
from layers.connectivity import kernels, omniscape
from cities.services import brandes

res = np.ones((12, 12))
res[5, 2:9] = 40.0
src = np.zeros((12, 12), np.int32)
src[1, 1] = 1
src[10, 10] = 2
full = costdistance.cost_distance(res, src, 10.0, allocation=True, predecessors=True)
costdistance.cost_distance_from_zone(res, full.alloc == 1, full.dist, full.pred, 10.0)
brandes.betweenness(4, np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([1.0, 2.0, 1.0]))
sources = np.zeros((12, 12))
sources[3:9, 3:9] = 1.0
p = omniscape.OmniscapeParams(radius=3, buffer=1, source_threshold=0.2, block_size=1)
omniscape.run_omniscape(res, sources, p)

out = {}
for mod in (costdistance, kernels, brandes):
    for name, obj in vars(mod).items():
        if isinstance(obj, CPUDispatcher) and obj.signatures:
            out[f"{mod.__name__}.{name}"] = {"cache": bool(obj._cache.cache_path), "hits": sum(obj.stats.cache_hits.values()),
                                             "misses": sum(obj.stats.cache_misses.values())}
print(json.dumps(out))
"""


def _run(cache_dir: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir), "DJANGO_SETTINGS_MODULE": "geosig.settings"}
    proc = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_second_process_loads_every_engine_kernel_from_the_cache(tmp_path):
    first = _run(tmp_path)
    assert any(v["misses"] for v in first.values())  # the empty cache really was empty: compiled, then written
    assert list(tmp_path.rglob("*.nbi")) and list(tmp_path.rglob("*.nbc"))
    second = _run(tmp_path)
    expected = {"_dijkstra", "_dijkstra_zone", "ground_component", "grid_fill_values", "grid_node_currents",
                "_brandes"}
    assert expected <= {k.rsplit(".", 1)[1] for k in second}
    for name, st in second.items():
        assert st["misses"] == 0 and st["hits"] >= 1, (name, st)
