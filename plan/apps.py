from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanConfig(AppConfig):
    name = "plan"
    verbose_name = _("Plan de desarrollo: seguimiento")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from geosig import nav
        from plan import admin  # noqa: F401  (the planning office edits the structure in the admin)
        from plan.services import factsheet

        nav.register("plan-public", _("Seguimiento del plan"), order=60)
        factsheet.register()  # the municipality/subregion fact sheets list projects and goals (territorial hook)
