"""manage.py omniscape CONFIG.ini: Omniscape.jl configs run unchanged (paths relative to the current folder) and
write its outputs as GeoTIFF in the input's grid; the published outputs are reproduced within its tolerance."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from django.core.management import CommandError, call_command

from .test_omniscape import FIX, grid, isapprox, with_julia_tips

# Omniscape.jl test/input/config3.ini, verbatim except the raster extension (.asc → .tif, see the fixtures README):
# it even keeps the «solver = cholmod» twice and Omniscape.jl's own [Unsupported arguments…] section removed.
CONFIG3 = """[Input files]
resistance_file = input/resistance1.tif

[Options]
block_size = 3
radius = 5
source_threshold = 0.2
project_name = test3
calc_flow_potential = true
source_from_resistance = true
r_cutoff = 0.25
solver = cholmod

write_raw_currmap = true
calc_normalized_current = false
mask_nodata = true

write_as_tif = false
solver = cholmod

parallelize = true
"""

CONFIG1 = """[Input files]
resistance_file = input/resistance.tif
source_file = input/source.tif

[Options]
block_size = 2
radius = 5
buffer = 2
source_threshold = 0.2
project_name = out/test1
calc_flow_potential = true
correct_artifacts = true
source_from_resistance = false
mask_nodata = true

write_raw_currmap = true
calc_normalized_current = true

parallelize = true
parallel_batch_size = 10
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(FIX / "input", tmp_path / "input")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def read(path: Path):
    with rasterio.open(path) as ds:
        return ds.read(1, masked=True).astype(float).filled(np.nan), ds.transform, ds.crs, ds.nodata


def test_config3_unchanged_reproduces_published_outputs(workdir, capsys):
    (workdir / "config3.ini").write_text(CONFIG3)
    call_command("omniscape", "config3.ini")
    out = workdir / "test3"
    assert sorted(p.name for p in out.iterdir()) == ["config.ini", "cum_currmap.tif", "flow_potential.tif"]
    cum, transform, _, nodata = read(out / "cum_currmap.tif")
    with rasterio.open(workdir / "input" / "resistance1.tif") as ds:
        assert transform == ds.transform and cum.shape == ds.shape
    assert nodata == -9999
    assert isapprox(cum, grid("output_verify/test3/cum_currmap.asc"))
    assert isapprox(read(out / "flow_potential.tif")[0], grid("output_verify/test3/flow_potential.asc"))
    text = capsys.readouterr().out
    assert "write_as_tif = false" in text and "ventanas" in text


def test_config3_reads_the_original_ascii_grid(workdir):
    """Omniscape.jl's config3.ini with its own .asc input (only its «Unsupported arguments» section left out:
    unknown keys are an error here): the published outputs are reproduced within its tolerance."""
    shutil.copy(FIX / "input_asc" / "resistance1.asc", workdir / "input" / "resistance1.asc")
    (workdir / "config3.ini").write_text(CONFIG3.replace("input/resistance1.tif", "input/resistance1.asc"))
    call_command("omniscape", "config3.ini")
    cum, transform, _, nodata = read(workdir / "test3" / "cum_currmap.tif")
    assert cum.shape == (23, 30) and (transform.a, transform.e) == (1, -1) and nodata == -9999
    assert isapprox(cum, grid("output_verify/test3/cum_currmap.asc"))
    assert isapprox(read(workdir / "test3" / "flow_potential.tif")[0], grid("output_verify/test3/flow_potential.asc"))


# Omniscape.jl test/input/config_reclass.ini, verbatim except the raster extension (.asc → .tif).
CONFIG_RECLASS = """[Input files]
resistance_file = input/discrete_resistance.tif

[Options]
block_size = 1
radius = 5
buffer = 0
project_name = test_reclass
source_from_resistance = true

mask_nodata = true
write_raw_currmap = true
calc_normalized_current = false
write_as_tif = false

[reclass stuff]
reclassify_resistance = true
reclass_table = input/reclass.txt
write_reclassified_resistance = true

parallelize = true
parallel_batch_size = 10
"""


def test_config_reclass_reproduces_published_map_and_reclassified_resistance(workdir):
    """runtests.jl compares only its cum_currmap; the reclassified resistance it also publishes is checked here
    (class 5 → «missing»: nodata)."""
    (workdir / "config_reclass.ini").write_text(CONFIG_RECLASS)
    call_command("omniscape", "config_reclass.ini")
    out = workdir / "test_reclass"
    assert isapprox(read(out / "cum_currmap.tif")[0], grid("output_verify/test_reclass/cum_currmap.asc"))
    ours, ref = read(out / "classified_resistance.tif")[0], grid("output_verify/test_reclass/classified_resistance.asc")
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=1e-12)
    assert np.isnan(ref).sum() == 9  # the class-5 cells


