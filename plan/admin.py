"""The planning office edits the plan's structure, portfolio, goals and thresholds here (projects drawn on
a Leaflet map). Every save leaves a ``Revision`` (who, when, what) and bumps the data version ``plan``."""
from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from geosig import versioned
from plan import models as M
from plan.services import geometry, portfolio


class VersionedAdmin(admin.ModelAdmin):
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        if hasattr(obj, "version") and change:
            obj.version += 1
            obj.save(update_fields=["version"])
        portfolio.record(request.user, obj, "editar (admin)" if change else "crear (admin)",
                         number=getattr(obj, "version", None) or M.Revision.objects.filter(
                             model=obj._meta.model_name, object_id=obj.pk).count() + 1)
        versioned.bump(portfolio.VERSION_NS)

    def delete_model(self, request, obj):
        portfolio.record(request.user, obj, "eliminar (admin)", number=(getattr(obj, "version", 0) or 0) + 1)
        super().delete_model(request, obj)
        versioned.bump(portfolio.VERSION_NS)


@admin.register(M.Dimension)
class DimensionAdmin(VersionedAdmin):
    list_display = ("order", "code", "name", "source")


@admin.register(M.ProgramLine)
class ProgramLineAdmin(VersionedAdmin):
    list_display = ("order", "code", "name", "dimension", "dimension_is_demo", "weight")
    list_filter = ("dimension",)


@admin.register(M.SpecificObjective)
class ObjectiveAdmin(VersionedAdmin):
    list_display = ("order", "__str__", "source")


@admin.register(M.Program)
class ProgramAdmin(VersionedAdmin):
    list_display = ("code", "name", "line", "weight", "is_demo")
    list_filter = ("line", "is_demo")


@admin.register(M.Entity)
class EntityAdmin(VersionedAdmin):
    list_display = ("code", "name", "is_demo")
    filter_horizontal = ("members",)


class BudgetInline(admin.TabularInline):
    model = M.Budget
    extra = 0


class LinkInline(admin.TabularInline):
    model = M.ProjectLink
    extra = 0


@admin.register(M.Project)
class ProjectAdmin(VersionedAdmin, LeafletGeoAdmin):
    list_display = ("code", "name", "program", "entity", "status", "progress", "published", "is_demo")
    list_filter = ("status", "term", "published", "is_demo", "program__line")
    search_fields = ("code", "name")
    filter_horizontal = ("municipalities",)
    readonly_fields = ("is_demo", "version")
    inlines = [BudgetInline, LinkInline]

    def save_related(self, request, form, formsets, change):
        admin.ModelAdmin.save_related(self, request, form, formsets, change)
        obj = form.instance
        if "municipalities" in form.changed_data:
            obj.municipalities_edited = True
        elif "geom" in form.changed_data and obj.geom is not None:
            obj.municipalities.set(geometry.municipalities_for(obj.geom))  # derived; the office may edit it
            obj.municipalities_edited = False
        if change:
            obj.version += 1
        obj.save(update_fields=["municipalities_edited", "version"])
        portfolio.record(request.user, obj, "editar (admin)" if change else "crear (admin)")
        versioned.bump(portfolio.VERSION_NS)


@admin.register(M.Goal)
class GoalAdmin(VersionedAdmin):
    list_display = ("code", "name", "program", "entity", "published", "is_demo")
    list_filter = ("published", "is_demo")
    readonly_fields = ("is_demo", "version")


@admin.register(M.ProgressReport)
class ProgressReportAdmin(admin.ModelAdmin):
    """Reports are written through the API (permission per entity); the admin only lists them."""

    list_display = ("date", "project", "goal", "value", "reporter", "is_demo")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(M.Revision)
class RevisionAdmin(admin.ModelAdmin):
    list_display = ("model", "object_id", "number", "action", "author", "created_at")
    list_filter = ("model", "action")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(M.PlanSettings)
class PlanSettingsAdmin(VersionedAdmin):
    list_display = ("__str__", "on_track_min", "at_risk_min")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not M.PlanSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
