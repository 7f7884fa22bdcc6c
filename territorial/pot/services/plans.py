"""Plans: create, save zones (validated, versioned, optimistic locking), workflow, restore, comments.

Every write follows one pattern (``require_action`` then ``locked_plan``): the permission (and the
workflow state) is checked on the plan as read, before the request is parsed or any geometry is
computed; then, inside the transaction that writes, the plan row is locked (SELECT … FOR UPDATE) and the
same rule is checked again, so a save racing a submission (or a planner losing the municipality) can
never write into a plan that is no longer theirs to edit. Every mutating function also takes the plan
version the user was looking at (``expected_version``): of two concurrent saves from the same version
exactly one wins and the other gets a 409 ConflictError. An error leaves the stored plan unchanged.
"""
from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import shapely
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from shapely.geometry import shape
from shapely.ops import split

from geosig import params
from geosig.errors import ConflictError, InvalidGeometry, InvalidParameter, NotFound, PermissionDeniedError
from territorial.models import Municipality
from territorial.pot.classes import SOIL_CLASSES, Status, soil_label
from territorial.pot.models import Plan, PlanVersion, PlanWaiver, ReviewComment, Zone, ZonePiece
from territorial.pot.services import access
from territorial.pot.services.validation import (
    GATE, PlanZone, declared_crs, finding, plan_findings, same_geometry, to_multi, validate_features,
)


@dataclass
class SaveResult:
    plan_id: int
    version: int
    summary: str
    changes: dict
    findings: list[dict] = field(default_factory=list)  # the plan rules on the zones as saved
    clipped: list[dict] = field(default_factory=list)  # what «fit» cut from new/changed zones
    unchanged: bool = False  # nothing changed: no version was created

    @property
    def warnings(self) -> list[dict]:
        """Gates and warnings (older clients list their messages)."""
        return [f for f in self.findings if f["severity"] != "error"]

    @property
    def state(self) -> str:
        severities = {f["severity"] for f in self.findings if not f.get("waived")}
        return "gates" if GATE in severities else "warnings" if severities else "clean"

    def as_dict(self):
        return {"plan": self.plan_id, "version": self.version, "summary": self.summary,
                "changes": self.changes, "warnings": self.warnings, "findings": self.findings,
                "state": self.state, "clipped": self.clipped, "unchanged": self.unchanged}


# ------------------------------------------------------------------ snapshots
def zone_feature(zone) -> dict:
    return {
        "type": "Feature",
        "id": zone.pk,
        "geometry": json.loads(zone.geom.geojson),
        "properties": {
            "soil_class": zone.soil_class, "use_category": zone.use_category, "name": zone.name,
            "notes": zone.notes, "area_m2": round(zone.area_m2, 1),
        },
    }


def snapshot(plan) -> dict:
    return {"type": "FeatureCollection", "features": [zone_feature(z) for z in plan.zones.order_by("id")]}


def _record_version(plan, user, action, summary, changes) -> None:
    PlanVersion.objects.create(
        plan=plan, number=plan.version, author=user if user and user.is_authenticated else None,
        action=action, summary=summary, changes=changes, status=plan.status, snapshot=snapshot(plan),
    )


def _expected(expected_version) -> int:
    try:  # a whole number: int(True) == 1 and int(1.9) == 1 would pass a plain int()
        return params.integer(expected_version, "version", minimum=1, required=True)
    except InvalidParameter:
        raise InvalidParameter(_("Falta la versión del plan que se editaba («version», entero)."),
                               parameter="version") from None


def _check_version(plan, expected_version) -> None:
    """The optimistic lock without writing (under the row lock): a stale client gets the 409 of ``_bump``."""
    if plan.version != _expected(expected_version):
        _bump(plan, expected_version)  # raises the ConflictError naming both versions


def _bump(plan, expected_version) -> None:
    """Conditional UPDATE: the optimistic lock. Refreshes ``plan`` to the new version."""
    expected = _expected(expected_version)
    n = Plan.objects.filter(pk=plan.pk, version=expected).update(version=F("version") + 1, updated_at=timezone.now())
    if n == 0:
        current = Plan.objects.filter(pk=plan.pk).values_list("version", flat=True).first()
        raise ConflictError(
            _("El plan cambió mientras lo editaba: usted partió de la versión %(expected)s y la actual es la "
              "%(current)s. Recargue el plan para ver los cambios de la otra persona; los suyos no se guardaron.")
            % {"expected": expected, "current": current},
            current_version=current, expected_version=expected,
        )
    plan.refresh_from_db()


# ------------------------------------------------------------------ create
def create_plan(user, municipality, name: str, source: str = "", is_demo: bool = False):
    access.require_planner(user, municipality)
    name = (name or "").strip()
    if not name:
        raise InvalidParameter(_("El plan necesita un nombre."))
    with transaction.atomic():
        plan = Plan.objects.create(municipality=municipality, name=name[:200], source=source,
                                   is_demo=is_demo, created_by=user)
        _record_version(plan, user, "crear", "Plan creado (sin zonas).", {})
    return plan


