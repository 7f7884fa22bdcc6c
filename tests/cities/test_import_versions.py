"""City data imports need the import role (not admin access) and never replace what is there: a second
import under the same name is version 2, the default matrix moves only when asked, the balance keeps
answering."""
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cities.models import FunctionInventory, TravelMatrix
from cities.services import loading

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_(client, cities):
    return client


def _matrix_csv(scale: float) -> bytes:
    """The default matrix's 42 codes with |i - j| × scale hours (symmetric, zero diagonal)."""
    codes = sorted(TravelMatrix.objects.get(is_default=True).codes)
    m = np.abs(np.subtract.outer(np.arange(42.0), np.arange(42.0))) * scale
    lines = ["codigo," + ",".join(codes)] + [c + "," + ",".join(f"{v:g}" for v in row) for c, row in zip(codes, m)]
    return ("\n".join(lines) + "\n").encode()


def _post_matrix(client, name, scale, **extra):
    f = SimpleUploadedFile("m.csv", _matrix_csv(scale))
    return client.post("/api/v1/cities/matrices/", {"file": f, "name": name, "source": "prueba", **extra})


def test_staff_without_the_role_may_not_import(client_, django_user_model):
    before = list(TravelMatrix.objects.values_list("pk", "name", "version", "is_default"))
    client_.force_login(django_user_model.objects.create_user("staff", password="x", is_staff=True))
    r = _post_matrix(client_, loading.DEFAULT_MATRIX, 1.0)
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    assert list(TravelMatrix.objects.values_list("pk", "name", "version", "is_default")) == before


def test_reimporting_the_default_name_adds_a_version_and_keeps_the_default(client_, importer):
    default = TravelMatrix.objects.get(is_default=True)
    balance = client_.get("/api/v1/cities/balance/?year=2018").json()
    client_.force_login(importer)
    r = _post_matrix(client_, default.name, 1.0)
    assert r.status_code == 201, r.content
    assert r.json() == {"name": default.name, "version": default.version + 1, "default": False, "size": 42}
    rows = list(TravelMatrix.objects.filter(name=default.name).order_by("version").values_list("version", "is_default"))
    assert rows == [(default.version, True), (default.version + 1, False)]
    after = client_.get("/api/v1/cities/balance/?year=2018")
    assert after.status_code == 200
    assert after.json()["meta"]["travel_matrix_version"] == default.version
    assert after.json()["measures"] == balance["measures"]  # same default, same numbers
    # the new version is there by name, and becomes the default only when asked
    named = client_.get(f"/api/v1/cities/balance/?year=2018&matrix={default.name}").json()
    assert named["meta"]["travel_matrix_version"] == default.version + 1
    r = _post_matrix(client_, default.name, 2.0, make_default="true")
    assert r.status_code == 201 and r.json()["version"] == default.version + 2 and r.json()["default"] is True
    assert list(TravelMatrix.objects.filter(is_default=True).values_list("name", "version")) == [
        (default.name, default.version + 2)]
    assert TravelMatrix.objects.filter(name=default.name).count() == 3
    r = client_.get("/api/v1/cities/balance/?year=2018")
    assert r.status_code == 200 and r.json()["meta"]["travel_matrix_version"] == default.version + 2


def test_identical_reimport_adds_nothing_and_new_names_start_at_1(client_, importer):
    client_.force_login(importer)
    assert _post_matrix(client_, "otra", 1.0).json()["version"] == 1
    assert _post_matrix(client_, "otra", 1.0).json()["version"] == 1  # the same content again
    assert TravelMatrix.objects.filter(name="otra").count() == 1
    assert TravelMatrix.objects.filter(is_default=True).count() == 1


def test_inventories_keep_their_versions(client_, importer):
    client_.force_login(importer)
    for n, text in enumerate(["codigo,funcion,cantidad\n76001,aeropuerto,1\n",
                              "codigo,funcion,cantidad\n76001,aeropuerto,2\n76109,puerto,1\n"], start=1):
        f = SimpleUploadedFile("f.csv", text.encode())
        r = client_.post("/api/v1/cities/functions/", {"file": f, "name": "inv", "source": "prueba"})
        assert r.status_code == 201 and r.json()["version"] == n
    v1, v2 = FunctionInventory.objects.filter(name="inv").order_by("version")
    assert (v1.version, v1.items.count(), v2.version, v2.items.count()) == (1, 1, 2, 2)  # v1 kept as it was
    d = client_.get("/api/v1/cities/balance/?year=2018&inventory=inv").json()
    assert d["meta"]["functions"]["version"] == 2


def test_command_imports_a_new_version(cities, tmp_path):
    from django.core.management import call_command

    default = TravelMatrix.objects.get(is_default=True)
    path = tmp_path / "m.csv"
    path.write_bytes(_matrix_csv(3.0))
    call_command("import_city_data", "matrix", str(path), "--name", default.name, "--source", "prueba")
    assert TravelMatrix.objects.get(is_default=True).pk == default.pk
    assert TravelMatrix.objects.filter(name=default.name).count() == 2
