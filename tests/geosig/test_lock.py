"""requirements.lock (what setup installs, with hashes) stays in step with pyproject.toml (the ranges).

A dependency added to pyproject.toml without refreshing the lock would be missing on a fresh machine;
this names it, and the command that refreshes the lock (README, «Dependencias»).
"""
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _locked() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return {canonicalize_name(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", text, re.M)}


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def test_every_declared_dependency_is_locked_within_its_range():
    locked = _locked()
    problems = []
    for req in _declared():
        version = locked.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name}: no está en requirements.lock")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}: la versión fijada {version} no cumple {req.specifier}")
    assert not problems, "Actualice requirements.lock (README, «Dependencias»): " + "; ".join(problems)


def test_every_locked_line_has_a_hash():
    text = (ROOT / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text.split("\n", 1)[1] if text.startswith("#") else text)
    pinned = [e for e in entries if re.match(r"[A-Za-z0-9_.\-]+==", e.strip())]
    assert len(pinned) == len(_locked()) > 50
    assert all("--hash=sha256:" in e for e in pinned)