# ------------------------------------------------------------------ save
# Zone fields as the version summary names them (a stored sentence, read by people: no column names).
FIELD_LABELS = {"soil_class": "clase de suelo", "use_category": "categoría de uso", "name": "nombre", "notes": "notas"}


def _describe(created, modified, deleted) -> str:
    parts = []
    if created:
        classes = Counter(c for c in created)
        parts.append(f"{len(created)} zona(s) nueva(s) (" + ", ".join(f"{soil_label(k)} ×{v}" for k, v in classes.items()) + ")")
    if modified:
        parts.append(f"{len(modified)} modificada(s) (" + "; ".join(f"#{m['id']}: {', '.join(FIELD_LABELS.get(f, f) for f in m['fields'])}" for m in modified) + ")")
    if deleted:
        parts.append(f"{len(deleted)} eliminada(s) (#" + ", #".join(str(d) for d in deleted) + ")")
    return "; ".join(parts) or "Sin cambios en las zonas."


def _apply(plan, clean_zones, replace: bool) -> tuple[str, dict]:
    """Write validated zones; return (summary, changes). Must run inside the locking transaction."""
    existing = {z.pk: z for z in plan.zones.all()}
    created, modified, keep = [], [], set()
    for cz in clean_zones:
        geom = GEOSGeometry(memoryview(shapely.to_wkb(cz.geom)), srid=4326)
        geom_m = GEOSGeometry(memoryview(shapely.to_wkb(cz.geom_m)), srid=9377)
        zone = existing.get(cz.zone_id) if cz.zone_id is not None else None
        if zone is None:
            Zone.objects.create(plan=plan, soil_class=cz.soil_class, use_category=cz.use_category, name=cz.name,
                                notes=cz.notes, geom=geom, geom_m=geom_m, area_m2=cz.area_m2)
            created.append(cz.soil_class)
            continue
        keep.add(zone.pk)
        fields = [f for f in ("soil_class", "use_category", "name", "notes") if getattr(zone, f) != getattr(cz, f)]
        moved = not same_geometry(shapely.from_wkb(bytes(zone.geom.wkb)), cz.geom)
        if moved:
            fields.append("geometría")
        if fields:
            for f in ("soil_class", "use_category", "name", "notes"):
                setattr(zone, f, getattr(cz, f))
            if moved:  # else the stored drawing stays (the editor sends it back rounded)
                zone.geom, zone.geom_m, zone.area_m2 = geom, geom_m, cz.area_m2
            zone.save()
            modified.append({"id": zone.pk, "fields": fields})
    deleted = []
    if replace:
        deleted = sorted(set(existing) - keep)
        Zone.objects.filter(pk__in=deleted).delete()
    changes = {"created": len(created), "modified": modified, "deleted": deleted}
    if created or modified or deleted:
        refresh_pieces(plan.pk)
    return _describe(created, modified, deleted), changes


def refresh_pieces(plan_id: int) -> None:
    """Rewrite the plan's ST_Subdivide pieces (what the conflict queries join on)."""
    zp, z = ZonePiece._meta.db_table, Zone._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {zp} WHERE plan_id_copy = %s", [plan_id])
        cur.execute(
            f"""INSERT INTO {zp} (zone_id, plan_id_copy, geom_m)
                SELECT id, plan_id, g FROM (SELECT id, plan_id, ST_Subdivide(geom_m, 256) g FROM {z}
                                            WHERE plan_id = %s) s
                WHERE ST_GeometryType(g) = 'ST_Polygon' AND NOT ST_IsEmpty(g)""",
            [plan_id],
        )


def require_editable(user, plan) -> None:
    access.require_planner(user, plan.municipality)
    if plan.status not in Status.EDITABLE:
        raise ConflictError(
            _("El plan está «%(status)s»: solo se edita en borrador o devuelto.") % {"status": plan.get_status_display()},
            status=plan.status,
        )


# ------------------------------------------------------------------ permission + row lock (every write)
EDIT_ACTIONS = frozenset({"guardar", "unir", "dividir", "restaurar", "importar"})


def _require_transition(user, plan, action: str) -> None:
    t = TRANSITIONS[action]
    if t.role == "planner":
        access.require_planner(user, plan.municipality)
    else:
        access.require_reviewer(user)
        if action == "aprobar" and authored_by(plan, user):
            raise PermissionDeniedError(_("No puede aprobar un plan que usted mismo elaboró o envió."))
    if plan.status not in t.sources:
        raise ConflictError(
            _("No se puede «%(action)s» un plan en estado «%(status)s» (solo desde: %(sources)s).")
            % {"action": _(t.label), "status": plan.get_status_display(), "sources": ", ".join(sorted(t.sources))},
            status=plan.status,
        )


