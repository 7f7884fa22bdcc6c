"""Anonymous visitors get a lower cap of the Theil permutation test (CITIES_MAX_PERMUTATIONS_ANON) in the
API, the page and the report files; logged-in users and commands keep CITIES_MAX_PERMUTATIONS."""
import pytest
from django.contrib.auth.models import AnonymousUser

from cities.services.balance import BalanceParams, max_permutations
from geosig.errors import InvalidParameter

pytestmark = pytest.mark.django_db


def test_caps_by_user(django_user_model, settings):
    user = django_user_model(username="u")
    assert max_permutations() == 9999 and max_permutations(user) == 9999  # commands, logged-in
    assert max_permutations(AnonymousUser()) == 999
    settings.CITIES_MAX_PERMUTATIONS_ANON = 50
    assert max_permutations(AnonymousUser()) == 50
    settings.CITIES_MAX_PERMUTATIONS = 20  # the anonymous cap never exceeds the general one
    assert max_permutations(AnonymousUser()) == 20


def test_from_mapping_with_an_anonymous_user():
    assert BalanceParams.from_mapping({"permutations": "999"}, user=AnonymousUser()).permutations == 999
    with pytest.raises(InvalidParameter, match=r"Sin ingresar, permutations admite hasta 999 \(recibido 1000\); "
                                                r"con un usuario, hasta 9999\."):
        BalanceParams.from_mapping({"permutations": "1000"}, user=AnonymousUser())
    assert BalanceParams.from_mapping({"permutations": "1000"}).permutations == 1000


@pytest.mark.parametrize("url", ["/api/v1/cities/balance/?permutations=1000",
                                 "/api/v1/cities/balance/report.pdf?permutations=1000",
                                 "/api/v1/cities/balance/report.xlsx?permutations=5000"])
def test_anonymous_api_and_reports_refuse_above_the_anonymous_cap(client, cities, url):
    r = client.get(url)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_parameter" and "Sin ingresar, permutations admite hasta 999" in r.json()["detail"]


def test_anonymous_page_refuses_above_the_anonymous_cap(client, cities):
    r = client.get("/ciudades/?permutations=1000")
    assert r.status_code == 400 and "Sin ingresar, permutations admite hasta 999" in r.content.decode()


def test_logged_in_user_gets_the_full_cap(client, cities, django_user_model):
    client.force_login(django_user_model.objects.create_user("planificador", password="x"))
    r = client.get("/api/v1/cities/balance/?permutations=1000")
    assert r.status_code == 200
    assert r.json()["theil"]["permutations"] == 1000
    assert client.get("/api/v1/cities/balance/?permutations=10000").status_code == 400  # the general cap
