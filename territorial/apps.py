from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TerritorialConfig(AppConfig):
    name = "territorial"
    verbose_name = _("Territorio")

    def ready(self):
        from territorial import signals  # noqa: F401  (recompute subregion geometry on reassignment)
        from territorial.pot import ready as _pot  # noqa: F401  (POT: nav entry «Planes POT», admin)
        from layers import hooks  # territorial may use layers, never the reverse: overlays by code

        hooks.register_area_resolver("municipio", _("Municipio"), _municipality_geom, _municipality_choices,
                                     _municipality_geoms)
        hooks.register_area_resolver("subregion", _("Subregión"), _subregion_geom, _subregion_choices)
        hooks.register_area_resolver("departamento", _("Departamento"), _department_geom, _department_choices)
        from layers.partitions import register_partition

        # the 42 municipalities as a reporting partition: layers keep their pieces pre-cut along them
        register_partition("municipios", _municipality_members, area_kind="municipio")
        from geosig.context import register_map_context
        from territorial.services.context import map_context

        register_map_context(map_context)  # the offline context map under every map of the site
        from territorial.services import factsheet_sections

        factsheet_sections.register()  # the sections territorial knows; cities and plan add theirs
        from territorial import jobs  # noqa: F401  (registers the «factsheets» batch job kind for the worker)


def _municipality_geom(code):
    from territorial.models import Municipality

    return Municipality.objects.filter(divipola=code).values_list("geom", flat=True).first()


def _municipality_geoms(codes):
    from territorial.models import Municipality

    return dict(Municipality.objects.filter(divipola__in=codes).values_list("divipola", "geom"))


def _municipality_members():
    """{DIVIPOLA: polygon in EPSG:9377}, projected with pyproj as every overlay area is (layers.services.areas)."""
    import shapely
    from django.conf import settings
    from django.contrib.gis.geos import GEOSGeometry

    from layers.services.areas import measured_shape
    from territorial.models import Municipality

    srid = settings.GEOSIG_MEASURE_SRID
    return {code: GEOSGeometry(memoryview(shapely.to_wkb(measured_shape(g))), srid=srid)
            for code, g in Municipality.objects.order_by("divipola").values_list("divipola", "geom")}


def _municipality_choices():
    from territorial.models import Municipality

    return list(Municipality.objects.order_by("name").values_list("divipola", "name"))


def _department_geom(code):
    from territorial.models import Department

    return Department.objects.filter(code=code).values_list("geom", flat=True).first()


def _department_choices():
    from territorial.models import Department

    return list(Department.objects.exclude(geom=None).values_list("code", "name"))


def _subregion_geom(code):
    from territorial.models import Subregion

    return Subregion.objects.filter(code=code).values_list("geom", flat=True).first()


def _subregion_choices():
    from territorial.models import Subregion

    return list(Subregion.objects.values_list("code", "name"))