def _require_comment(user, plan, opens_thread: bool) -> None:
    perms = access.permissions_for(user, plan)
    if not perms["comment"]:
        raise PermissionDeniedError(_("Solo los revisores de la CVC y los planificadores del municipio comentan."))
    if opens_thread and not perms["review"]:
        raise PermissionDeniedError(_("Los planificadores responden a comentarios; los revisores los abren."))


def _require_delete(user, plan) -> None:
    access.require_planner(user, plan.municipality)
    if plan.status != Status.BORRADOR:
        # once submitted, the plan is part of a review record: it is returned or approved, not deleted
        raise ConflictError(_("El plan está «%(status)s»: solo se elimina un borrador nunca enviado.")
                            % {"status": plan.get_status_display()},
                            status=plan.status)


def _require_revise(user, plan) -> None:
    access.require_planner(user, plan.municipality)
    if plan.status != Status.APROBADA:
        raise ConflictError(_("El plan está «%(status)s»: solo se modifica el plan aprobado vigente.")
                            % {"status": plan.get_status_display()},
                            status=plan.status)


WAIVABLE = frozenset({Status.BORRADOR, Status.DEVUELTA, Status.ENVIADA, Status.EN_REVISION})


def _require_waive(user, plan) -> None:
    """A gate blocks the submission, so the CVC may waive it before (the planner asked, the plan is a
    draft or was returned) as well as during the review; never on an approved or replaced plan."""
    access.require_reviewer(user)
    if authored_by(plan, user):
        raise PermissionDeniedError(_("No puede dispensar barreras de un plan que usted mismo elaboró o envió."))
    if plan.status not in WAIVABLE:
        raise ConflictError(_("El plan está «%(status)s»: las barreras se dispensan antes de "
                              "aprobarlo (borrador, devuelto, enviado o en revisión).")
                            % {"status": plan.get_status_display()}, status=plan.status)


def require_action(user, plan, action: str) -> None:
    """Raise unless ``user`` may do ``action`` on ``plan`` in its current state (403 role, 409 state).
    Actions: the edit actions (EDIT_ACTIONS), the workflow transitions (TRANSITIONS), «comentar»
    (open a pinned thread), «responder» (answer one), «eliminar», «revisar» (start the amendment of the
    current approved plan) and «dispensar» (a reviewer waives a validation gate)."""
    if action in EDIT_ACTIONS:
        require_editable(user, plan)
    elif action in TRANSITIONS:
        _require_transition(user, plan, action)
    elif action in ("comentar", "responder"):
        _require_comment(user, plan, opens_thread=action == "comentar")
    elif action == "eliminar":
        _require_delete(user, plan)
    elif action == "revisar":
        _require_revise(user, plan)
    elif action == "dispensar":
        _require_waive(user, plan)
    else:
        raise ValueError(f"unknown plan action {action!r}")  # a programming error, not user input


@contextmanager
def locked_plan(plan, user, action: str):
    """``with locked_plan(plan, user, action) as plan:`` — open the transaction that writes, lock the
    plan row (SELECT … FOR UPDATE), reload it in place and check ``action`` again on what is stored now.
    ``plan`` is a Plan (refreshed in place, so the caller sees the new state) or its id. Callers check
    ``require_action`` first, before parsing anything: this second check is the one that counts."""
    if not isinstance(plan, Plan):
        plan = Plan(pk=plan)
    with transaction.atomic():
        try:
            plan.refresh_from_db(from_queryset=Plan.objects.select_for_update(of=("self",)))
        except Plan.DoesNotExist:
            raise NotFound(_("No existe el plan %(id)s.") % {"id": plan.pk}) from None
        require_action(user, plan, action)
        yield plan


def save_zones(user, plan, collection: dict, expected_version, replace: bool = True,
               action: str = "guardar", summary_prefix: str = "", fit: bool = True) -> SaveResult:
    """Validate and store the plan's zones (a GeoJSON FeatureCollection). ``replace`` deletes the
    zones not present in the collection (the editor sends the whole plan). ``fit`` clips new or changed
    zones to the municipality and to the zones already there. A save that changes nothing creates no
    version (``unchanged``); one that leaves an *error* finding (overlapping zones) is refused whole."""
    require_action(user, plan, action)
    if not isinstance(collection, dict) or not isinstance(collection.get("features"), list):
        raise InvalidParameter(_("Se esperaba una FeatureCollection de GeoJSON con la lista «features»."))
    crs = declared_crs(collection)
    with locked_plan(plan, user, action):
        _check_version(plan, expected_version)
        existing = {z.pk: (shapely.from_wkb(bytes(z.geom.wkb)), shapely.from_wkb(bytes(z.geom_m.wkb)))
                    for z in plan.zones.all()} if fit else None
        result = validate_features(collection["features"], plan.municipality, crs=crs, existing=existing, fit=fit)
        summary, changes = _apply(plan, result.zones, replace)
        if not (changes["created"] or changes["modified"] or changes["deleted"]):
            findings = current_findings(plan)
            return SaveResult(plan.pk, plan.version, "Sin cambios: no se creó una versión.", changes, findings,
                              result.clipped, unchanged=True)
        _bump(plan, expected_version)
        findings = _measure(plan)
        _refuse_errors(findings)  # raising here rolls back the zones written above
        summary = summary_prefix + summary
        if result.clipped:
            changes["clipped"] = [{k: c[k] for k in ("index", "zone_id", "outside_m2", "overlap_m2")}
                                  for c in result.clipped]
        _record_version(plan, user, action, summary, changes)
        _store_findings(plan, findings)
    return SaveResult(plan.pk, plan.version, summary, changes, annotated_findings(plan, findings), result.clipped)


