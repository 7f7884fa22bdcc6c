"""Every write of the plan follow-up: projects, goals, progress reports, structure. One function per write;
each checks permission first, parses, then writes under the row lock with a ``Revision`` (who, when, what)
and bumps the data version ``plan`` (cached pages, fact sheets, exports)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from geosig import params, versioned
from geosig.errors import ConflictError, InvalidParameter, NotFound
from plan.models import STATUSES, TERMS, Budget, Entity, Goal, Program, ProgressReport, Project, ProjectLink, Revision
from plan.services import access, geometry, links

VERSION_NS = "plan"
PROJECT_KEYS = {"code", "name", "description", "program", "entity", "term", "start_date", "end_date", "status",
                "progress", "weight", "geometry", "crs", "municipalities", "budgets", "links", "published", "source",
                "version"}
GOAL_KEYS = {"code", "name", "program", "project", "entity", "indicator", "unit", "baseline_value", "baseline_year",
             "baseline_source", "target_value", "target_year", "weight", "published", "version"}
REPORT_KEYS = {"value", "date", "note", "evidence_url"}


# ------------------------------------------------------------------ revisions
def snapshot(obj) -> dict:
    from django.forms.models import model_to_dict

    data = model_to_dict(obj, exclude=["geom", "municipalities", "members", "objectives", "evidence_file"])
    if getattr(obj, "geom", None) is not None:
        data["geometry"] = obj.geom.geojson
    if isinstance(obj, Project):
        data["municipalities"] = sorted(obj.municipalities.values_list("divipola", flat=True))
        data["budgets"] = [[b.year, b.funding_source, int(b.amount_cop)] for b in obj.budgets.all()]
        data["links"] = [[x.kind, x.ref] for x in obj.links.all()]
    return {k: (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v) for k, v in data.items()}


def record(user, obj, action: str, number: int | None = None) -> Revision:
    author = user if user is not None and user.is_authenticated else None
    return Revision.objects.create(model=obj._meta.model_name, object_id=obj.pk, action=action, author=author,
                                   number=number or getattr(obj, "version", 1), data=snapshot(obj))


def history(model: str, object_id: int) -> list[dict]:
    return [{"number": r.number, "action": r.action, "author": r.author.get_username() if r.author else None,
             "created_at": r.created_at.isoformat()}
            for r in Revision.objects.filter(model=model, object_id=object_id).select_related("author")]


# ------------------------------------------------------------------ parsing
def _by_code(model, value, name: str, *, required: bool = True):
    code = params.text(value, name, max_length=60, required=required)
    if code is None:
        return None
    obj = model.objects.filter(code=code).first()
    if obj is None:
        raise InvalidParameter(_("«%(name)s»: no existe «%(code)s».") % {"name": name, "code": code}, parameter=name)
    return obj


def _budgets(value) -> list[tuple[int, str, Decimal]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > 200:
        raise InvalidParameter(_("«budgets» debe ser una lista (máximo 200) de {year, funding_source, amount_cop}."),
                               parameter="budgets")

    def one(item):
        item = params.mapping(item, "budgets", required=True, allowed={"year", "funding_source", "amount_cop"})
        return (params.integer(item.get("year"), "year", minimum=2000, maximum=2100, required=True),
                params.text(item.get("funding_source"), "funding_source", max_length=200, required=True),
                Decimal(round(params.number(item.get("amount_cop"), "amount_cop", minimum=0, maximum=1e17,
                                            required=True))))

    out = params.each(value, "budgets", one, lambda n, _i, why: _("presupuesto %(n)s: %(why)s") % {"n": n, "why": why})
    keys = [(y, s) for y, s, _v in out]
    if len(set(keys)) != len(keys):
        raise InvalidParameter(_("«budgets» repite un año con la misma fuente."), parameter="budgets")
    return out


def _common_project(data: dict, current: Project | None) -> dict:
    req = current is None
    out = {}
    text = {"code": 60, "name": 300, "source": 300}
    for key, size in text.items():
        if key in data or req:
            out[key] = params.text(data.get(key), key, max_length=size, required=req and key != "source",
                                   default="")
    if "description" in data:
        out["description"] = params.text(data.get("description"), "description", max_length=5000, multiline=True,
                                         default="")
    for key, model in (("program", Program), ("entity", Entity)):
        if key in data or req:
            out[key] = _by_code(model, data.get(key), key)
    if "term" in data or req:
        out["term"] = params.choice(data.get("term"), "term", [t for t, _l in TERMS], required=True)
    if "status" in data:
        out["status"] = params.choice(data.get("status"), "status", [s for s, _l in STATUSES], required=True)
    for key in ("start_date", "end_date"):
        if key in data:
            out[key] = params.date(data.get(key), key)
    if "progress" in data:
        out["progress"] = params.number(data.get("progress"), "progress", minimum=0, maximum=100, required=True)
    if "weight" in data:
        out["weight"] = params.number(data.get("weight"), "weight", minimum=0, maximum=1e6, required=True)
    if "published" in data:
        out["published"] = params.boolean(data.get("published"), "published")
    return out


def parse_project(data, current: Project | None = None) -> dict:
    data = params.mapping(params.body(data), "body", allowed=PROJECT_KEYS)
    out = _common_project(data, current)
    start = out.get("start_date", current.start_date if current else None)
    end = out.get("end_date", current.end_date if current else None)
    if start and end and end < start:
        raise InvalidParameter(_("«end_date» es anterior a «start_date»."), parameter="end_date")
    if "geometry" in data:
        srid = params.integer(data.get("crs"), "crs", minimum=1, maximum=999999)
        out["geom"] = None if data["geometry"] is None else geometry.parse(data["geometry"], srid=srid)
    if "municipalities" in data:
        codes = params.text_list(data.get("municipalities"), "municipalities", max_items=42, max_length=5)
        out["municipalities"] = _municipalities(codes)
    if "budgets" in data:
        out["budgets"] = _budgets(data.get("budgets"))
    if "links" in data:
        out["links"] = links.parse(data.get("links"))
    return out


def _municipalities(codes: list[str]):
    from territorial.models import Municipality

    found = {m.divipola: m for m in Municipality.objects.filter(divipola__in=codes)}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise InvalidParameter(_("Municipios desconocidos: %(c)s.") % {"c": ", ".join(unknown)},
                               parameter="municipalities")
    return [found[c] for c in codes]


def _check_version(data, obj) -> None:
    if isinstance(data, dict) and data.get("version") not in (None, ""):
        sent = params.integer(data.get("version"), "version", minimum=1)
        if sent != obj.version:
            raise ConflictError(_("Otro usuario guardó una versión más nueva (%(v)s); recargue antes de guardar.")
                                % {"v": obj.version})


# ------------------------------------------------------------------ projects
def create_project(user, data, *, is_demo: bool = False) -> Project:
    access.require_office(user)
    values = parse_project(data)
    with transaction.atomic():
        if Project.objects.filter(code=values["code"]).exists():
            raise ConflictError(_("Ya existe un proyecto con el código «%(c)s».") % {"c": values["code"]})
        project = Project(is_demo=is_demo)
        _apply_project(project, values)
        record(user, project, "crear")
    versioned.bump(VERSION_NS)
    return project


def update_project(user, pk: int, data) -> Project:
    access.require_office(user)
    current = Project.objects.filter(pk=pk).first()
    if current is None:
        raise NotFound(_("No existe el proyecto %(id)s.") % {"id": pk})
    values = parse_project(data, current)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=pk)
        access.require_office(user)
        _check_version(data, project)
        if "code" in values and Project.objects.filter(code=values["code"]).exclude(pk=pk).exists():
            raise ConflictError(_("Ya existe un proyecto con el código «%(c)s».") % {"c": values["code"]})
        project.version += 1
        _apply_project(project, values)
        record(user, project, "editar")
    versioned.bump(VERSION_NS)
    return project


def _apply_project(project: Project, values: dict) -> None:
    munis = values.pop("municipalities", None)
    budgets = values.pop("budgets", None)
    link_rows = values.pop("links", None)
    for key, value in values.items():
        setattr(project, key, value)
    project.save()
    if munis is not None:
        project.municipalities.set(munis)
        project.municipalities_edited = True
    elif "geom" in values:
        project.municipalities.set(geometry.municipalities_for(project.geom) if project.geom else [])
        project.municipalities_edited = False
    project.save(update_fields=["municipalities_edited"])
    if budgets is not None:
        project.budgets.all().delete()
        Budget.objects.bulk_create(Budget(project=project, year=y, funding_source=s, amount_cop=v)
                                   for y, s, v in budgets)
    if link_rows is not None:
        project.links.all().delete()
        ProjectLink.objects.bulk_create(ProjectLink(project=project, kind=k, ref=r, label=lb) for k, r, lb in link_rows)


def set_project_geometry(user, pk: int, content: bytes, filename: str) -> Project:
    """Replace a project's geometry with the one of an uploaded file; municipalities derived again."""
    access.require_office(user)
    geom = geometry.from_upload(content, filename)
    with transaction.atomic():
        project = Project.objects.select_for_update().filter(pk=pk).first()
        if project is None:
            raise NotFound(_("No existe el proyecto %(id)s.") % {"id": pk})
        project.version += 1
        _apply_project(project, {"geom": geom})
        record(user, project, "subir geometría")
    versioned.bump(VERSION_NS)
    return project


