"""territorial.models re-exports the POT models by name (no star import): every model class defined in
territorial/pot/models.py must be listed in both ``__all__`` and registered with the territorial app."""
import inspect

from django.apps import apps
from django.db import models

import territorial.models as T
import territorial.pot.models as PM


def _defined_models(module) -> set[str]:
    return {name for name, obj in vars(module).items()
            if inspect.isclass(obj) and issubclass(obj, models.Model) and obj.__module__ == module.__name__}


def test_every_pot_model_is_exported_and_registered():
    pot = _defined_models(PM)
    assert pot and pot == set(PM.__all__)  # a new POT model must be listed in its module's __all__
    assert pot <= set(T.__all__)
    assert all(getattr(T, name) is getattr(PM, name) for name in pot)
    registered = {m.__name__ for m in apps.get_app_config("territorial").get_models()}
    assert pot | _defined_models(T) == registered
    assert set(T.__all__) == registered
