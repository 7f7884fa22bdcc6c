"""Import/export of plans: GeoPackage and Shapefile round trips give the same zones; the class field is
mapped; bad files change nothing."""
import io
import zipfile

import geopandas as gpd
import pytest
import shapely

from geosig.errors import CRSMismatch, InvalidParameter, UnsafeArchive
from territorial.pot.services.exchange import export_plan, import_plan
from territorial.pot.services.plans import create_plan, save_zones

from .test_pot_fixtures import cabecera_m, cali_plan, fc, lenient_rules, pot_users, square_feature, to_4326  # noqa: F401

# lenient_rules: submissions here are about exchange/admin, not the validation gates (test_pot_gates.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lenient_rules")]


def _zones(plan):
    return sorted(
        ((z.soil_class, z.use_category, z.name, round(z.area_m2, 1)), shapely.from_wkb(bytes(z.geom.wkb)))
        for z in plan.zones.all()
    )


@pytest.fixture
def filled_plan(pot_users, cali_plan):
    x, y = cabecera_m(pot_users["cali"])
    save_zones(pot_users["planner"], cali_plan, fc(
        square_feature(x, y, x + 1000, y + 1000, "urbano", "Centro", use_category="mixto"),
        square_feature(x, y + 1000, x + 1000, y + 1800, "expansion_urbana", "Norte", use_category="residencial"),
        square_feature(x + 1000, y, x + 2500, y + 1800, "proteccion", "Cerro", use_category="conservación"),
    ), cali_plan.version)
    cali_plan.refresh_from_db()
    return cali_plan


@pytest.mark.parametrize("fmt, filename", [("gpkg", "plan.gpkg"), ("shp", "plan.zip")])
def test_round_trip_gives_the_same_zones(pot_users, filled_plan, fmt, filename):
    content, ctype, name = export_plan(filled_plan, fmt)
    assert name.endswith(".gpkg" if fmt == "gpkg" else ".zip")
    target = create_plan(pot_users["planner"], pot_users["cali"], "Importado")
    res = import_plan(pot_users["planner"], target, content, filename, "clase", 1, use_field="uso", name_field="nombre")
    assert res.changes["created"] == 3 and "Importado de" in res.summary
    a, b = _zones(filled_plan), _zones(target)
    assert [k for k, _ in a] == [k for k, _ in b]  # class, use, name, area (0.1 m²)
    for (_, ga), (_, gb) in zip(a, b):
        assert shapely.equals_exact(shapely.normalize(ga), shapely.normalize(gb), 1e-9)


def test_import_maps_foreign_class_values(pot_users, cali_plan, tmp_path):
    x, y = cabecera_m(pot_users["cali"])
    gdf = gpd.GeoDataFrame(
        {"CLASE_SUEL": ["ZU", "Suelo de Protección", "ZU"]},
        geometry=[shapely.box(x, y, x + 500, y + 500), shapely.box(x + 500, y, x + 1000, y + 500),
                  shapely.box(x, y + 500, x + 500, y + 1000)],
        crs=9377,  # a municipal file in MAGNA-SIRGAS Origen Nacional: reprojected on import
    )
    path = tmp_path / "pot_municipal.gpkg"
    gdf.to_file(path, driver="GPKG")
    res = import_plan(pot_users["planner"], cali_plan, path.read_bytes(), "pot_municipal.gpkg", "CLASE_SUEL", 1,
                      mapping={"ZU": "urbano"})
    assert res.version == 2
    got = sorted((z.soil_class, round(z.area_m2)) for z in cali_plan.zones.all())
    assert got == [("proteccion", 250_000), ("urbano", 250_000), ("urbano", 250_000)]


def test_bad_imports_change_nothing(pot_users, filled_plan, tmp_path):
    before = _zones(filled_plan)
    content, _, _ = export_plan(filled_plan, "gpkg")
    with pytest.raises(InvalidParameter, match="sin clase de suelo: ZX"):
        gdf = gpd.read_file(io.BytesIO(content), layer="zonas")
        gdf.loc[0, "clase"] = "ZX"
        p = tmp_path / "x.gpkg"
        gdf.to_file(p, driver="GPKG")
        import_plan(pot_users["planner"], filled_plan, p.read_bytes(), "x.gpkg", "clase", filled_plan.version)
    with pytest.raises(InvalidParameter, match="Campos:"):
        import_plan(pot_users["planner"], filled_plan, content, "x.gpkg", "no_existe", filled_plan.version)
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../etc/plan.shp", b"x")
    with pytest.raises(UnsafeArchive):
        import_plan(pot_users["planner"], filled_plan, evil.getvalue(), "evil.zip", "clase", filled_plan.version)
    shp, _, _ = export_plan(filled_plan, "shp")
    noprj = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(shp)) as src, zipfile.ZipFile(noprj, "w") as dst:
        for n in src.namelist():
            if not n.endswith(".prj"):
                dst.writestr(n, src.read(n))
    with pytest.raises(CRSMismatch, match=".prj"):
        import_plan(pot_users["planner"], filled_plan, noprj.getvalue(), "sinprj.zip", "clase", filled_plan.version)
    with pytest.raises(InvalidParameter, match="Formato no admitido"):
        import_plan(pot_users["planner"], filled_plan, b"hola", "plan.kml", "clase", filled_plan.version)
    assert _zones(filled_plan) == before