def delete_project(user, pk: int) -> None:
    access.require_office(user)
    with transaction.atomic():
        project = Project.objects.select_for_update().filter(pk=pk).first()
        if project is None:
            raise NotFound(_("No existe el proyecto %(id)s.") % {"id": pk})
        project.version += 1
        record(user, project, "eliminar")
        project.delete()
    versioned.bump(VERSION_NS)


# ------------------------------------------------------------------ goals
def parse_goal(data, current: Goal | None = None) -> dict:
    data = params.mapping(params.body(data), "body", allowed=GOAL_KEYS)
    req = current is None
    out = {}
    for key, size in (("code", 60), ("name", 300), ("indicator", 300), ("unit", 60), ("baseline_source", 300)):
        if key in data or req:
            out[key] = params.text(data.get(key), key, max_length=size, required=True)
    for key, model in (("program", Program), ("entity", Entity)):
        if key in data or req:
            out[key] = _by_code(model, data.get(key), key)
    if "project" in data:
        out["project"] = _by_code(Project, data.get("project"), "project", required=False)
    for key in ("baseline_value", "target_value"):
        if key in data or req:
            out[key] = params.number(data.get(key), key, minimum=-1e15, maximum=1e15, required=True)
    for key in ("baseline_year", "target_year"):
        if key in data or req:
            out[key] = params.integer(data.get(key), key, minimum=1900, maximum=2100, required=True)
    if "weight" in data:
        out["weight"] = params.number(data.get("weight"), "weight", minimum=0, maximum=1e6, required=True)
    if "published" in data:
        out["published"] = params.boolean(data.get("published"), "published")
    by = out.get("baseline_year", current.baseline_year if current else None)
    ty = out.get("target_year", current.target_year if current else None)
    if by is not None and ty is not None and ty <= by:
        raise InvalidParameter(_("«target_year» debe ser posterior a «baseline_year»."), parameter="target_year")
    return out


