"""import_layer: each format, CRS handling and reprojection, encodings, reports."""
import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from django.core.management import call_command
from pyproj import Transformer

from geosig.errors import ConflictError, CRSMismatch, InvalidParameter
from layers.models import Feature, Layer
from layers.services.importing import import_layer
from tests.layers.conftest import CALI_LAT, CALI_LON, shapefile_zip, square_9377, synthetic_raster, to_4326, write_vector

pytestmark = pytest.mark.django_db


def _squares():
    geoms = [square_9377(0, 0, 1000), square_9377(2000, 0, 2000)]
    return gpd.GeoDataFrame({"clase": ["Bosque", "Páramo"], "codigo": [1, 2]}, geometry=to_4326(geoms), crs=4326)


def test_geojson_import_stores_features_areas_and_metadata(tmp_path):
    path = write_vector(tmp_path / "coberturas.geojson", _squares(), "GeoJSON")
    report = import_layer(path, theme="ecosistemas", metadata={"title": "Coberturas", "source": "prueba"})
    layer = Layer.objects.get(slug="coberturas")
    assert (layer.kind, layer.geometry_type, layer.feature_count) == ("vector", "polygon", 2)
    assert layer.title == "Coberturas" and layer.theme == "ecosistemas" and layer.source == "prueba"
    assert layer.source_crs.startswith("EPSG:4326")
    # squares built exactly in EPSG:9377: areas measured there must be side² (1 km², 4 km²)
    areas = dict(Feature.objects.filter(layer=layer).values_list("class_value", "area_m2"))
    assert areas["Bosque"] == pytest.approx(1_000_000, rel=1e-6)
    assert areas["Páramo"] == pytest.approx(4_000_000, rel=1e-6)
    assert layer.class_field == "clase"
    assert [c["value"] for c in layer.style["classes"]] == ["Bosque", "Páramo"]
    assert Feature.objects.get(layer=layer, class_value="Páramo").attributes == {"clase": "Páramo", "codigo": 2}
    assert report.layers[0].status == "creada" and report.layers[0].feature_count == 2
    ext = layer.extent.extent
    assert ext[0] < CALI_LON < ext[2] + 0.05 and ext[1] < CALI_LAT + 0.05


def test_shapefile_magna_west_latin1_reprojects_to_known_point(tmp_path):
    # A point given in MAGNA-SIRGAS / Colombia West zone (EPSG:3115), attributes in Latin-1 with a .cpg.
    x, y = 1_061_700.0, 872_200.0
    gdf = gpd.GeoDataFrame({"nombre": ["Jamundí, Río Claro"], "tipo": ["Captación"]},
                           geometry=[shapely.Point(x, y)], crs=3115)
    path = shapefile_zip(tmp_path, gdf, "captaciones", encoding="ISO-8859-1")
    report = import_layer(path, theme="hidrografia")
    feat = Feature.objects.get(layer__slug="captaciones")
    lon, lat = Transformer.from_crs(3115, 4326, always_xy=True).transform(x, y)  # independent answer
    assert feat.geom.x == pytest.approx(lon, abs=1e-9) and feat.geom.y == pytest.approx(lat, abs=1e-9)
    assert abs(lon - CALI_LON) < 0.1 and abs(lat - CALI_LAT) < 0.1  # and it is indeed near Cali
    assert feat.attributes["nombre"] == "Jamundí, Río Claro" and feat.attributes["tipo"] == "Captación"
    dbf = next(p for p in __import__("zipfile").ZipFile(path).namelist() if p.endswith(".dbf"))
    assert "Jamundí".encode("latin-1") in __import__("zipfile").ZipFile(path).read(dbf)  # truly Latin-1
    assert Layer.objects.get(slug="captaciones").source_crs.startswith("EPSG:3115")
    assert "cpg" in " ".join(report.layers[0].notes)


