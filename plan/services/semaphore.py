"""Progress against time, and the semaphore the office tunes.

A goal's progress is how far its latest reported value has gone from the baseline to the target,
``(value − baseline) / (target − baseline)`` clipped to 0…1 (so a target below the baseline —less
poverty— works the same). The expected progress at a date is the share of the time elapsed from the end of
the baseline year to the end of the target year. A project's progress is its reported percentage, expected
along its start and end dates. The semaphore compares ``ratio = progress / expected``:
``en_meta`` if ratio ≥ ``on_track_min``, ``en_riesgo`` if ≥ ``at_risk_min``, else ``rezagado``; nothing
expected yet is ``en_meta``; without a report (or dates) there is no semaphore (``sin_dato``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

STATES = {"en_meta": _("en meta"), "en_riesgo": _("en riesgo"), "rezagado": _("rezagado"),
          "sin_dato": _("sin dato")}


@dataclass(frozen=True)
class Thresholds:
    on_track_min: float = 0.9
    at_risk_min: float = 0.7


def thresholds() -> Thresholds:
    from plan.models import PlanSettings

    row = PlanSettings.objects.order_by("pk").first()
    return Thresholds(row.on_track_min, row.at_risk_min) if row else Thresholds()


def _clip(x: float) -> float:
    return max(0.0, min(1.0, x))


def goal_progress(baseline: float, target: float, value: float | None) -> float | None:
    if value is None:
        return None
    if target == baseline:
        return 1.0
    return _clip((value - baseline) / (target - baseline))


def expected_share(start: dt.date | None, end: dt.date | None, on: dt.date) -> float | None:
    if start is None or end is None or end <= start:
        return None
    return _clip((on - start).days / (end - start).days)


def goal_window(baseline_year: int, target_year: int) -> tuple[dt.date, dt.date]:
    return dt.date(baseline_year, 12, 31), dt.date(target_year, 12, 31)


def state(progress: float | None, expected: float | None, th: Thresholds) -> str:
    if progress is None or expected is None:
        return "sin_dato"
    if expected <= 0:
        return "en_meta"
    ratio = progress / expected
    if ratio >= th.on_track_min:
        return "en_meta"
    return "en_riesgo" if ratio >= th.at_risk_min else "rezagado"


def for_goal(goal, latest_value: float | None, latest_date: dt.date | None, th: Thresholds) -> dict:
    progress = goal_progress(goal.baseline_value, goal.target_value, latest_value)
    start, end = goal_window(goal.baseline_year, goal.target_year)
    expected = expected_share(start, end, latest_date) if latest_date else None
    key = state(progress, expected, th)
    return {"progress_pct": None if progress is None else round(progress * 100, 2),
            "expected_pct": None if expected is None else round(expected * 100, 2),
            "semaphore": key, "semaphore_label": str(STATES[key])}


def for_project(project, on: dt.date, th: Thresholds) -> dict:
    expected = expected_share(project.start_date, project.end_date, on)
    key = state(project.progress / 100, expected, th)
    return {"expected_pct": None if expected is None else round(expected * 100, 2),
            "semaphore": key, "semaphore_label": str(STATES[key])}