def save_goal(user, data, pk: int | None = None, *, is_demo: bool = False) -> Goal:
    access.require_office(user)
    current = Goal.objects.filter(pk=pk).first() if pk else None
    if pk and current is None:
        raise NotFound(_("No existe la meta %(id)s.") % {"id": pk})
    values = parse_goal(data, current)
    with transaction.atomic():
        goal = Goal.objects.select_for_update().get(pk=pk) if pk else Goal(is_demo=is_demo)
        if pk:
            _check_version(data, goal)
            goal.version += 1
        code = values.get("code", goal.code)
        if Goal.objects.filter(code=code).exclude(pk=goal.pk).exists():
            raise ConflictError(_("Ya existe una meta con el código «%(c)s».") % {"c": code})
        for key, value in values.items():
            setattr(goal, key, value)
        goal.save()
        record(user, goal, "editar" if pk else "crear")
    versioned.bump(VERSION_NS)
    return goal


# ------------------------------------------------------------------ progress reports
TARGETS = {"project": Project, "goal": Goal}


def _target_entity(kind: str, pk: int) -> int:
    entity = TARGETS[kind].objects.filter(pk=pk).values_list("entity_id", flat=True).first()
    if entity is None:
        raise NotFound(_("No existe el elemento %(id)s.") % {"id": pk})
    return entity


def require_report_permission(user, kind: str, pk: int) -> None:
    """Who may report on this project or goal: checked before the request body is read."""
    if not (user and user.is_authenticated):
        raise access.PermissionDeniedError(_("Ingrese para reportar avances."))
    access.require_reporter(user, _target_entity(kind, pk))