def _zero_ldid(zip_path):
    """Clear the DBF's language-driver byte, as many agency files have it: then only .cpg or the option tell."""
    import zipfile

    with zipfile.ZipFile(zip_path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    for n in members:
        if n.endswith(".dbf"):
            b = bytearray(members[n])
            b[29] = 0
            members[n] = bytes(b)
    with zipfile.ZipFile(zip_path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)


def test_dbf_without_cpg_latin1_by_default_and_encoding_option(tmp_path):
    gdf = gpd.GeoDataFrame({"nombre": ["Río Cauca", "Buenaventura"]},
                           geometry=to_4326([square_9377(0, 0, 500), square_9377(900, 0, 500)]), crs=4326)
    latin = shapefile_zip(tmp_path, gdf.to_crs(3115), "rios", encoding="ISO-8859-1", cpg=False)
    _zero_ldid(latin)
    import_layer(latin)  # no .cpg, no LDID: Latin-1 is the default (what Colombian agencies deliver)
    names = sorted(Feature.objects.filter(layer__slug="rios").values_list("attributes__nombre", flat=True))
    assert names == ["Buenaventura", "Río Cauca"]
    utf8 = shapefile_zip(tmp_path, gdf.to_crs(3115), "rios8", encoding="UTF-8", cpg=False)
    _zero_ldid(utf8)
    import_layer(utf8)  # read as Latin-1: mojibake, which is why the option exists
    assert "RÃ\xado Cauca" in Feature.objects.filter(layer__slug="rios8").values_list("attributes__nombre", flat=True)
    import_layer(utf8, encoding="utf-8", replace=True)
    names = sorted(Feature.objects.filter(layer__slug="rios8").values_list("attributes__nombre", flat=True))
    assert names == ["Buenaventura", "Río Cauca"]


def test_shapefile_without_prj_is_rejected_unless_srid_given(tmp_path):
    gdf = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(1_061_700, 872_200)], crs=3115)
    path = shapefile_zip(tmp_path, gdf, "sinprj", prj=False)
    with pytest.raises(CRSMismatch, match=r"\.prj"):
        import_layer(path)
    assert Layer.objects.count() == 0 and Feature.objects.count() == 0
    import_layer(path, srid=3115)
    lon, lat = Transformer.from_crs(3115, 4326, always_xy=True).transform(1_061_700, 872_200)
    g = Feature.objects.get(layer__slug="sinprj").geom
    assert (g.x, g.y) == (pytest.approx(lon, abs=1e-9), pytest.approx(lat, abs=1e-9))


def test_geopackage_with_several_layers(tmp_path):
    path = tmp_path / "cvc.gpkg"
    write_vector(path, _squares(), "GPKG", layer="coberturas")
    pts = gpd.GeoDataFrame({"nombre": ["A", "B", "C"]},
                           geometry=gpd.points_from_xy([-76.5, -76.4, -76.3], [3.4, 3.5, 3.6]), crs=4326)
    write_vector(path, pts.to_crs(3116), "GPKG", layer="estaciones")  # MAGNA-SIRGAS Bogotá zone
    report = import_layer(path)
    assert sorted(r.slug for r in report.layers) == ["cvc-coberturas", "cvc-estaciones"]
    st = Layer.objects.get(slug="cvc-estaciones")
    assert st.geometry_type == "point" and st.feature_count == 3 and st.source_crs.startswith("EPSG:3116")
    xs = sorted(round(g.x, 7) for g in Feature.objects.filter(layer=st).values_list("geom", flat=True))
    assert xs == [-76.5, -76.4, -76.3]


def test_geopackage_layer_option_and_unknown_layer(tmp_path):
    path = tmp_path / "cvc.gpkg"
    write_vector(path, _squares(), "GPKG", layer="coberturas")
    write_vector(path, _squares(), "GPKG", layer="otra")
    with pytest.raises(InvalidParameter, match="coberturas, otra"):
        import_layer(path, layer="no_existe")
    assert Layer.objects.count() == 0
    report = import_layer(path, layer="otra")
    assert [r.slug for r in report.layers] == ["cvc"] and Layer.objects.count() == 1


def test_kml_import(tmp_path):
    gdf = gpd.GeoDataFrame({"Name": ["Humedal"]}, geometry=to_4326([square_9377(0, 0, 1000)]), crs=4326)
    path = write_vector(tmp_path / "humedal.kml", gdf, "KML")
    import_layer(path)
    f = Feature.objects.get(layer__slug="humedal")
    assert f.area_m2 == pytest.approx(1e6, rel=1e-6)
    assert Layer.objects.get(slug="humedal").source_format == "KML"