class ValidationRefused(InvalidGeometry):
    """The zones break an *error* rule (e.g. two zones overlap): nothing was saved. 422, findings in context."""

    code = "validation"


class GatesOpen(ConflictError):
    """Submission or approval with gates nobody waived: 409 naming each gate and its figures."""

    code = "gates_open"


def _refuse_errors(findings) -> None:
    errors = [f for f in findings if f["severity"] == "error"]
    if errors:
        # the findings' own messages are stored with the plan (its language); the frame is the reader's
        raise ValidationRefused(_("No se guardó: %(errors)s Corrija las zonas o guarde con «ajustar» activado.")
                                % {"errors": " ".join(f["message"] for f in errors)}, findings=findings)


def _stored_zones(plan) -> list[PlanZone]:
    return [PlanZone(z.pk, z.name, z.soil_class, shapely.from_wkb(bytes(z.geom_m.wkb)))
            for z in plan.zones.order_by("id")]


def _measure(plan) -> list[dict]:
    """The POT rules measured on the plan's stored zones (with the thresholds of now)."""
    return plan_findings(_stored_zones(plan), plan.municipality)


def _store_findings(plan, findings, zones_changed: bool = True) -> None:
    """Keep the findings with the plan; ``findings_version`` moves only when the zones changed, so the
    waivers given on these zones stay valid across workflow steps and lapse when the zones are edited."""
    plan.findings = findings
    if zones_changed or plan.findings_version is None:
        plan.findings_version = plan.version
    Plan.objects.filter(pk=plan.pk).update(findings=findings, findings_version=plan.findings_version)


def current_findings(plan) -> list[dict]:
    """The plan's findings with their waivers. A plan that predates stored findings is measured once and
    the result kept (only if its zones are still that version), so the review queue and the detail page
    do not redo the geometry on every read."""
    if plan.findings is None:
        plan.findings = _measure(plan)
        Plan.objects.filter(pk=plan.pk, version=plan.version, findings__isnull=True).update(
            findings=plan.findings, findings_version=plan.version)
        plan.findings_version = plan.version
    return annotated_findings(plan, plan.findings)


def annotated_findings(plan, findings) -> list[dict]:
    """Findings marked ``waived`` (with who, when and why) by the waivers given on these zones."""
    out = [dict(f, waived=False, waiver=None) for f in findings or []]
    if not plan.findings_version or not any(f["severity"] == GATE for f in out):
        return out
    waivers = list(plan.waivers.filter(findings_version=plan.findings_version).select_related("author")
                   .order_by("-created_at"))
    for f in out:
        if f["severity"] != GATE:
            continue
        w = next((w for w in waivers if w.rule == f["rule"] and (
            not w.zone_ids or (f["zone_ids"] and set(f["zone_ids"]) <= set(w.zone_ids)))), None)
        if w is not None:
            f["waived"] = True
            f["waiver"] = {"reason": w.reason, "by": w.author.get_username() if w.author else None,
                           "at": w.created_at.astimezone(ZoneInfo("America/Bogota")).isoformat()}
    return out


def open_gates(findings) -> list[dict]:
    return [f for f in findings if f["severity"] == GATE and not f["waived"]]


def _refuse_open_gates(plan, gates, verb: str) -> None:
    if gates:
        raise GatesOpen(
            _("No se puede %(verb)s el plan: %(count)s barrera(s) de validación sin dispensa. %(gates)s")
            % {"verb": verb, "count": len(gates), "gates": " ".join(f"{g['label']}: {g['message']}" for g in gates)},
            gates=gates, plan=plan.pk)


# ------------------------------------------------------------------ editing helpers (merge/split)
MAX_MERGE = 1000  # zones merged at once (ids de-duplicated and capped by geosig.params.id_list)


