from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from territorial.models import Department, Indicator, IndicatorReference, IndicatorValue, Municipality, Subregion


class ReadOnlyGeometryMixin:
    """Show the boundary on the map but never accept edits to it: boundaries come from DANE through the
    loader, and an edit here would leave areas, simplified geometries and subregion unions stale."""

    modifiable = False  # django-leaflet: display-only map widget
    locked_geometry_fields = ("geom",)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        for name in self.locked_geometry_fields:
            if name in form.base_fields:
                form.base_fields[name].disabled = True  # posted values are ignored
                form.base_fields[name].required = False
        return form


@admin.register(Municipality)
class MunicipalityAdmin(ReadOnlyGeometryMixin, LeafletGeoAdmin):
    list_display = ("divipola", "name", "subregion", "area_km2", "official_area_km2", "cabecera_name")
    list_filter = ("subregion",)
    search_fields = ("divipola", "name", "cabecera_name")
    # Planners edit the subregion assignment (a planning decision) and names here; not the boundary.
    readonly_fields = ("divipola", "official_name", "area_km2", "official_area_km2", "boundary_source", "creation_act")
    fields = ("divipola", "name", "official_name", "subregion", "cabecera_name", "cabecera", "geom",
              "area_km2", "official_area_km2", "creation_act", "boundary_source")


@admin.register(Subregion)
class SubregionAdmin(LeafletGeoAdmin):
    list_display = ("name", "code", "aliases", "member_count", "area_km2")
    readonly_fields = ("area_km2",)

    @admin.display(description=_("municipios"))
    def member_count(self, obj):
        return obj.municipalities.count()


@admin.register(Department)
class DepartmentAdmin(ReadOnlyGeometryMixin, LeafletGeoAdmin):
    list_display = ("code", "name", "area_km2")
    readonly_fields = ("area_km2",)


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "unit", "source", "derived")
    search_fields = ("code", "name")


@admin.register(IndicatorValue)
class IndicatorValueAdmin(admin.ModelAdmin):
    list_display = ("indicator", "municipality", "year", "value", "source")
    list_filter = ("indicator", "year")
    search_fields = ("municipality__name", "municipality__divipola")
    list_select_related = ("indicator", "municipality")


@admin.register(IndicatorReference)
class IndicatorReferenceAdmin(admin.ModelAdmin):
    """Read-only: the references come from the official rows through the loader (an edit here would
    put an unpublished figure beside the official ones)."""

    list_display = ("indicator", "year", "scope", "label", "value", "source")
    list_filter = ("scope", "year")
    list_select_related = ("indicator",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
