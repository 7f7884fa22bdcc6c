"""Who may do what in the plan follow-up.

Planning office (group «Oficina de planeación», permission ``plan.manage_portfolio``): structure, portfolio,
goals, publishing, imports, and progress reports on any project. Executing entity (group «Entidad ejecutora»,
permission ``plan.report_progress``): progress reports on the projects and goals of the entities it is a member
of, nothing else. Public: published projects and goals only.
"""
from __future__ import annotations

from django.utils.translation import gettext as _

from geosig.errors import NotFound, PermissionDeniedError

OFFICE_PERM = "plan.manage_portfolio"
REPORT_PERM = "plan.report_progress"


def is_office(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(OFFICE_PERM))


def entity_ids(user) -> set[int]:
    if not (user and user.is_authenticated and user.has_perm(REPORT_PERM)):
        return set()
    return set(user.plan_entities.values_list("pk", flat=True))


def require_office(user) -> None:
    if not is_office(user):
        raise PermissionDeniedError(_("Sólo la oficina de planeación puede hacer esto."))


def can_report(user, entity_id: int) -> bool:
    return is_office(user) or entity_id in entity_ids(user)


def require_reporter(user, entity_id: int) -> None:
    """Checked before the body is read and again under the row lock (the entity may have changed)."""
    if not can_report(user, entity_id):
        raise PermissionDeniedError(_("Sólo la entidad responsable o la oficina de planeación reportan avances "
                                      "de este proyecto o meta."))


def visible(user, queryset):
    """The office sees everything; a member of an entity also its own unpublished items; others, the published."""
    from django.db.models import Q

    if is_office(user):
        return queryset
    mine = entity_ids(user)
    return queryset.filter(Q(published=True) | Q(entity_id__in=mine)) if mine else queryset.filter(published=True)


def get_visible(user, queryset, pk, *, for_update: bool = False):
    qs = visible(user, queryset)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    obj = qs.filter(pk=pk).first()
    if obj is None:
        raise NotFound(_("No existe el elemento %(id)s (o no está publicado).") % {"id": pk})
    return obj


def permissions_for(user) -> dict:
    return {"office": is_office(user), "entities": sorted(entity_ids(user))}
