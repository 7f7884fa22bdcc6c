"""Settings the code reads with ``getattr(settings, NAME, default)`` are declared in geosig/settings.py, read
from the environment like the others, and listed in the README's configuration table: an operator can find
and change them without reading the code."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# name → (a value to set in the environment, the value the settings must then hold)
DECLARED = {
    "CONNECTIVITY_MAX_CELLS": ("123456", 123456),
    "CONNECTIVITY_THREADS": ("3", 3),
    "CONNECTIVITY_CANCEL_POLL_SECONDS": ("0.25", 0.25),
    "OGC_MAX_LIMIT": ("777", 777),
    "OGC_MAX_LIMIT_ANON": ("55", 55),
    "CORRIDOR_INPUTS_RETENTION_HOURS": ("1.5", 1.5),
    "CORRIDORS_MAX_CELLS": ("654321", 654321),
    "CORRIDORS_MAX_ACTIVE": ("4", 4),
    "CORRIDORS_STALE_MINUTES": ("15", 15),
    "POT_DEPARTMENT_MAX_ACTIVE": ("5", 5),
}
# read in several places: every getattr fallback of these names, wherever it is, must equal the declared default
FALLBACK_ANYWHERE = ("CORRIDOR_INPUTS_RETENTION_HOURS", "CORRIDORS_MAX_CELLS", "CORRIDORS_MAX_ACTIVE",
                     "CORRIDORS_STALE_MINUTES")
APP_DIRS = ("geosig", "jobs", "layers", "territorial", "cities", "plan", "ogc")


def _settings(names, **env_values):
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            f"print(json.dumps({{k: getattr(s, k, 'MISSING') for k in {list(names)!r}}}))")
    env = {k: v for k, v in os.environ.items() if k not in DECLARED}
    env.update(env_values, DJANGO_SETTINGS_MODULE="geosig.settings")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_declared_with_the_defaults_the_code_falls_back_to():
    """Unset in the environment, each holds the same default as the code's getattr fallback (read from the source)."""
    got = _settings(DECLARED)
    assert "MISSING" not in got.values(), got
    code = {
        "CONNECTIVITY_MAX_CELLS": (ROOT / "layers/connectivity/analysis.py", r'"CONNECTIVITY_MAX_CELLS", ([\d_]+)\)'),
        "CONNECTIVITY_THREADS": (ROOT / "layers/connectivity/analysis.py", r'"CONNECTIVITY_THREADS", ([\d_]+)\)'),
        "CONNECTIVITY_CANCEL_POLL_SECONDS": (ROOT / "layers/connectivity/runs.py",
                                             r'"CONNECTIVITY_CANCEL_POLL_SECONDS", ([\d_.]+)\)'),
        "OGC_MAX_LIMIT_ANON": (ROOT / "ogc/services/features.py", r"else \"OGC_MAX_LIMIT\", ([\d_]+) if anon"),
        "OGC_MAX_LIMIT": (ROOT / "ogc/services/features.py", r"if anon else ([\d_]+)\)"),
    }
    for name, (path, pattern) in code.items():
        m = re.search(pattern, path.read_text(encoding="utf-8"))
        assert m, f"{name}: fallback not found in {path.name}"
        assert got[name] == float(m.group(1).replace("_", "")), name
    for name in FALLBACK_ANYWHERE:
        pattern = re.compile(rf'getattr\(settings, "{name}", ([\d_.]+)\)')
        found = [(path.name, m.group(1)) for top in APP_DIRS for path in sorted((ROOT / top).rglob("*.py"))
                 if path.name != "settings.py" for m in pattern.finditer(path.read_text(encoding="utf-8"))]
        assert found, f"{name}: no getattr fallback found"
        assert all(got[name] == float(v.replace("_", "")) for _, v in found), (name, got[name], found)


def test_each_is_read_from_the_environment():
    got = _settings(DECLARED, **{k: v for k, (v, _) in DECLARED.items()})
    assert got == {k: expected for k, (_, expected) in DECLARED.items()}


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_listed_in_the_readme_configuration_table(name):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuración", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert any(f"`{name}`" in row for row in rows), name
