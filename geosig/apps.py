from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GeosigConfig(AppConfig):
    name = "geosig"
    verbose_name = "GeoSIG Valle"

    def ready(self):
        from geosig import nav

        nav.register("home", _("Mapa del Valle"), order=10)
        nav.register("api-docs", _("API"), order=90)  # Swagger UI of /api/v1/schema/ (offline)
