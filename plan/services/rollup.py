"""Weighted roll-up of project progress: projects → programs → program lines → dimensions (as Decidim's
accountability module: a parent's progress is the weighted mean of its children's, children weighted by
their own ``weight``). A node without any project below it has no progress and does not count in its
parent's mean. Lines without a dimension are gathered under ``unassigned``. Also by subregion: the weighted
mean of the projects in it (a project spanning two subregions counts in both).
"""
from __future__ import annotations

from collections import defaultdict


def weighted_mean(pairs) -> float | None:
    """pairs: (value, weight); values None are left out. None when no weight remains."""
    num = den = 0.0
    for value, weight in pairs:
        if value is None:
            continue
        num += value * weight
        den += weight
    return num / den if den > 0 else None


def _r(x):
    return None if x is None else round(x, 2)


def rollup(projects) -> dict:
    """``projects``: a Project queryset (already filtered to what the caller may see)."""
    from plan.models import Dimension, Program, ProgramLine

    by_program = defaultdict(list)
    for pid, progress, weight in projects.values_list("program_id", "progress", "weight"):
        by_program[pid].append((progress, weight))
    programs = defaultdict(list)
    for p in Program.objects.all():
        programs[p.line_id].append({"code": p.code, "name": p.name, "weight": p.weight, "is_demo": p.is_demo,
                                    "projects": len(by_program[p.pk]),
                                    "progress": _r(weighted_mean(by_program[p.pk]))})
    lines = defaultdict(list)
    for line in ProgramLine.objects.all():
        children = programs[line.pk]
        lines[line.dimension_id].append({
            "code": line.code, "name": line.name, "weight": line.weight, "dimension_is_demo": line.dimension_is_demo,
            "projects": sum(c["projects"] for c in children), "programs": children,
            "progress": _r(weighted_mean((c["progress"], c["weight"]) for c in children))})
    dims = []
    for d in Dimension.objects.all():
        children = lines[d.pk]
        dims.append({"code": d.code, "name": d.name, "projects": sum(c["projects"] for c in children),
                     "lines": children,
                     "progress": _r(weighted_mean((c["progress"], c["weight"]) for c in children))})
    loose = lines[None]
    return {"dimensions": dims, "unassigned": {
        "lines": loose, "projects": sum(c["projects"] for c in loose),
        "progress": _r(weighted_mean((c["progress"], c["weight"]) for c in loose))}}


def by_subregion(projects) -> list[dict]:
    from territorial.models import Subregion

    pairs = defaultdict(dict)
    rows = projects.values_list("pk", "progress", "weight", "municipalities__subregion_id")
    for pk, progress, weight, sub in rows:
        if sub is not None:
            pairs[sub][pk] = (progress, weight)
    return [{"code": s.code, "name": s.name, "projects": len(pairs[s.pk]),
             "progress": _r(weighted_mean(pairs[s.pk].values()))} for s in Subregion.objects.order_by("order")]