def merge_zones(user, plan, zone_ids: list, expected_version, soil_class: str | None = None) -> SaveResult:
    """Union of two or more zones of the plan into one (the first keeps its attributes). The zones are
    read before the lock: the version check under the lock refuses the merge if they changed since."""
    require_action(user, plan, "unir")
    if not isinstance(zone_ids, (list, tuple)):
        raise InvalidParameter(_("Indique las zonas a unir como una lista de identificadores («zone_ids»)."))
    # de-duplicated: a repeated id would be both kept and excluded below, deleting the zone
    ids = params.id_list(zone_ids, "zone_ids", max_items=MAX_MERGE)
    zones = {z.pk: z for z in plan.zones.filter(pk__in=ids)}
    if len(ids) < 2 or len(zones) != len(ids):
        raise InvalidParameter(_("Para unir, elija al menos dos zonas existentes del plan."))
    first = zones[ids[0]]
    union = shapely.union_all([shapely.from_wkb(bytes(zones[i].geom.wkb)) for i in ids])
    union = to_multi(shapely.make_valid(union))
    features = [zone_feature(z) for z in plan.zones.exclude(pk__in=ids[1:])]
    for f in features:
        if f["id"] == first.pk:
            f["geometry"] = json.loads(shapely.to_geojson(union))
            if soil_class:
                f["properties"]["soil_class"] = soil_class
    return save_zones(user, plan, {"type": "FeatureCollection", "features": features}, expected_version,
                      action="unir", summary_prefix=f"Unión de zonas #{', #'.join(map(str, ids))}: ")


def split_zone(user, plan, zone_id, line: dict, expected_version) -> SaveResult:
    """Split one zone with a drawn line (GeoJSON LineString) into its pieces; all keep the attributes."""
    require_action(user, plan, "dividir")
    zone = plan.zones.filter(pk=params.identifier(zone_id, "zone_id")).first()
    if zone is None:
        raise NotFound(_("La zona %(id)s no es de este plan.") % {"id": zone_id})
    try:
        blade = shape(line)
    except Exception:  # shapely raises several types for junk
        raise InvalidParameter(_("La línea de corte no es un GeoJSON válido.")) from None
    if blade.geom_type != "LineString":
        raise InvalidParameter(_("Para dividir dibuje una línea (LineString) que cruce la zona."))
    geom = shapely.from_wkb(bytes(zone.geom.wkb))
    pieces = [p for poly in geom.geoms for p in split(poly, blade).geoms]
    if len(pieces) < 2:
        raise InvalidParameter(_("La línea no cruza la zona de lado a lado: no la divide."))
    features = [zone_feature(z) for z in plan.zones.all()]
    base = next(f for f in features if f["id"] == zone.pk)
    features.remove(base)
    for k, piece in enumerate(pieces):
        f = {"type": "Feature", "id": zone.pk if k == 0 else None,
             "geometry": json.loads(shapely.to_geojson(piece)), "properties": dict(base["properties"])}
        features.append(f)
    return save_zones(user, plan, {"type": "FeatureCollection", "features": features}, expected_version,
                      action="dividir", summary_prefix=f"Zona #{zone.pk} dividida en {len(pieces)}: ")


# ------------------------------------------------------------------ versions
def restore_version(user, plan, number, expected_version) -> SaveResult:
    require_action(user, plan, "restaurar")
    version = plan.versions.filter(number=number).first()
    if version is None:
        raise NotFound(_("El plan no tiene versión %(number)s.") % {"number": number})
    features = [dict(f, id=None) for f in version.snapshot.get("features", [])]
    for f in features:  # ids of the snapshot may belong to deleted zones: recreate them all
        f["properties"] = {k: v for k, v in f["properties"].items() if k != "area_m2"}
    return save_zones(user, plan, {"type": "FeatureCollection", "features": features}, expected_version,
                      action="restaurar", summary_prefix=f"Restaurada la versión {number}: ")


# ------------------------------------------------------------------ workflow
@dataclass(frozen=True)
class Transition:
    sources: frozenset
    target: str
    role: str  # "planner" | "reviewer"
    label: str


TRANSITIONS: dict[str, Transition] = {
    "enviar": Transition(frozenset({Status.BORRADOR, Status.DEVUELTA}), Status.ENVIADA, "planner", gettext_noop("Enviar a revisión")),
    "iniciar_revision": Transition(frozenset({Status.ENVIADA}), Status.EN_REVISION, "reviewer", gettext_noop("Iniciar revisión")),
    "aprobar": Transition(frozenset({Status.EN_REVISION}), Status.APROBADA, "reviewer", gettext_noop("Aprobar")),
    "devolver": Transition(frozenset({Status.ENVIADA, Status.EN_REVISION}), Status.DEVUELTA, "reviewer", gettext_noop("Devolver")),
}


def authored_by(plan, user) -> bool:
    """Did this user draw (create, save or submit) any part of the plan?"""
    if plan.created_by_id == user.pk or plan.submitted_by_id == user.pk:
        return True
    return plan.versions.filter(author=user, action__in=["crear", "guardar", "unir", "dividir", "restaurar",
                                                          "importar"]).exists()


# the contract's English action names (POT-CONTRACT.md) and the stored Spanish ones
ACTION_ALIASES = {"submit": "enviar", "review": "iniciar_revision", "approve": "aprobar", "return": "devolver"}


