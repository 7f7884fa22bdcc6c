"""Admin of the layer registry: metadata and style are editable (role «Editor de capas»); geometry is not
(re-import instead, so every change goes through the same validation)."""
from django.contrib import admin

from layers.models import Layer


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "theme", "kind", "geometry_type", "feature_count", "is_partial", "is_derived",
                    "visible_by_default", "order")
    list_filter = ("theme", "kind", "is_partial", "is_derived", "is_demo")
    search_fields = ("title", "slug", "source")
    readonly_fields = ("kind", "geometry_type", "feature_count", "source_crs", "source_format", "source_file",
                       "fields", "raster_file", "raster_meta", "import_report", "created_by", "created_at",
                       "updated_at")
    exclude = ("extent",)
