"""Imported once from territorial's AppConfig.ready(): the POT nav entry and admin pages."""
from django.utils.translation import gettext_lazy as _

from geosig import nav
from territorial.pot import admin  # noqa: F401  (registers the POT models in the admin)
from territorial.pot import jobs  # noqa: F401  (registers the «pot_conflicts» job kind for the worker)

nav.register("pot-index", _("Planes POT"), order=50)