def transition(user, plan, action: str, expected_version, note: str = ""):
    action = ACTION_ALIASES.get(action, action)
    if action not in TRANSITIONS:
        raise InvalidParameter(_("Acción desconocida «%(action)s». Valores válidos: %(choices)s.")
                               % {"action": action, "choices": ", ".join(TRANSITIONS)})
    t = TRANSITIONS[action]
    require_action(user, plan, action)
    note = (note or "").strip()
    if action == "devolver" and not note:
        raise InvalidParameter(_("Indique el motivo de la devolución."), parameter="note")
    with locked_plan(plan, user, action):
        _check_version(plan, expected_version)
        if action in ("enviar", "aprobar"):  # measured again: the thresholds may have changed since the save
            findings = _measure(plan)
            _store_findings(plan, findings, zones_changed=False)  # same zones: their waivers still hold
            _refuse_open_gates(plan, open_gates(annotated_findings(plan, findings)), _(t.label).lower())
        _bump(plan, expected_version)
        old = plan.get_status_display()
        plan.status = t.target
        if action == "enviar":
            plan.submitted_by, plan.submitted_at = user, timezone.now()
        elif t.role == "reviewer":
            plan.reviewed_by = user
        retired = _make_current(plan, user) if action == "aprobar" else None
        plan.save(update_fields=["status", "submitted_by", "submitted_at", "reviewed_by", "replaces"])
        summary = f"Estado: {old} → {plan.get_status_display()}" + (f". Nota: {note}" if note else "")
        changes = {"status": [str(old), plan.status]} | ({"note": note} if note else {})
        if retired:
            summary += f". Reemplaza al plan {', '.join(f'{r.pk} («{r.name}»)' for r in retired)}"
            changes["replaces"] = [r.pk for r in retired]
        _record_version(plan, user, action, summary, changes)
    return plan


def _make_current(plan, user) -> list:
    """Under the approval's lock: the municipality row is locked first (so two approvals in one
    municipality run one after the other and each sees the other's result), then every other approved
    plan of the municipality becomes «reemplazada», pointing to ``plan`` — and ``plan`` to it."""
    Municipality.objects.select_for_update().filter(pk=plan.municipality_id).first()
    retired = list(Plan.objects.select_for_update().filter(municipality_id=plan.municipality_id,
                                                           status=Status.APROBADA).exclude(pk=plan.pk))
    for old in retired:
        old.status, old.replaced_by = Status.REEMPLAZADA, plan
        old.version += 1
        old.save(update_fields=["status", "replaced_by", "version", "updated_at"])
        _record_version(old, user, "reemplazar", f"Estado: Aprobada → Reemplazada por el plan {plan.pk} "
                                                 f"(«{plan.name}»)", {"status": [Status.APROBADA, old.status],
                                                                       "replaced_by": plan.pk})
    if retired and (plan.replaces_id is None or plan.replaces_id not in {r.pk for r in retired}):
        plan.replaces = retired[0]
    return retired


def retire_for_loader(plan) -> None:
    """For loaders (no user): make ``plan`` the current approved plan of its municipality unless a real
    (non-demo) approved plan already stands there, in which case ``plan`` is recorded as replaced by it.
    Keeps exactly one current approved plan per municipality whatever the loading order."""
    with transaction.atomic():
        others = list(Plan.objects.select_for_update().filter(municipality_id=plan.municipality_id,
                                                              status=Status.APROBADA).exclude(pk=plan.pk))
        keep = next((o for o in others if not o.is_demo), None) if plan.is_demo else None
        if keep is not None:
            Plan.objects.filter(pk=plan.pk).update(status=Status.REEMPLAZADA, replaced_by=keep)
            plan.refresh_from_db()
            return
        for old in others:
            Plan.objects.filter(pk=old.pk).update(status=Status.REEMPLAZADA, replaced_by=plan)
        if others and plan.replaces_id is None:
            Plan.objects.filter(pk=plan.pk).update(replaces=others[0])
        Plan.objects.filter(pk=plan.pk).update(status=Status.APROBADA)
        plan.refresh_from_db()