# Omniscape.jl test/input/config4a.ini, verbatim except the raster extension (.asc → .tif).
CONFIG4A = """[Input files]
resistance_file = input/resistance.tif
source_file = input/source.tif

[Options]
block_size = 3
radius = 5
buffer = 2
source_threshold = 0.2
project_name = test4a
correct_artifacts = true
source_from_resistance = false
r_cutoff = 0.0
connect_four_neighbors_only = true

[Conditional connectivity options]
conditional = true
n_conditions = 2
compare_to_future = both

condition1_file = input/temperature.tif
condition1_future_file = input/temperature.tif
comparison1 = within
condition1_lower = -0.5
condition1_upper = 0.5

condition2_file = input/precipitation.tif
condition2_future_file = input/precipitation.tif
comparison2 = within
condition2_lower = -0.5
condition2_upper = 0.5

[Output options]
write_raw_currmap = false
calc_normalized_current = true
calc_flow_potential = true

parallelize = false
"""


def test_config4a_unchanged_reproduces_published_outputs(workdir, monkeypatch):
    """Its flow potential and normalised current with Omniscape.jl's two round-off tips of the correction array
    (tests/layers/test_omniscape.py, JL_TEST4A_TIPS); write_raw_currmap = false: no cum_currmap file."""
    with_julia_tips(monkeypatch)
    (workdir / "config4a.ini").write_text(CONFIG4A)
    call_command("omniscape", "config4a.ini")
    out = workdir / "test4a"
    assert sorted(p.name for p in out.iterdir()) == ["config.ini", "flow_potential.tif",
                                                      "normalized_cum_currmap.tif"]
    assert isapprox(read(out / "flow_potential.tif")[0], grid("output_verify/test4a/flow_potential.tif"))
    assert isapprox(read(out / "normalized_cum_currmap.tif")[0],
                    grid("output_verify/test4a/normalized_cum_currmap.tif"))


def test_config1_with_workers_and_existing_project_folder(workdir):
    (workdir / "config.ini").write_text(CONFIG1)
    (workdir / "out" / "test1").mkdir(parents=True)  # Omniscape.jl never overwrites: test1_1
    call_command("omniscape", "config.ini", "--workers", "2")
    out = workdir / "out" / "test1_1"
    assert isapprox(read(out / "cum_currmap.tif")[0], grid("output_verify/test1/cum_currmap.tif"))
    assert isapprox(read(out / "flow_potential.tif")[0], grid("output_verify/test1/flow_potential.tif"))
    assert isapprox(read(out / "normalized_cum_currmap.tif")[0],
                    grid("output_verify/test1/normalized_cum_currmap.tif"))
    assert "radius = 5" in (out / "config.ini").read_text()
    assert not any(p.name.startswith(".") for p in (workdir / "out").iterdir())  # no temporary folder left


@pytest.mark.parametrize("extra, message", [
    ("foo = something\n", "Claves no soportadas en la configuración: foo"),
    ("connect_four_neighbors_only = quizá\n", "connect_four_neighbors_only"),
    ("solver = wrong_solver_name\n", r"cg\+amg, cholmod"),
    ("precision = half\n", "double, single"),
])
def test_bad_configs_get_a_spanish_error_and_write_nothing(workdir, extra, message):
    (workdir / "bad.ini").write_text(CONFIG1 + extra)
    with pytest.raises(CommandError, match=message):
        call_command("omniscape", "bad.ini")
    assert not (workdir / "out").exists()


def test_unsupported_key_lists_the_supported_ones(workdir):
    (workdir / "bad.ini").write_text(CONFIG1 + "resistance_file_is_conductance = true\n")
    with pytest.raises(CommandError) as exc:
        call_command("omniscape", "bad.ini")
    assert "resistance_is_conductance" in str(exc.value) and "block_size" in str(exc.value)


def test_missing_required_key_and_unsupported_raster_format(workdir):
    (workdir / "a.ini").write_text("radius = 5\nproject_name = x\n")
    with pytest.raises(CommandError, match="resistance_file"):
        call_command("omniscape", "a.ini")
    (workdir / "r.xyz").write_text("0 0 1\n1 0 2\n")  # GeoTIFF and ESRI ASCII grids only (no XYZ, VRT…)
    (workdir / "b.ini").write_text("resistance_file = r.xyz\nradius = 1\nproject_name = x\n"
                                   "source_from_resistance = true\n")
    with pytest.raises(CommandError, match=r"r\.xyz.*\.asc"):
        call_command("omniscape", "b.ini")
    assert not (workdir / "x").exists()


def test_source_grid_must_match(workdir):
    with rasterio.open(workdir / "input" / "source.tif") as ds:
        profile, data = ds.profile, ds.read(1)
    profile.update(width=29)
    with rasterio.open(workdir / "input" / "small.tif", "w", **profile) as ds:
        ds.write(data[:, :29], 1)
    (workdir / "c.ini").write_text(CONFIG1.replace("input/source.tif", "input/small.tif"))
    with pytest.raises(CommandError, match="no tiene el tamaño"):
        call_command("omniscape", "c.ini")
