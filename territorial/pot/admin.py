"""Admin pages of the POT module. CVC staff edit the compatibility matrix (DeterminantRule) here.

Plans, zones, versions and comments are scoped like the API (``access.plans_in_admin``): a planner sees
and changes only their municipalities' plans, a reviewer the plans that reached review; superusers see
everything. Workflow fields (status, version, who created/submitted/reviewed, timestamps, the
municipality once created) are read-only for everyone: they change only through the workflow, which
checks roles, locks the plan row and records a version. Comment authors are the request's user.
"""
from django.contrib.gis import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from geosig.errors import GeoSIGError
from territorial.models import Municipality
from territorial.pot.models import (
    Determinant, DeterminantRule, Plan, PlannerAssignment, PlanVersion, PlanWaiver, PotRulesSettings, ReviewComment,
    Zone,
)
from territorial.pot.services import access
from territorial.pot.services import plans as P


def _may(user, plan, action: str) -> bool:
    try:
        P.require_action(user, plan, action)
    except GeoSIGError:
        return False
    return True


class ReadOnlyAdmin:
    """Mixin: rows are listed and shown, never added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PlanScopedAdmin(admin.ModelAdmin):
    """Lists only rows of the plans the user touches through the API (``plan_lookup`` leads to the plan)."""

    plan_lookup = "plan"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.plan_lookup}__in": access.plans_in_admin(request.user)})


class RuleInline(admin.TabularInline):
    model = DeterminantRule
    extra = 0


@admin.register(Determinant)
class DeterminantAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "piece_count", "loaded_at", "origin")
    readonly_fields = ("piece_count", "loaded_at", "origin")
    inlines = [RuleInline]


@admin.register(DeterminantRule)
class DeterminantRuleAdmin(admin.ModelAdmin):
    list_display = ("determinant", "soil_class", "verdict", "note")
    list_editable = ("verdict", "note")
    list_filter = ("determinant", "verdict")


@admin.register(PlannerAssignment)
class PlannerAssignmentAdmin(admin.ModelAdmin):
    list_display = ("user", "municipality")
    autocomplete_fields = ()


WORKFLOW_FIELDS = ("status", "version", "created_by", "submitted_by", "submitted_at", "reviewed_by", "replaces",
                   "replaced_by", "created_at", "updated_at")


@admin.register(PotRulesSettings)
class PotRulesSettingsAdmin(admin.ModelAdmin):
    """The thresholds of the POT validation rules: one row, changed here by CVC staff (superusers or whoever
    holds the model's change permission); the defaults and their meaning are in each field's help text."""

    list_display = ("__str__", "outside_band_m", "outside_tolerance_m2", "coverage_min_pct", "gap_gate_m2",
                    "overlap_tolerance_m2", "updated_at")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not PotRulesSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PlanWaiver)
class PlanWaiverAdmin(ReadOnlyAdmin, PlanScopedAdmin):
    """Waivers are given through the review (API): here they are only read."""

    list_display = ("plan", "rule", "zone_ids", "author", "created_at", "reason")
    readonly_fields = [f.name for f in PlanWaiver._meta.fields]


@admin.register(Plan)
class PlanAdmin(PlanScopedAdmin):
    list_display = ("name", "municipality", "status", "is_demo", "version", "updated_at")
    list_filter = ("status", "is_demo")
    plan_lookup = "pk"
    # status changes go through the workflow (roles, version record, optimistic lock): not editable here
    readonly_fields = WORKFLOW_FIELDS

    def get_readonly_fields(self, request, obj=None):
        fields = list(WORKFLOW_FIELDS)
        if obj is not None:
            fields.append("municipality")  # a plan belongs to one municipality for life
        if not request.user.is_superuser:
            fields.append("is_demo")  # the DEMO label says where the data came from: not a planner's choice
        return fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "municipality" and not request.user.is_superuser:
            kwargs["queryset"] = Municipality.objects.filter(pk__in=access.planner_municipality_ids(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or request.user.is_superuser or _may(request.user, obj, "guardar")

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or request.user.is_superuser or _may(request.user, obj, "eliminar")

    def save_model(self, request, obj, form, change):
        if not change:
            access.require_planner(request.user, obj.municipality)
            obj.created_by = request.user
            with transaction.atomic():
                super().save_model(request, obj, form, change)
                P._record_version(obj, request.user, "crear", "Plan creado en la administración (sin zonas).", {})
            return
        fields = ["name", "source"] + (["is_demo"] if request.user.is_superuser else [])
        with transaction.atomic():
            if request.user.is_superuser:
                Plan.objects.select_for_update().filter(pk=obj.pk).first()
                obj.save(update_fields=fields)
            else:
                try:
                    with P.locked_plan(obj.pk, request.user, "guardar"):  # re-checked on the stored row
                        obj.save(update_fields=fields)  # never the workflow fields read before the lock
                except GeoSIGError as exc:  # the plan left the planner's hands while the form was open
                    raise PermissionDenied(exc.message) from None

    def delete_model(self, request, obj):
        if request.user.is_superuser:
            return super().delete_model(request, obj)
        P.delete_plan(request.user, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Zone)
class ZoneAdmin(ReadOnlyAdmin, PlanScopedAdmin, admin.GISModelAdmin):
    """Read-only: zones are edited through the plan editor/API, which validates the geometry, records a
    version and refreshes the conflict pieces; an admin edit would skip all three."""

    list_display = ("id", "plan", "soil_class", "use_category", "area_m2")
    list_filter = ("soil_class",)


@admin.register(PlanVersion)
class PlanVersionAdmin(ReadOnlyAdmin, PlanScopedAdmin):
    """The record of who changed what: read-only for everyone."""

    list_display = ("plan", "number", "action", "author", "created_at", "summary")
    readonly_fields = [f.name for f in PlanVersion._meta.fields]


@admin.register(ReviewComment)
class ReviewCommentAdmin(PlanScopedAdmin, admin.GISModelAdmin):
    """Comments follow the API's rules (reviewers open pinned threads, planners answer); the author is
    always the request's user and only the text of one's own comment can be corrected later."""

    list_display = ("plan", "author", "created_at", "text")
    list_select_related = ("plan", "author")

    def get_readonly_fields(self, request, obj=None):
        fields = ["author", "plan_version", "created_at"]
        return fields + ["plan", "parent", "point"] if obj is not None else fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            plans = access.plans_in_admin(request.user)
            if db_field.name == "plan":
                kwargs["queryset"] = plans
            elif db_field.name == "parent":
                kwargs["queryset"] = ReviewComment.objects.filter(plan__in=plans)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or request.user.is_superuser or obj.author_id == request.user.pk

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            return form
        user = request.user

        class NewCommentForm(form):
            def clean(self):
                data = super().clean()
                plan, parent = data.get("plan"), data.get("parent")
                if plan is None:
                    return data
                if parent is not None and parent.plan_id != plan.pk:
                    raise ValidationError("La respuesta debe ser a un comentario del mismo plan.")
                if parent is None and data.get("point") is None:
                    raise ValidationError("Un comentario nuevo necesita un punto en el mapa.")
                try:
                    P.require_action(user, plan, "responder" if parent else "comentar")
                except GeoSIGError as exc:
                    raise ValidationError(exc.message) from None
                return data

        return NewCommentForm

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["text"])
            return
        obj.author = request.user
        while obj.parent is not None and obj.parent.parent_id:  # answers hang from the thread's first comment
            obj.parent = obj.parent.parent
        action = "responder" if obj.parent_id else "comentar"
        try:
            with P.locked_plan(obj.plan_id, request.user, action) as plan:
                obj.plan_version = plan.version
                super().save_model(request, obj, form, change)
        except GeoSIGError as exc:
            raise PermissionDenied(exc.message) from None