# ------------------------------------------------------------------ waivers, amendments, review queue
def waive_gate(user, plan, rule, zone_ids, reason, expected_version=None):
    """A reviewer waives the open gate(s) of ``rule`` (all of them, or those of ``zone_ids``) with a
    written reason; recorded as a PlanWaiver and as a version of the plan (who, when, why)."""
    require_action(user, plan, "dispensar")
    rule = params.text(rule, "rule", max_length=40, required=True)
    ids = params.id_list(zone_ids, "zone_ids", max_items=MAX_MERGE) if zone_ids not in (None, "", []) else []
    reason = params.text(reason, "reason", max_length=2000, multiline=True, default="").strip()
    if not reason:
        raise InvalidParameter(_("Escriba el motivo de la dispensa."), parameter="reason")
    with locked_plan(plan, user, "dispensar"):
        if expected_version is not None:
            _check_version(plan, expected_version)
        gates = [g for g in open_gates(current_findings(plan)) if g["rule"] == rule
                 and (not ids or (g["zone_ids"] and set(g["zone_ids"]) <= set(ids)))]
        if not gates:
            raise ConflictError((_("El plan no tiene barreras «%(rule)s» abiertas en las zonas %(ids)s: no hay nada "
                                   "que dispensar.") if ids else
                                 _("El plan no tiene barreras «%(rule)s» abiertas: no hay nada que dispensar."))
                                % {"rule": rule, "ids": ids}, rule=rule)
        if plan.findings is None:
            _store_findings(plan, _measure(plan), zones_changed=False)
        plan.version += 1
        plan.save(update_fields=["version", "updated_at"])
        w = PlanWaiver.objects.create(plan=plan, rule=rule, zone_ids=ids, reason=reason, author=user,
                                      plan_version=plan.version, findings_version=plan.findings_version)
        labels = "; ".join(g["message"] for g in gates)
        _record_version(plan, user, "dispensar", f"Dispensa de «{gates[0]['label']}»: {labels} Motivo: {reason}",
                        {"waiver": w.pk, "rule": rule, "zone_ids": ids, "reason": reason,
                         "gates": [g["figures"] for g in gates]})
    return w


ACTIVE = (Status.BORRADOR, Status.ENVIADA, Status.EN_REVISION, Status.DEVUELTA)


def revise_plan(user, plan):
    """«Modificar» the current approved plan: a new draft with a copy of its zones that ``replaces`` it.
    The approved plan stays current until the revision is approved (then it becomes «reemplazada»)."""
    require_action(user, plan, "revisar")
    with locked_plan(plan, user, "revisar"):
        pending = plan.revisions.filter(status__in=ACTIVE).first()
        if pending is not None:
            raise ConflictError(_("Ya hay una modificación en curso de este plan: el plan %(id)s («%(name)s», %(status)s).")
                                % {"id": pending.pk, "name": pending.name, "status": pending.get_status_display()},
                                revision=pending.pk)
        # not DEMO: from now on these are the planner's zones (the source says where they started), and
        # regenerating the DEMO plans (which deletes DEMO plans) must never take an amendment with it
        source = f"Modificación del plan {plan.pk} («{plan.name}», versión {plan.version})" + (
            f". Fuente original: {plan.source}" if plan.source else "")
        new = Plan.objects.create(municipality=plan.municipality, name=f"{plan.name} — modificación"[:200],
                                  source=source, is_demo=False, created_by=user, replaces=plan)
        Zone.objects.bulk_create([
            Zone(plan=new, soil_class=z.soil_class, use_category=z.use_category, name=z.name, notes=z.notes,
                 geom=z.geom, geom_m=z.geom_m, area_m2=z.area_m2) for z in plan.zones.order_by("id")])
        refresh_pieces(new.pk)
        _record_version(new, user, "revisar", f"Modificación del plan {plan.pk} («{plan.name}», versión "
                                              f"{plan.version}): {new.zones.count()} zona(s) copiada(s).",
                        {"replaces": plan.pk, "replaces_version": plan.version})
        _store_findings(new, _measure(new))
    return new


def review_queue(user) -> list[dict]:
    """Plans waiting for the CVC (submitted or in review), oldest submission first, with open gates."""
    access.require_reviewer(user)
    qs = (Plan.objects.filter(status__in=Status.IN_REVIEW).select_related("municipality", "submitted_by")
          .order_by(F("submitted_at").asc(nulls_first=True), "pk"))
    out = []
    for plan in qs:
        gates = open_gates(current_findings(plan))
        out.append({"id": plan.pk, "name": plan.name, "municipality": plan.municipality.divipola,
                    "municipality_name": plan.municipality.name, "status": plan.status,
                    "status_label": str(plan.get_status_display()), "version": plan.version,
                    "submitted_at": plan.submitted_at.isoformat() if plan.submitted_at else None,
                    "submitted_by": plan.submitted_by.get_username() if plan.submitted_by else None,
                    "open_gates": len(gates), "gates": [g["label"] for g in gates],
                    "gate_messages": [g["message"] for g in gates]})
    return out


def approval_versions(plan):
    """The version records the public may read: the approval of an approved plan (its zones are the
    plan's zones, frozen since) — never earlier drafts."""
    if plan.status not in Status.PUBLISHED:
        return plan.versions.none()
    latest = plan.versions.filter(action="aprobar").order_by("-number").values_list("pk", flat=True)[:1]
    return plan.versions.select_related("author").filter(pk__in=list(latest))


def approval(plan) -> dict | None:
    """The published approval of the plan: version, date, reviewer and note (None if not approved)."""
    v = next(iter(approval_versions(plan)), None)
    if v is None:
        return None
    note = v.changes.get("note") or (v.summary.split(". Nota: ", 1)[1] if ". Nota: " in v.summary else "")
    return {"version": v.number, "approved_at": v.created_at.isoformat(),
            "approved_by": v.author.get_username() if v.author else None, "note": note}