def test_export_and_import_api(client, pot_users, filled_plan):
    r = client.get(f"/api/v1/pot/plans/{filled_plan.pk}/export.gpkg")
    assert r.status_code == 404  # a draft is not published
    client.force_login(pot_users["planner"])
    r = client.get(f"/api/v1/pot/plans/{filled_plan.pk}/export.gpkg")
    assert r.status_code == 200 and r.content[:15] == b"SQLite format 3"
    target = create_plan(pot_users["planner"], pot_users["cali"], "Por API")
    up = io.BytesIO(r.content)
    up.name = "exportado.gpkg"
    r = client.post(f"/api/v1/pot/plans/{target.pk}/import/", {"file": up, "class_field": "clase", "version": 1})
    assert r.status_code == 200, r.content
    assert len(r.json()["plan"]["zones"]["features"]) == 3
    assert client.get(f"/api/v1/pot/plans/{filled_plan.pk}/export.kml").json()["error"] == "invalid_parameter"


# ------------------------------------------------------------------ review fixes: zip bombs, permission and size first
def test_zip_bomb_is_refused_before_extraction(pot_users, filled_plan):
    before = _zones(filled_plan)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("plan.shp", b"\0" * (20 * 1024 * 1024))  # 20 MB of zeros: ~1000× compression
        zf.writestr("plan.prj", b"x")
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(UnsafeArchive, match="bomba zip"):
        import_plan(pot_users["planner"], filled_plan, bomb.getvalue(), "bomba.zip", "clase", filled_plan.version)
    link = io.BytesIO()
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("plan.shp")
        info.external_attr = (0o120777 << 16)  # a symlink member
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchive, match="enlace simbólico"):
        import_plan(pot_users["planner"], filled_plan, link.getvalue(), "enlace.zip", "clase", filled_plan.version)
    assert _zones(filled_plan) == before


def test_import_checks_permission_and_size_before_reading(pot_users, filled_plan, settings):
    from geosig.errors import ConflictError, PermissionDeniedError
    from territorial.pot.services.plans import transition

    junk = b"not a geopackage"  # reading it would raise DataFileError: the checks must come first
    with pytest.raises(PermissionDeniedError):
        import_plan(pot_users["analyst"], filled_plan, junk, "plan.gpkg", "clase", filled_plan.version)
    settings.GEOSIG_MAX_UPLOAD_BYTES = 10
    with pytest.raises(InvalidParameter, match="máximo permitido es 0.0 MB"):
        import_plan(pot_users["planner"], filled_plan, junk, "plan.gpkg", "clase", filled_plan.version)
    settings.GEOSIG_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
    transition(pot_users["planner"], filled_plan, "enviar", filled_plan.version)
    filled_plan.refresh_from_db()
    with pytest.raises(ConflictError, match="solo se edita en borrador"):
        import_plan(pot_users["planner"], filled_plan, junk, "plan.gpkg", "clase", filled_plan.version)


def test_import_api_permission_and_size(client, pot_users, filled_plan, settings):
    url = f"/api/v1/pot/plans/{filled_plan.pk}/import/"
    up = io.BytesIO(b"not a geopackage" * 100)
    up.name = "plan.gpkg"
    client.force_login(pot_users["analyst"])  # sees the draft, may not edit it
    r = client.post(url, {"file": up, "class_field": "clase", "version": filled_plan.version})
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    client.force_login(pot_users["planner"])
    settings.GEOSIG_MAX_UPLOAD_BYTES = 1000
    up.seek(0)
    r = client.post(url, {"file": up, "class_field": "clase", "version": filled_plan.version})
    assert r.status_code == 413 and r.json()["error"] == "upload_too_large", r.content
    assert "máximo permitido es 0.0 MB" in r.json()["detail"]
    assert _zones(filled_plan) and filled_plan.versions.count() == 2
