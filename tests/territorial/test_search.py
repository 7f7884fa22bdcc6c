"""Municipality search: accents and case do not matter, exact and prefix matches first, common names."""
import pytest

from territorial.services.search import aliases, normalise, search_municipalities

pytestmark = pytest.mark.django_db


def codes(q):
    return [h["divipola"] for h in search_municipalities(q)]


def test_normalise():
    assert normalise("  TULUÁ ") == "tulua"
    assert normalise("Guacarí") == normalise("guacari")
    assert normalise("El  Águila") == "el aguila"


def test_common_names_and_accents(territory):
    assert codes("Buga")[0] == "76111"       # Guadalajara de Buga, not Bugalagrande (a prefix match)
    assert "76113" in codes("Buga")          # Bugalagrande is still offered, after it
    assert codes("buga")[0] == "76111"
    assert codes("Tulua")[:1] == ["76834"] and codes("tulua")[:1] == ["76834"]
    assert codes("TULUÁ")[:1] == ["76834"]
    assert codes("Santiago de Cali") == ["76001"]
    assert codes("cali")[0] == "76001"       # exact before Calima (a prefix)
    assert codes("Cali")[1] == "76126"
    assert codes("jamundi") == ["76364"]
    assert codes("el aguila") == ["76243"]


def test_prefix_before_word_before_substring(territory):
    # "la": La Cumbre, La Unión, La Victoria (name prefix) before words starting with "la" elsewhere,
    # before names merely containing "la" (Candelaria, Guadalajara de Buga…)
    found = [h["divipola"] for h in search_municipalities("la", limit=50)]
    assert codes("la") == found[:10]  # the API caps at 10
    prefix = {"76377", "76400", "76403"}
    assert set(found[:3]) == prefix
    assert "76130" in found[3:]  # Candelaria
    assert codes("zzz") == [] and codes("   ") == []


def test_aliases_point_at_real_municipalities(territory):
    from territorial.models import Municipality

    known = set(Municipality.objects.values_list("divipola", flat=True))
    assert set(aliases()) <= known


def test_search_api(client, territory):
    r = client.get("/api/v1/municipalities/search/", {"q": "Buga"})
    assert r.status_code == 200
    body = r.json()
    assert body[0] == {"divipola": "76111", "name": "Guadalajara de Buga", "alias": "Buga"}
    r = client.get("/api/v1/municipalities/search/", {"q": "tulua", "limit": 1})
    assert r.json() == [{"divipola": "76834", "name": "Tuluá", "alias": None}]
    r = client.get("/api/v1/municipalities/search/")
    assert r.status_code == 400 and "«q»" in r.json()["detail"]
    r = client.get("/api/v1/municipalities/search/", {"q": "a", "limit": 99})
    assert r.status_code == 400
