"""A DEMO portfolio for a fresh install (no real project is invented): programs, entities, projects, goals
and progress reports generated from real inputs (the municipal cabeceras and limits) and labelled DEMO in
their names, codes, sources and the ``is_demo`` flag that the page, API and exports show.

Where a program line has no dimension (the plan's text does not say it), the demo assigns one so the
roll-up by dimension shows something, marked ``dimension_is_demo``; removing the demo undoes only those.
``generate(rebuild=True)`` replaces the demo; ``remove()`` deletes every DEMO row and nothing else.
"""
from __future__ import annotations

import datetime as dt
import random

from django.db import transaction

from geosig import versioned
from plan.models import Budget, Dimension, Entity, Goal, Program, ProgramLine, ProgressReport, Project
from plan.services import geometry, portfolio

SOURCE = "DEMO — generado por «manage.py plan_demo» con cabeceras y límites reales; no es un proyecto real"
PREFIX = "DEMO — "
SEED = 2002
# line → dimension for the demo only (marked dimension_is_demo; the plan's text does not give it)
DEMO_DIMENSIONS = {"sistema-ciudades": "territorial", "zeee-buenaventura": "economico",
                   "corredores-biologicos": "ambiental", "infraestructura-educativa-hospitalaria": "social",
                   "saneamiento-servicios": "social", "sig-red-planificacion": "institucional"}
STATUSES = ["formulado", "viabilizado", "en_ejecucion", "en_ejecucion", "terminado", "suspendido"]
TERMS = ["corto", "mediano", "largo"]
FUNDING = ["SGP", "Regalías (SGR)", "Recursos propios del departamento", "Cofinanciación nacional"]


def exists() -> bool:
    return Project.objects.filter(is_demo=True).exists()


def remove() -> dict:
    with transaction.atomic():
        counts = {"reportes": ProgressReport.objects.filter(is_demo=True).delete()[0],
                  "metas": Goal.objects.filter(is_demo=True).delete()[0],
                  "proyectos": Project.objects.filter(is_demo=True).delete()[0],
                  "programas": Program.objects.filter(is_demo=True).delete()[0],
                  "entidades": Entity.objects.filter(is_demo=True).delete()[0],
                  "asignaciones": ProgramLine.objects.filter(dimension_is_demo=True).update(dimension=None,
                                                                                          dimension_is_demo=False)}
    versioned.bump(portfolio.VERSION_NS)
    return counts


def generate(*, rebuild: bool = False) -> dict:
    """The DEMO portfolio, only when the portfolio is empty (a fresh install) unless ``rebuild``; idempotent."""
    from territorial.models import Municipality

    if not rebuild and Project.objects.exists():  # the page already has content (demo or real): keep it
        return {"creado": False, "proyectos": Project.objects.filter(is_demo=True).count(),
                "reales": Project.objects.filter(is_demo=False).count()}
    munis = list(Municipality.objects.select_related("subregion").order_by("divipola"))
    if not munis:
        return {"creado": False, "proyectos": 0, "nota": "No hay municipios cargados."}
    rng = random.Random(SEED)
    with transaction.atomic():
        remove()
        _assign_dimensions()
        entities = [Entity.objects.create(code=f"demo-entidad-{i}", name=f"{PREFIX}Entidad ejecutora {i}",
                                          is_demo=True) for i in (1, 2, 3)]
        count = 0
        for line in ProgramLine.objects.order_by("order"):
            program = Program.objects.create(line=line, code=f"demo-{line.code}"[:60], is_demo=True, source=SOURCE,
                                             name=f"{PREFIX}Programa de la línea «{line.name}»"[:300])
            projects = [_project(rng, program, entities, munis, count + i) for i in range(4)]
            count += len(projects)
            _goal(rng, program, projects[0], entities)
    versioned.bump(portfolio.VERSION_NS)
    return {"creado": True, "proyectos": count}


def _assign_dimensions() -> None:
    dims = {d.code: d for d in Dimension.objects.all()}
    for line in ProgramLine.objects.filter(dimension__isnull=True, code__in=DEMO_DIMENSIONS):
        dim = dims.get(DEMO_DIMENSIONS[line.code])
        if dim is not None:
            line.dimension, line.dimension_is_demo = dim, True
            line.save(update_fields=["dimension", "dimension_is_demo"])


def _geometry(rng, munis, n: int):
    """Points at a cabecera, lines between two cabeceras, polygons around one (real places, DEMO shapes)."""
    from django.contrib.gis.geos import LineString

    a = munis[rng.randrange(len(munis))]
    if n % 3 == 0:
        return a.cabecera.clone()
    if n % 3 == 1:
        b = min((m for m in munis if m.pk != a.pk), key=lambda m: m.cabecera.distance(a.cabecera) + rng.random() * 0.05)
        return LineString(a.cabecera.coords, b.cabecera.coords, srid=4326)
    metric = a.cabecera.transform(9377, clone=True).buffer(rng.uniform(800, 2500), quadsegs=4)
    return metric.transform(4326, clone=True)


def _project(rng, program, entities, munis, n: int) -> Project:
    start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 700))
    end = start + dt.timedelta(days=rng.choice([365, 730, 1460, 2190]))
    status = rng.choice(STATUSES)
    progress = {"formulado": 0, "viabilizado": 0, "terminado": 100}.get(status, round(rng.uniform(5, 95), 1))
    geom = _geometry(rng, munis, n)
    p = Project.objects.create(
        code=f"DEMO-{n + 1:03d}", name=f"{PREFIX}Proyecto de demostración {n + 1}", program=program,
        entity=entities[n % len(entities)], term=TERMS[n % 3], start_date=start, end_date=end, status=status,
        progress=progress, weight=rng.choice([1, 1, 2, 3]), geom=geom, published=n % 11 != 10, is_demo=True,
        source=SOURCE, description=SOURCE)
    p.municipalities.set(geometry.municipalities_for(geom))
    for year in range(start.year, min(end.year, start.year + 2) + 1):
        Budget.objects.create(project=p, year=year, funding_source=rng.choice(FUNDING),
                              amount_cop=rng.randrange(200, 20000) * 1_000_000)
    if progress > 0:
        for k, share in enumerate((0.4, 1.0)):
            ProgressReport.objects.create(project=p, value=round(progress * share, 1), is_demo=True,
                                          date=min(dt.date(2026, 6, 30), start + dt.timedelta(days=120 * (k + 1))),
                                          note=f"{PREFIX}reporte de demostración")
    portfolio.record(None, p, "demo")
    return p


def _goal(rng, program, project, entities) -> Goal:
    baseline = round(rng.uniform(10, 60), 1)
    target = round(baseline + rng.uniform(10, 30), 1)
    g = Goal.objects.create(
        code=f"DEMO-M-{program.pk}", name=f"{PREFIX}Meta de demostración ({program.line.name})"[:300],
        program=program, project=project, entity=project.entity, indicator=f"{PREFIX}indicador de demostración",
        unit="%", baseline_value=baseline, baseline_year=2023, baseline_source=SOURCE, target_value=target,
        target_year=2027, published=True, is_demo=True)
    for k, year in enumerate((2024, 2025)):
        ProgressReport.objects.create(goal=g, value=round(baseline + (target - baseline) * rng.uniform(0.1, 0.6) * (k + 1), 1),
                                      date=dt.date(year, 12, 31), is_demo=True,
                                      note=f"{PREFIX}reporte de demostración")
    portfolio.record(None, g, "demo")
    return g
