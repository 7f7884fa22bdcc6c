from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TerritorialConfig(AppConfig):
    name = "territorial"
    verbose_name = _("Territorio")

    def ready(self):
        from territorial import signals  # noqa: F401  (recompute subregion geometry on reassignment)