def test_reimport_conflict_replace_and_unchanged(tmp_path):
    path = write_vector(tmp_path / "c.geojson", _squares(), "GeoJSON")
    import_layer(path)
    with pytest.raises(ConflictError):
        import_layer(path)
    assert import_layer(path, replace=True).layers[0].status == "sin cambios"
    write_vector(path, _squares().iloc[:1], "GeoJSON")
    assert import_layer(path, replace=True).layers[0].status == "reemplazada"
    assert Layer.objects.get(slug="c").feature_count == 1 and Feature.objects.count() == 1


def test_options_are_checked_first_with_valid_values():
    with pytest.raises(InvalidParameter, match="ecosistemas"):
        import_layer("/nonexistent.geojson", theme="inventado")
    with pytest.raises(InvalidParameter, match="repair, reject"):
        import_layer("/nonexistent.geojson", invalid="ignorar")
    with pytest.raises(InvalidParameter, match="EPSG"):
        import_layer("/nonexistent.geojson", srid=999999)


def test_unknown_format(tmp_path):
    p = tmp_path / "datos.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidParameter, match=".gpkg"):
        import_layer(p)


def test_import_layer_command_prints_report(tmp_path, capsys):
    path = write_vector(tmp_path / "cmd.geojson", _squares(), "GeoJSON")
    call_command("import_layer", str(path), "--theme", "ecosistemas", "--title", "Desde consola")
    out = capsys.readouterr().out
    assert "Capa «cmd» (Desde consola)" in out and "2 elementos" in out and "Reparado: nada" in out
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="«theme» no admite 'nada'. Valores válidos: hidrografia"):
        call_command("import_layer", str(path), "--theme", "nada")


def test_report_is_json_serialisable(tmp_path):
    path = write_vector(tmp_path / "j.geojson", _squares(), "GeoJSON")
    assert json.dumps(import_layer(path).as_dict())


def test_numeric_class_field_gets_graduated_style_and_bins(tmp_path):
    geoms = [square_9377(i * 1500, 0, 1000) for i in range(10)]
    gdf = gpd.GeoDataFrame({"poblacion": [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560]},
                           geometry=to_4326(geoms), crs=4326)
    import_layer(write_vector(tmp_path / "pob.geojson", gdf, "GeoJSON"), metadata={"class_field": "poblacion"})
    layer = Layer.objects.get(slug="pob")
    assert layer.style["type"] == "graduated" and len(layer.style["classes"]) == 5
    breaks = np.quantile(gdf["poblacion"], np.linspace(0, 1, 6))  # independent: numpy quantiles
    assert [c["min"] for c in layer.style["classes"]] == pytest.approx(breaks[:-1].tolist())
    per_class = {}
    for cls in Feature.objects.filter(layer=layer).values_list("class_value", flat=True):
        per_class[cls] = per_class.get(cls, 0) + 1
    assert sorted(per_class.values()) == [2, 2, 2, 2, 2] and set(per_class) == {c["label"] for c in layer.style["classes"]}


def test_deleting_a_raster_layer_removes_its_file(tmp_path):
    import_layer(synthetic_raster(tmp_path / "borrar.tif", np.ones((5, 5))))
    layer = Layer.objects.get(slug="borrar")
    path = layer.raster_path
    assert path.exists()
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        layer.delete()
    assert not path.exists()


def test_bogota_1975_geopackage_is_reprojected_with_the_datum_shift(tmp_path):
    # EPSG:21897 Bogotá 1975 / Colombia Bogotá zone (another datum): a known point in its coordinates
    x, y = 750_000.0, 900_000.0
    gdf = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(x, y)], crs=21897)
    import_layer(write_vector(tmp_path / "antiguo.gpkg", gdf, "GPKG"))
    g = Feature.objects.get(layer__slug="antiguo").geom
    lon, lat = Transformer.from_crs(21897, 4326, always_xy=True).transform(x, y)
    assert (g.x, g.y) == (pytest.approx(lon, abs=1e-9), pytest.approx(lat, abs=1e-9))
    naive_lon, _ = Transformer.from_crs("+proj=tmerc +lat_0=4.59904722222222 +lon_0=-74.0809166666667 +k=1 "
                                        "+x_0=1000000 +y_0=1000000 +ellps=intl +units=m +no_defs", 4326,
                                        always_xy=True).transform(x, y)
    assert abs(g.x - naive_lon) > 1e-4  # the datum shift (Bogotá 1975 → WGS84, hundreds of metres) was applied
    assert Layer.objects.get(slug="antiguo").source_crs.startswith("EPSG:21897")