ACTION_TEXTS = {  # contract code: (service action, label, confirmation question, needs a reason)
    "submit": ("enviar", "Enviar a revisión", "¿Enviar el plan a revisión de la CVC? No podrá editarlo mientras se revisa.", False),
    "review": ("iniciar_revision", "Iniciar revisión", "¿Iniciar la revisión de este plan?", False),
    "approve": ("aprobar", "Aprobar", "¿Aprobar el plan? Pasará a ser el plan vigente del municipio y reemplazará "
                                      "al aprobado anterior.", False),
    "return": ("devolver", "Devolver", "¿Devolver el plan al municipio? Indique el motivo.", True),
    "waive": ("dispensar", "Dispensar barrera", "¿Dispensar esta barrera? Quedará registrado su motivo.", True),
    "revise": ("revisar", "Modificar el plan", "¿Crear una modificación de este plan? Se copiarán sus zonas a un "
                                               "borrador nuevo; el plan aprobado sigue vigente hasta aprobar la "
                                               "modificación.", False),
}


def available_actions(user, plan, findings=None) -> list[dict]:
    """Only what this user may do on this plan now (authors never approve; gated plans are not
    submitted nor approved until their gates are waived)."""
    if user is None or not user.is_authenticated:
        return []
    gates = None
    out = []
    for code, (service_action, label, confirm, needs_reason) in ACTION_TEXTS.items():
        try:
            require_action(user, plan, service_action)
        except (PermissionDeniedError, ConflictError):
            continue
        if code in ("submit", "approve", "waive"):
            if gates is None:
                gates = open_gates(findings if findings is not None else current_findings(plan))
            if bool(gates) != (code == "waive"):
                continue
        if code == "revise" and plan.revisions.filter(status__in=ACTIVE).exists():
            continue
        out.append({"action": code, "code": service_action, "label": label, "confirm": confirm,
                    "needs_reason": needs_reason})
    return out


# ------------------------------------------------------------------ comments
def add_comment(user, plan, text: str, lon=None, lat=None, parent_id=None):
    action = "responder" if parent_id else "comentar"  # reviewers open pinned threads; planners answer
    require_action(user, plan, action)
    text = (text or "").strip()
    if not text:
        raise InvalidParameter(_("El comentario está vacío."))
    parent = None
    point = None
    if parent_id:
        parent = plan.comments.filter(pk=params.identifier(parent_id, "parent")).first()
        if parent is None:
            raise NotFound(_("El comentario %(id)s no es de este plan.") % {"id": parent_id})
        while parent.parent_id:  # answers hang from the thread's first comment
            parent = parent.parent
    else:
        try:  # finite and in range: NaN would slip past the distance check
            lon, lat = params.lonlat(lon, lat)
        except InvalidParameter as exc:
            raise InvalidParameter(_("Un comentario nuevo necesita un punto en el mapa (lon, lat): %(reason)s")
                                   % {"reason": exc.message},
                                   parameter=exc.details.get("parameter")) from None
        point = Point(lon, lat, srid=4326)
        muni = plan.municipality.geom
        if muni.distance(point) > 0.05:  # ~5 km in degrees: a pin far from the municipality is a slip
            raise InvalidParameter(_("El punto del comentario está lejos del municipio del plan."))
    with locked_plan(plan, user, action):  # plan_version is the version the comment was written on
        return ReviewComment.objects.create(plan=plan, parent=parent, author=user, point=point, text=text[:5000],
                                            plan_version=plan.version)


# ------------------------------------------------------------------ delete
def delete_plan(user, plan) -> None:
    """A planner deletes a draft of their municipality that was never submitted (zones, versions,
    comments and conflict cache go with it)."""
    require_action(user, plan, "eliminar")
    with locked_plan(plan, user, "eliminar"):
        plan.delete()


def soil_class_registry() -> list[dict]:
    return [{"code": c.code, "label": str(c.label), "article": c.article, "color": c.color}
            for c in SOIL_CLASSES.values()]


def system_replace_zones(plan, collection: dict, action: str, summary_prefix: str = "") -> SaveResult:
    """For loaders and the demo generator (no user): the same validation, writes and version record
    as ``save_zones``, without the planner permission and workflow-state checks."""
    with transaction.atomic():
        _bump(plan, plan.version)
        result = validate_features(collection["features"], plan.municipality, crs=declared_crs(collection))
        summary, changes = _apply(plan, result.zones, replace=True)
        _record_version(plan, None, action, summary_prefix + summary, changes)
        findings = _measure(plan)  # recorded, never refused: loaded plans are what their source says
        _store_findings(plan, findings)
    return SaveResult(plan.pk, plan.version, summary_prefix + summary, changes, findings)
