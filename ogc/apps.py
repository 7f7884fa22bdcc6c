from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OgcConfig(AppConfig):
    name = "ogc"
    verbose_name = _("Servicios OGC")

    def ready(self):
        # the layers API lists each layer's OGC service URLs ('Añadir a QGIS') without importing this app
        from layers import hooks
        from ogc import links

        hooks.register_service_links(links.layer_service_links)
