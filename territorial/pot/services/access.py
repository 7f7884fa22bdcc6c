"""Who may see and do what with POT plans. Roles are Django groups (created by migration 0004)."""
from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from geosig.errors import NotFound, PermissionDeniedError
from territorial.pot.classes import Status
from territorial.pot.models import Plan

ROLE_PLANNER = "Planificador"
ROLE_REVIEWER = "Revisor CVC"
ROLE_ANALYST = "Analista"
ROLES = (ROLE_PLANNER, ROLE_REVIEWER, ROLE_ANALYST)


def roles(user) -> set[str]:
    if user is None or not user.is_authenticated:
        return set()
    if not hasattr(user, "_pot_roles"):
        user._pot_roles = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    return user._pot_roles


def is_reviewer(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or ROLE_REVIEWER in roles(user)))


def reads_everything(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or roles(user) & {ROLE_REVIEWER, ROLE_ANALYST}))


def planner_municipality_ids(user) -> set[int]:
    if user is None or not user.is_authenticated or ROLE_PLANNER not in roles(user):
        return set()
    return set(user.pot_assignments.values_list("municipality_id", flat=True))


def plans_visible_to(user, queryset=None):
    """Anonymous users see only published (approved) plans; planners also their municipalities'
    plans; reviewers, analysts and superusers everything."""
    qs = queryset if queryset is not None else Plan.objects.all()
    if reads_everything(user):
        return qs
    published = Q(status__in=Status.PUBLISHED)
    mine = planner_municipality_ids(user)
    return qs.filter(published | Q(municipality_id__in=mine)) if mine else qs.filter(published)


def plans_in_admin(user, queryset=None):
    """What the admin lists for ``user``: what the same user touches through the API — planners their
    municipalities' plans, reviewers the plans that reached review (submitted at least once), analysts
    (read-only by their permissions) and superusers everything."""
    qs = queryset if queryset is not None else Plan.objects.all()
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_superuser or ROLE_ANALYST in roles(user):
        return qs
    scope = Q(municipality_id__in=planner_municipality_ids(user))
    if is_reviewer(user):
        scope |= ~Q(status=Status.BORRADOR)
    return qs.filter(scope)


def get_visible_plan(user, plan_id, for_update: bool = False):
    try:
        plan_id = int(plan_id)
    except (TypeError, ValueError):
        raise NotFound(_("No existe el plan «%(id)s».") % {"id": plan_id}) from None
    qs = plans_visible_to(user, Plan.objects.select_related("municipality"))
    plan = qs.filter(pk=plan_id).first()
    if plan is None:
        # Same answer whether it does not exist or is hidden: do not reveal unpublished plans.
        raise NotFound(_("No existe el plan %(id)s o no tiene permiso para verlo.") % {"id": plan_id})
    return plan


def sees_internals(user, plan) -> bool:
    """Earlier versions, drafts and review threads are internal to the plan's municipality (its planners)
    and the CVC roles; everyone else (anonymous, other municipalities' planners) sees only what was
    approved: the approved zones and the approval note."""
    return reads_everything(user) or can_plan_municipality(user, plan.municipality_id)


def can_plan_municipality(user, municipality_id) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return user.is_superuser or municipality_id in planner_municipality_ids(user)


def require_planner(user, municipality) -> None:
    if not can_plan_municipality(user, municipality.pk):
        raise PermissionDeniedError(
            f"No tiene asignado el municipio {municipality.name} ({municipality.divipola}) como planificador: "
            "no puede editar sus planes."
        )


def require_reviewer(user) -> None:
    if not is_reviewer(user):
        raise PermissionDeniedError(_("Esta acción es del rol «Revisor CVC»."))


def permissions_for(user, plan) -> dict:
    """What the editor may offer this user on this plan (the server checks again on each action)."""
    planner = can_plan_municipality(user, plan.municipality_id)
    reviewer = is_reviewer(user)
    return {
        "edit": planner and plan.status in Status.EDITABLE,
        "comment": reviewer or planner,
        "review": reviewer,
        "planner": planner,
    }
