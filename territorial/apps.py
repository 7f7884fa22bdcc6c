from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TerritorialConfig(AppConfig):
    name = "territorial"
    verbose_name = _("Territorio")

    def ready(self):
        from territorial import signals  # noqa: F401  (recompute subregion geometry on reassignment)
        from territorial.pot import ready as _pot  # noqa: F401  (POT: nav entry «Planes POT», admin)
        from layers import hooks  # territorial may use layers, never the reverse: overlays by code

        hooks.register_area_resolver("municipio", _("Municipio"), _municipality_geom, _municipality_choices)
        hooks.register_area_resolver("subregion", _("Subregión"), _subregion_geom, _subregion_choices)
        hooks.register_area_resolver("departamento", _("Departamento"), _department_geom, _department_choices)
        from geosig.context import register_map_context
        from territorial.services.context import map_context

        register_map_context(map_context)  # the offline context map under every map of the site
        from territorial.services import factsheet_sections

        factsheet_sections.register()  # the sections territorial knows; cities and plan add theirs
        from territorial import jobs  # noqa: F401  (registers the «factsheets» batch job kind for the worker)


def _municipality_geom(code):
    from territorial.models import Municipality

    return Municipality.objects.filter(divipola=code).values_list("geom", flat=True).first()


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
