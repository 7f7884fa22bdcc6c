"""Bad input to import_layer: each case a clear Spanish message and NOTHING stored (DB and MEDIA_ROOT)."""
import geopandas as gpd
import numpy as np
import pytest
import shapely

from geosig.errors import CRSMismatch, DataFileError, InvalidGeometry, InvalidParameter, OutsideValle
from layers.models import Feature, Layer
from layers.services.importing import import_layer
from tests.layers.conftest import square_9377, synthetic_raster, to_4326, write_vector

pytestmark = pytest.mark.django_db

BOWTIE = shapely.Polygon([(-76.50, 3.40), (-76.40, 3.50), (-76.40, 3.40), (-76.50, 3.50), (-76.50, 3.40)])


def _nothing_stored(media):
    assert Layer.objects.count() == 0 and Feature.objects.count() == 0
    assert not (media / "layers").exists() or not any((media / "layers").iterdir())


def test_corrupt_geopackage_and_truncated_geotiff(tmp_path, media):
    gpkg = tmp_path / "roto.gpkg"
    gpkg.write_bytes(b"SQLite format 3\0" + b"\x13" * 2000)
    with pytest.raises(DataFileError, match="No se pudo leer «roto.gpkg»"):
        import_layer(gpkg)
    tif = synthetic_raster(tmp_path / "dem.tif", np.ones((50, 50)))
    tif.write_bytes(tif.read_bytes()[:5000])  # header intact, pixel data cut
    with pytest.raises(DataFileError, match="dem.tif"):
        import_layer(tif)
    garbage = tmp_path / "capa.geojson"
    garbage.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(DataFileError, match="capa.geojson"):
        import_layer(garbage)
    _nothing_stored(media)


def test_mixed_geometry_types(tmp_path, media):
    gdf = gpd.GeoDataFrame({"n": [1, 2, 3]}, geometry=[
        shapely.Point(-76.5, 3.4), shapely.LineString([(-76.5, 3.4), (-76.4, 3.5)]), BOWTIE.envelope], crs=4326)
    path = write_vector(tmp_path / "mixta.geojson", gdf, "GeoJSON")
    with pytest.raises(InvalidGeometry, match=r"mezcla tipos de geometría \(1 líneas, 1 puntos, 1 polígonos\)"):
        import_layer(path)
    _nothing_stored(media)


def test_invalid_polygon_rejected_with_reason(tmp_path, media):
    gdf = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[BOWTIE, BOWTIE.envelope.buffer(-0.02)], crs=4326)
    path = write_vector(tmp_path / "lazo.geojson", gdf, "GeoJSON")
    with pytest.raises(InvalidGeometry, match=r"1 geometrías inválidas \(elemento 1: Self-intersection\[-76.45 3.45\]\)"):
        import_layer(path, invalid="reject")
    _nothing_stored(media)


def test_invalid_polygon_repaired_and_reported(tmp_path):
    gdf = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[BOWTIE, BOWTIE.envelope.buffer(-0.02)], crs=4326)
    path = write_vector(tmp_path / "lazo.geojson", gdf, "GeoJSON")
    report = import_layer(path, invalid="repair")
    assert report.layers[0].repaired == ["elemento 1: Self-intersection[-76.45 3.45] → reparado con MakeValid"]
    f = Feature.objects.get(layer__slug="lazo", fid=1)
    assert f.geom.valid and f.geom.geom_type == "MultiPolygon" and len(f.geom) == 2
    # MakeValid splits the bow-tie into its two triangles: half the bounding square's area
    square = gpd.GeoSeries([BOWTIE.envelope], crs=4326).to_crs(9377).area.iloc[0]
    assert f.area_m2 == pytest.approx(square / 2, rel=1e-3)


def test_invalid_policy_default_comes_from_settings(tmp_path, settings, media):
    settings.GEOSIG_LAYERS_INVALID_POLICY = "reject"
    gdf = gpd.GeoDataFrame({"n": [1]}, geometry=[BOWTIE], crs=4326)
    path = write_vector(tmp_path / "lazo.geojson", gdf, "GeoJSON")
    with pytest.raises(InvalidGeometry, match="Self-intersection"):
        import_layer(path)
    _nothing_stored(media)


def test_empty_layer(tmp_path, media):
    path = tmp_path / "vacia.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(DataFileError, match="vacía"):
        import_layer(path)
    nulls = tmp_path / "nulas.geojson"
    nulls.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"a": 1}, '
                     '"geometry": null}]}')
    with pytest.raises(DataFileError, match="vacía"):
        import_layer(nulls)
    _nothing_stored(media)


def test_null_geometries_dropped_and_reported(tmp_path):
    gdf = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[None, shapely.Point(-76.5, 3.4)], crs=4326)
    path = write_vector(tmp_path / "pts.geojson", gdf, "GeoJSON")
    report = import_layer(path)
    assert report.layers[0].rejected == ["elemento 1: sin geometría (descartado)"]
    assert Layer.objects.get(slug="pts").feature_count == 1


def test_data_entirely_outside_the_valle(tmp_path, media):
    bogota = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(-74.08, 4.60)], crs=4326)
    with pytest.raises(OutsideValle, match="fuera del Valle"):
        import_layer(write_vector(tmp_path / "bogota.geojson", bogota, "GeoJSON"))
    # the classic error: metres declared as degrees (the CRS was wrong) lands far away too
    wrong = gpd.GeoDataFrame({"n": [1]}, geometry=to_4326([square_9377(0, 0, 100)]).to_crs(3115).values,
                             crs=3115).set_crs(4326, allow_override=True)
    with pytest.raises(OutsideValle):
        import_layer(write_vector(tmp_path / "mal.geojson", wrong, "GeoJSON"))
    tif = synthetic_raster(tmp_path / "lejos.tif", np.ones((5, 5)), west=-74.2, north=4.7)
    with pytest.raises(OutsideValle, match="lejos.tif"):
        import_layer(tif)
    _nothing_stored(media)


def test_raster_too_large_for_configured_limit(tmp_path, settings, media):
    settings.GEOSIG_LAYERS_MAX_RASTER_PIXELS = 1000
    tif = synthetic_raster(tmp_path / "grande.tif", np.ones((40, 30)))
    with pytest.raises(InvalidParameter, match="1,200 píxeles .* el máximo configurado es 1,000"):
        import_layer(tif)
    _nothing_stored(media)


def test_file_over_size_limit(tmp_path, settings, media):
    settings.GEOSIG_MAX_UPLOAD_BYTES = 100
    gdf = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(-76.5, 3.4)], crs=4326)
    with pytest.raises(InvalidParameter, match="máximo permitido"):
        import_layer(write_vector(tmp_path / "p.geojson", gdf, "GeoJSON"))
    _nothing_stored(media)


def test_declared_crs_conflicting_with_srid(tmp_path, media):
    gdf = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(1_061_700, 872_200)], crs=3115)
    path = write_vector(tmp_path / "p.gpkg", gdf, "GPKG")
    with pytest.raises(CRSMismatch, match="EPSG:3115 .* se indicó EPSG:3116"):
        import_layer(path, srid=3116)
    _nothing_stored(media)


def test_second_layer_failing_rolls_back_the_first(tmp_path, media):
    path = tmp_path / "dos.gpkg"
    good = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(-76.5, 3.4)], crs=4326)
    far = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(-74.0, 4.6)], crs=4326)
    write_vector(path, good, "GPKG", layer="a_buena")
    write_vector(path, far, "GPKG", layer="b_lejana")
    with pytest.raises(OutsideValle, match="b_lejana"):
        import_layer(path)
    _nothing_stored(media)
