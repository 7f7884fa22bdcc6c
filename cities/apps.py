from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CitiesConfig(AppConfig):
    name = "cities"
    verbose_name = _("Sistema de ciudades")

    def ready(self):
        from geosig import nav

        nav.register("cities-balance", _("Sistema de ciudades"), order=20)
        from cities.services import factsheet

        factsheet.register()  # the city-system role on the municipality/subregion fact sheets
