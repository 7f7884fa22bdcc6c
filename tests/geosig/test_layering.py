"""The layering of the README, enforced: import-linter contracts in ``.importlinter`` (also run by ``make test``).

The second test proves the check can fail: it copies the project's packages to a temporary folder, adds
one forbidden import (layers → cities) and expects import-linter to name the broken contract.
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# every root package the contracts name (apps are added at the top of the stack: read them, do not list them)
PACKAGES = tuple(line.strip() for line in (ROOT / ".importlinter").read_text().split("[importlinter:contract")[0]
                 .split("root_packages =", 1)[1].splitlines() if line.strip())
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT), "--config", str(ROOT / ".importlinter"), "--no-cache"],
        cwd=cwd, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120,
    )


def test_project_keeps_its_contracts():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_a_forbidden_import_breaks_the_stack(tmp_path):
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("static", "templates", "__pycache__"))
    (tmp_path / "layers" / "_forbidden_probe.py").write_text("import cities.models  # layers may not know cities\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert re.search(r"One-way stack: .*cities → territorial → layers → .*geosig BROKEN", result.stdout), result.stdout
    assert "layers._forbidden_probe -> cities.models" in result.stdout
