"""Uploading needs login + the upload permission (roles from the data migration); size limits; nothing
stored on refusal."""
import geopandas as gpd
import pytest
import shapely
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile

from layers.models import Layer
from tests.layers.conftest import write_vector

pytestmark = pytest.mark.django_db


@pytest.fixture
def geojson(tmp_path):
    gdf = gpd.GeoDataFrame({"clase": ["x"]}, geometry=[shapely.Point(-76.5, 3.4)], crs=4326)
    path = write_vector(tmp_path / "puntos.geojson", gdf, "GeoJSON")
    return lambda: SimpleUploadedFile("puntos.geojson", path.read_bytes(), content_type="application/geo+json")


def _user(group=None):
    u = User.objects.create_user("ana", password="x-secreta-123")
    if group:
        u.groups.add(Group.objects.get(name=group))
    return u


def test_roles_exist_with_permissions():
    analyst = Group.objects.get(name="Analista CVC")
    editor = Group.objects.get(name="Editor de capas")
    # the layers app's share of the role (cities adds its import permission in cities migration 0002)
    assert {p.codename for p in analyst.permissions.filter(content_type__app_label="layers")} == {
        "view_layer", "upload_layer", "view_feature",
        "add_corridorrun", "change_corridorrun", "view_corridorrun",  # corridor runs (migration 0005)
        "add_connectivityrun", "view_connectivityrun",  # omnidirectional connectivity (migration 0009)
    }
    editor_perms = {p.codename for p in editor.permissions.all()}
    assert {"upload_layer", "change_layer", "delete_layer", "add_corridorrun", "cancel_any_corridorrun",
            "add_connectivityrun"} <= editor_perms


def test_anonymous_cannot_upload(client, geojson):
    r = client.post("/api/v1/layers/upload/", {"file": geojson()})
    assert r.status_code == 403 and "iniciar sesión" in r.json()["detail"]
    page = client.get("/capas/subir/")
    assert page.status_code == 302 and "/cuentas/ingresar/" in page["Location"]
    assert Layer.objects.count() == 0


def test_logged_in_without_role_is_refused(client, geojson):
    client.force_login(_user())
    r = client.post("/api/v1/layers/upload/", {"file": geojson()})
    assert r.status_code == 403 and "Analista CVC" in r.json()["detail"]
    assert client.post("/capas/subir/", {"file": geojson()}).status_code == 403
    assert Layer.objects.count() == 0


def test_analyst_uploads_through_api_and_page(client, geojson):
    user = _user("Analista CVC")
    client.force_login(user)
    r = client.post("/api/v1/layers/upload/", {"file": geojson(), "theme": "hidrografia", "title": "Puntos"})
    assert r.status_code == 201 and r.json()["layers"][0]["slug"] == "puntos"
    layer = Layer.objects.get(slug="puntos")
    assert layer.created_by == user and layer.theme == "hidrografia" and layer.title == "Puntos"
    r = client.post("/capas/subir/", {"file": geojson(), "theme": "otro"})  # same name → conflict, shown
    assert r.status_code == 409 and "Ya existe una capa «puntos»" in r.content.decode()
    page = client.get("/capas/subir/")
    assert page.status_code == 200 and "GeoPackage" in page.content.decode()


def test_upload_errors_are_clear_and_store_nothing(client, settings, geojson):
    client.force_login(_user("Editor de capas"))
    r = client.post("/api/v1/layers/upload/", {"file": geojson(), "theme": "inventado"})
    assert r.status_code == 400 and "Valores válidos" in r.json()["detail"]
    r = client.post("/api/v1/layers/upload/", {})
    assert r.status_code == 400 and "Falta el archivo" in r.json()["detail"]
    settings.GEOSIG_MAX_UPLOAD_BYTES = 200  # below the request body: refused from Content-Length
    r = client.post("/api/v1/layers/upload/", {"file": geojson()})
    assert r.status_code == 413 and "máximo permitido es 0.0 MB" in r.json()["detail"]
    assert client.post("/capas/subir/", {"file": geojson()}).status_code == 413
    assert Layer.objects.count() == 0
