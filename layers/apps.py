from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LayersConfig(AppConfig):
    name = "layers"
    verbose_name = _("Capas ambientales")

    def ready(self):
        from geosig import nav
        from layers import signals  # noqa: F401  (delete a raster layer's file with it)
        from layers.corridors import runs  # noqa: F401  (registers the «corridors» job kind for the worker)
        from layers import imports_queue  # noqa: F401  (registers the «layer_import» job kind: big uploads)
        from layers.connectivity import runs as _omni  # noqa: F401  (registers the «connectivity» job kind)
        from jobs.registry import register_cleanup
        from layers.services.input_retention import remove_stale_inputs

        register_cleanup("corridor-inputs", remove_stale_inputs)  # the workers expire uploaded input files

        nav.register("layers-explorer", _("Capas ambientales"), order=30)
        nav.register("corridors-page", _("Corredores ecológicos"), order=40)
        nav.register("connectivity-page", _("Conectividad omnidireccional"), order=45)
