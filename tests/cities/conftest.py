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
