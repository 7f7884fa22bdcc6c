"""Admin pages of the POT module. CVC staff edit the compatibility matrix (DeterminantRule) here."""
from django.contrib.gis import admin

from territorial.pot.models import (
    Determinant, DeterminantRule, Plan, PlannerAssignment, PlanVersion, ReviewComment, Zone,
)


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


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "municipality", "status", "is_demo", "version", "updated_at")
    list_filter = ("status", "is_demo")
    # status changes go through the workflow (roles, version record, optimistic lock): not editable here
    readonly_fields = ("status", "version")


@admin.register(Zone)
class ZoneAdmin(admin.GISModelAdmin):
    """Read-only: zones are edited through the plan editor/API, which validates the geometry, records a
    version and refreshes the conflict pieces; an admin edit would skip all three."""

    list_display = ("id", "plan", "soil_class", "use_category", "area_m2")
    list_filter = ("soil_class",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PlanVersion)
class PlanVersionAdmin(admin.ModelAdmin):
    list_display = ("plan", "number", "action", "author", "created_at", "summary")
    readonly_fields = [f.name for f in PlanVersion._meta.fields]


admin.site.register(ReviewComment)
