"""Cities fixtures: the 569 centros poblados and the default travel matrix, loaded once for the session
on top of the territory loaded by tests/conftest.py."""
import pytest


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from cities.services.loading import load_cities

    with django_db_blocker.unblock():
        load_cities()


@pytest.fixture
def cities(territory):
    """Territory + cities (reloaded if a transactional test flushed them)."""
    from cities.models import City
    from cities.services.loading import load_cities

    if City.objects.count() != 569:
        load_cities()
    return City.objects.all()


@pytest.fixture
def importer(django_user_model):
    """A user with the cities import role (group «Analista CVC»; no admin access)."""
    import importlib

    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group

    create_permissions(apps.get_app_config("cities"), verbosity=0)  # a flush (transactional test) drops them
    importlib.import_module("cities.migrations.0002_versions_and_import_role").seed(apps)
    user = django_user_model.objects.create_user("analista-ciudades", password="x")
    user.groups.add(Group.objects.get(name="Analista CVC"))
    return user
