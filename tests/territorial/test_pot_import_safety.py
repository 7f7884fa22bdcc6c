"""The POT import endpoint opens files through geosig.readers: VRT content is refused with no connection
made and the plan unchanged; its messages name what the user needs without dumping the file."""
import io
import zipfile

import geopandas as gpd
import pytest
import shapely

from geosig.errors import DataFileError, InvalidParameter
from territorial.pot.services.exchange import export_plan, import_plan
from tests.layers.test_safe_readers import Listener, ogr_vrt

from .test_pot_exchange import _zones, filled_plan  # noqa: F401
from .test_pot_fixtures import cali_plan, pot_users  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener():
    srv = Listener()
    yield srv
    srv.close()


def _post(client, plan, content: bytes, name: str):
    up = io.BytesIO(content)
    up.name = name
    return client.post(f"/api/v1/pot/plans/{plan.pk}/import/",
                       {"file": up, "class_field": "clase", "version": plan.version})


@pytest.mark.parametrize("name", ["plan.geojson", "plan.gpkg"])
@pytest.mark.parametrize("source", ["curl", "local"])
def test_ogr_vrt_is_refused_by_the_import_endpoint(client, pot_users, filled_plan, listener, tmp_path, name,
                                                    source):
    secret = tmp_path / "secreto.env"
    secret.write_text("DATABASE_URL=postgis://x:clave@db/geosig\n")
    src = f"/vsicurl/http://127.0.0.1:{listener.port}/z.geojson" if source == "curl" else f"CSV:{secret}"
    vrt = ogr_vrt(tmp_path / "v.xml", src)
    before, version = _zones(filled_plan), filled_plan.version
    client.force_login(pot_users["planner"])
    r = _post(client, filled_plan, vrt.read_bytes(), name)
    assert r.status_code == 422, r.content
    assert r.json()["error"] == "data_file_error"
    assert f"No se pudo leer «{name}»: es un VRT de GDAL" in r.json()["detail"]
    assert "/tmp" not in r.content.decode() and "clave" not in r.content.decode()
    assert listener.quiet(), listener.hits
    filled_plan.refresh_from_db()
    assert _zones(filled_plan) == before and filled_plan.version == version


def test_zipped_shapefile_that_is_a_vrt_is_refused(pot_users, filled_plan, listener, tmp_path):
    vrt = ogr_vrt(tmp_path / "v.xml", f"/vsicurl/http://127.0.0.1:{listener.port}/z.shp").read_bytes()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for ext in ("shp", "shx", "dbf"):
            zf.writestr(f"plan.{ext}", vrt)
        zf.writestr("plan.prj", 'GEOGCS["WGS 84"]')
    before = _zones(filled_plan)
    with pytest.raises(DataFileError, match="«plan.shp»: es un VRT de GDAL"):
        import_plan(pot_users["planner"], filled_plan, archive.getvalue(), "plan.zip", "clase", filled_plan.version)
    assert listener.quiet(), listener.hits
    assert _zones(filled_plan) == before


def test_zipped_shapefile_without_dbf_is_refused(pot_users, filled_plan):
    shp, _, _ = export_plan(filled_plan, "shp")
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(shp)) as src, zipfile.ZipFile(broken, "w") as dst:
        for n in src.namelist():
            if not n.endswith(".dbf"):
                dst.writestr(n, src.read(n))
    with pytest.raises(DataFileError, match=r"el estándar ESRI exige \.shp, \.shx y \.dbf, y falta «.*\.dbf»"):
        import_plan(pot_users["planner"], filled_plan, broken.getvalue(), "plan.zip", "clase", filled_plan.version)


def test_unknown_class_values_are_listed_briefly(pot_users, filled_plan, tmp_path):
    """50 distinct unknown values, each 300 characters: the message names 10, shortened, and the first row."""
    values = [f"{i:02d}-" + "texto del archivo " * 17 for i in range(50)]
    gdf = gpd.GeoDataFrame({"clase": values},
                           geometry=[shapely.box(-76.53 + i / 1000, 3.44, -76.5295 + i / 1000, 3.4405)
                                     for i in range(50)], crs=4326)
    path = tmp_path / "plan.gpkg"
    gdf.to_file(path, driver="GPKG", layer="zonas", engine="pyogrio")
    with pytest.raises(InvalidParameter) as exc:
        import_plan(pot_users["planner"], filled_plan, path.read_bytes(), "plan.gpkg", "clase", filled_plan.version)
    msg = exc.value.message
    assert "y 40 más" in msg and "(el primero en la fila 1)" in msg
    assert "00-texto del archivo" in msg and "10-texto" not in msg
    assert len(msg) < 900  # 10 values × 40 characters plus the sentence, not 50 × 300


def test_non_finite_coordinates_are_a_400(client, pot_users, filled_plan):
    content = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"clase": "urbano"}, '
               '"geometry": {"type": "Polygon", "coordinates": [[[-76.5, 3.4], [NaN, 3.4], [-76.4, 3.5], '
               '[-76.5, 3.4]]]}}]}').encode()
    client.force_login(pot_users["planner"])
    r = _post(client, filled_plan, content, "plan.geojson")
    assert r.status_code == 400, r.content
    assert "no son números finitos (NaN o Infinity) en el elemento 1" in r.json()["detail"]
