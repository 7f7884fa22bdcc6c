"""geosig.versioned.memo: keys from normalised parameters, at most N entries / B bytes per namespace,
least recently used evicted first."""
import pytest

from geosig import versioned

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh(settings):
    versioned._local.clear()
    settings.GEOSIG_MEMO_MAX_ENTRIES = 3
    settings.GEOSIG_MEMO_MAX_BYTES = 10_000_000
    yield settings
    versioned._local.clear()


def _build(counter, text):
    def build():
        counter.append(text)
        return text
    return build


def test_entries_capped_least_recently_used_out(fresh):
    built = []
    for i in range(5):
        versioned.memo("prueba", ("p", i), _build(built, f"cuerpo {i}"))
    space = versioned._local["prueba"]
    assert len(space) == 3
    assert [k[1] for k in space] == [("p", 2), ("p", 3), ("p", 4)]  # the most recent survive
    versioned.memo("prueba", ("p", 2), _build(built, "x"))  # a hit: no rebuild, now most recent
    assert built == [f"cuerpo {i}" for i in range(5)]
    versioned.memo("prueba", ("p", 5), _build(built, "cuerpo 5"))
    assert [k[1] for k in space] == [("p", 4), ("p", 2), ("p", 5)]  # 3 was the least recently used
    assert versioned.memo("prueba", ("p", 5), _build(built, "?"))[0] == b"cuerpo 5"


def test_namespaces_have_their_own_cap(fresh):
    for i in range(4):
        versioned.memo("a", (i,), lambda: "a")
        versioned.memo("b", (i,), lambda: "b")
    assert len(versioned._local["a"]) == len(versioned._local["b"]) == 3


def test_bytes_capped(fresh):
    fresh.GEOSIG_MEMO_MAX_ENTRIES = 100
    fresh.GEOSIG_MEMO_MAX_BYTES = 2500  # plain + gzip of 1000 random-ish bytes ≈ 1000 + ~1000
    import os

    for i in range(4):
        body = os.urandom(500).hex()  # 1000 characters that gzip cannot shrink much
        versioned.memo("bytes", (i,), lambda body=body: body)
    space = versioned._local["bytes"]
    total = sum(len(e[0]) + len(e[1]) for e in space.values())
    assert total <= 2500 and list(k[1] for k in space)[-1] == (3,)


def test_equivalent_parameters_share_one_entry(fresh):
    built = []
    versioned.memo("n", ("muni", " norte ", (-77.0, 3.5, -76.0, 4.0), True), _build(built, "uno"))
    versioned.memo("n", ("muni", "norte", (-77, 3.5000000001, -76, 4), True), _build(built, "dos"))
    versioned.memo("n", ("muni", "norte", [-77, 3.5, -76, 4], True), _build(built, "tres"))
    assert built == ["uno"] and len(versioned._local["n"]) == 1
    assert versioned.normalise({"b": 1.0, "a": {2, 1}}) == (("a", (1, 2)), ("b", 1))


def test_new_data_version_drops_old_entries(fresh):
    for i in range(3):
        versioned.memo("v", (i,), lambda: "viejo")
    versioned.bump("v")
    assert versioned.memo("v", (0,), lambda: "nuevo")[0] == b"nuevo"
    assert len(versioned._local["v"]) == 1


def test_municipalities_api_keeps_at_most_the_cap(client, territory, fresh):
    """Every distinct bbox used to add an entry for good; now the namespace stays at the cap."""
    for i in range(6):
        r = client.get(f"/api/v1/municipalities/?bbox=-77,3,-76,{4 + i / 10}&simplified=true")
        assert r.status_code == 200
    assert len(versioned._local["territorial"]) == 3
