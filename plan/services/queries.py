"""What the public page, the API and the exports read: projects and goals as dicts, with their semaphore."""
from __future__ import annotations

import json

from django.db.models import Prefetch
from django.utils import timezone

from geosig import params
from plan.models import STATUSES, TERMS, Goal, ProgressReport, Project
from plan.services import access, links, semaphore

STATUS_LABELS = dict(STATUSES)
TERM_LABELS = dict(TERMS)
DEMO_NOTE = "DEMO"


def published_projects_queryset():
    """Published projects with what a public listing needs (the OGC collection reads this)."""
    return (Project.objects.filter(published=True)
            .select_related("program__line__dimension", "entity")
            .prefetch_related("municipalities__subregion", "budgets", "links"))


def projects_for(user):
    base = Project.objects.select_related("program__line__dimension", "entity").prefetch_related(
        "municipalities__subregion", "budgets", "links")
    return access.visible(user, base)


FILTERS = ("dimension", "line", "program", "subregion", "municipality", "entity", "term", "status")


def filter_projects(qs, query) -> tuple:
    """Apply the public filters (each optional); returns (queryset, the parsed filters)."""
    f = {}
    for key in FILTERS:
        f[key] = params.text(query.get(key), key, max_length=60)
    if f["term"]:
        params.choice(f["term"], "term", list(TERM_LABELS))
    if f["status"]:
        params.choice(f["status"], "status", list(STATUS_LABELS))
    lookups = {"dimension": "program__line__dimension__code", "line": "program__line__code",
               "program": "program__code", "subregion": "municipalities__subregion__code",
               "municipality": "municipalities__divipola", "entity": "entity__code", "term": "term",
               "status": "status"}
    for key, lookup in lookups.items():
        if f[key]:
            qs = qs.filter(**{lookup: f[key]})
    return qs.distinct(), f


def project_dict(p: Project, th=None, today=None, *, detail: bool = False) -> dict:
    th = th or semaphore.thresholds()
    today = today or timezone.localdate()
    munis = sorted(p.municipalities.all(), key=lambda m: m.divipola)
    subs = sorted({(m.subregion.code, m.subregion.name) for m in munis})
    dim = p.program.line.dimension
    budgets = [{"year": b.year, "funding_source": b.funding_source, "amount_cop": int(b.amount_cop)}
               for b in p.budgets.all()]
    out = {
        "id": p.pk, "code": p.code, "name": p.name, "is_demo": p.is_demo, "source": p.source,
        "program": {"code": p.program.code, "name": p.program.name},
        "line": {"code": p.program.line.code, "name": p.program.line.name},
        "dimension": {"code": dim.code, "name": dim.name} if dim else None,
        "entity": {"code": p.entity.code, "name": p.entity.name},
        "term": p.term, "term_label": str(TERM_LABELS[p.term]),
        "status": p.status, "status_label": str(STATUS_LABELS[p.status]),
        "start_date": p.start_date.isoformat() if p.start_date else None,
        "end_date": p.end_date.isoformat() if p.end_date else None,
        "progress": p.progress, "weight": p.weight, "published": p.published, "version": p.version,
        "municipalities": [{"divipola": m.divipola, "name": m.name} for m in munis],
        "municipalities_edited": p.municipalities_edited,
        "subregions": [{"code": c, "name": n} for c, n in subs],
        "budget_total_cop": sum(b["amount_cop"] for b in budgets), "budgets": budgets,
        "links": [links.as_dict(x) for x in p.links.all()],
        **semaphore.for_project(p, today, th),
    }
    if detail:
        out["description"] = p.description
    return out


def projects_geojson(qs, user=None) -> dict:
    th, today = semaphore.thresholds(), timezone.localdate()
    features = []
    for p in qs:
        features.append({"type": "Feature", "id": p.pk,
                         "geometry": json.loads(p.geom.geojson) if p.geom else None,
                         "properties": project_dict(p, th, today)})
    return {"type": "FeatureCollection", "features": features}


def report_dict(r: ProgressReport, *, show_reporter: bool) -> dict:
    return {"id": r.id, "value": r.value, "date": r.date.isoformat(), "note": r.note,
            "reporter": (r.reporter.get_username() if r.reporter else None) if show_reporter else None,
            "evidence_url": r.evidence_url or None,
            "evidence_file": f"/api/v1/plan/evidence/{r.id}/" if r.evidence_file else None,
            "is_demo": r.is_demo}


def goals_for(user):
    return access.visible(user, Goal.objects.select_related("program__line__dimension", "entity", "project")
                          .prefetch_related(Prefetch("reports", ProgressReport.objects.order_by("date", "id"))))


def goal_dict(g: Goal, th=None, *, show_reporter: bool = False) -> dict:
    th = th or semaphore.thresholds()
    reports = list(g.reports.all())
    last = reports[-1] if reports else None
    dim = g.program.line.dimension
    return {
        "id": g.pk, "code": g.code, "name": g.name, "is_demo": g.is_demo,
        "program": {"code": g.program.code, "name": g.program.name},
        "dimension": {"code": dim.code, "name": dim.name} if dim else None,
        "project": {"id": g.project.pk, "code": g.project.code} if g.project and g.project.published else None,
        "entity": {"code": g.entity.code, "name": g.entity.name},
        "indicator": g.indicator, "unit": g.unit,
        "baseline": {"value": g.baseline_value, "year": g.baseline_year, "source": g.baseline_source},
        "target": {"value": g.target_value, "year": g.target_year},
        "weight": g.weight, "published": g.published, "version": g.version,
        "latest": report_dict(last, show_reporter=show_reporter) if last else None,
        "history": [report_dict(r, show_reporter=show_reporter) for r in reports],
        **semaphore.for_goal(g, last.value if last else None, last.date if last else None, th),
    }


def goal_semaphore_filter(items: list[dict], value) -> list[dict]:
    key = params.choice(value, "semaphore", list(semaphore.STATES))
    return [g for g in items if g["semaphore"] == key] if key else items