def add_report(user, kind: str, pk: int, data, evidence=None, *, is_demo: bool = False) -> ProgressReport:
    """A progress report on a project (``value`` = physical progress, %) or a goal (the indicator's value).
    Permission before parsing; again under the row lock (the project may have changed entity meanwhile)."""
    require_report_permission(user, kind, pk)
    data = params.mapping(params.body(data), "body", allowed=REPORT_KEYS)
    limit = {"minimum": 0, "maximum": 100} if kind == "project" else {"minimum": -1e15, "maximum": 1e15}
    value = params.number(data.get("value"), "value", required=True, **limit)
    date = params.date(data.get("date"), "date", default=timezone.localdate())
    if date > timezone.localdate():
        raise InvalidParameter(_("«date» no puede ser futura."), parameter="date")
    url = params.text(data.get("evidence_url"), "evidence_url", max_length=500, default="")
    if url and not url.lower().startswith(("https://", "http://")):
        raise InvalidParameter(_("«evidence_url» debe empezar por https:// o http://."), parameter="evidence_url")
    note = params.text(data.get("note"), "note", max_length=2000, multiline=True, default="")
    from plan.services import evidence as ev

    upload = ev.check(evidence) if evidence is not None else None
    with transaction.atomic():
        target = TARGETS[kind].objects.select_for_update().get(pk=pk)
        access.require_reporter(user, target.entity_id)
        report = ProgressReport(value=value, date=date, reporter=user, note=note, evidence_url=url, is_demo=is_demo,
                                **{kind: target})
        if upload is not None:
            report.evidence_file.save(upload.name, upload.content, save=False)
        report.save()
        target.version += 1
        if kind == "project" and date >= _latest_date(target):
            target.progress = value
        target.save()
        record(user, target, "reportar avance")
    versioned.bump(VERSION_NS)
    return report


def _latest_date(project: Project) -> dt.date:
    last = project.reports.order_by("-date").values_list("date", flat=True).first()
    return last or dt.date.min


# ------------------------------------------------------------------ structure
PROGRAM_KEYS = {"code", "name", "line", "weight", "objectives"}


def parse_program(data) -> dict:
    from plan.models import ProgramLine, SpecificObjective

    data = params.mapping(params.body(data), "body", allowed=PROGRAM_KEYS)
    out = {"code": params.text(data.get("code"), "code", max_length=60, required=True),
           "name": params.text(data.get("name"), "name", max_length=300, required=True),
           "line": _by_code(ProgramLine, data.get("line"), "line"),
           "weight": params.number(data.get("weight"), "weight", minimum=0, maximum=1e6, default=1.0)}
    orders = params.id_list(data.get("objectives"), "objectives", max_items=20)
    found = {o.order: o for o in SpecificObjective.objects.filter(order__in=orders)}
    missing = [str(n) for n in orders if n not in found]
    if missing:
        raise InvalidParameter(_("Objetivos específicos desconocidos: %(o)s.") % {"o": ", ".join(missing)},
                               parameter="objectives")
    out["objectives"] = [found[n] for n in orders]
    return out


def save_program(user, data) -> Program:
    """Create or update a program by its code (the planning office)."""
    access.require_office(user)
    values = parse_program(data)
    objectives = values.pop("objectives")
    with transaction.atomic():
        program, created = Program.objects.select_for_update().get_or_create(code=values["code"], defaults=values)
        if not created:
            for key, value in values.items():
                setattr(program, key, value)
            program.save()
        program.objectives.set(objectives)
        record(user, program, "crear" if created else "editar",
               number=Revision.objects.filter(model="program", object_id=program.pk).count() + 1)
    versioned.bump(VERSION_NS)
    return program


def upsert_project(user, data, *, is_demo: bool = False) -> Project:
    """Create the project of ``data["code"]`` or update it (imports)."""
    code = data.get("code") if isinstance(data, dict) else None
    existing = Project.objects.filter(code=code).values_list("pk", flat=True).first() if isinstance(code, str) else None
    if existing:
        return update_project(user, existing, {k: v for k, v in data.items()})
    return create_project(user, data, is_demo=is_demo)


def upsert_goal(user, data, *, is_demo: bool = False) -> Goal:
    code = data.get("code") if isinstance(data, dict) else None
    existing = Goal.objects.filter(code=code).values_list("pk", flat=True).first() if isinstance(code, str) else None
    return save_goal(user, data, existing, is_demo=is_demo)
