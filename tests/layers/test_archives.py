"""Unsafe zips are refused BEFORE extraction, with a clear message, and nothing is stored."""
import zipfile

import geopandas as gpd
import pytest
import shapely

from geosig.errors import DataFileError, UnsafeArchive
from layers.models import Feature, Layer
from layers.services.archives import safe_extract
from layers.services.importing import import_layer
from tests.layers.conftest import shapefile_zip

pytestmark = pytest.mark.django_db


def _nothing_stored(media, extract_dir=None):
    assert Layer.objects.count() == 0 and Feature.objects.count() == 0
    assert not (media / "layers").exists() or not any((media / "layers").iterdir())
    if extract_dir is not None:
        assert not extract_dir.exists() or not any(extract_dir.rglob("*"))


@pytest.mark.parametrize("name, why", [("../../evil.shp", "«..»"), ("/etc/evil.shp", "ruta absoluta"),
                                       ("C:\\evil.shp", "ruta absoluta"), ("ok/../../x.txt", "«..»")])
def test_zip_with_escaping_paths_is_refused(tmp_path, media, name, why):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("good.txt", "fine")
        zf.writestr(name, "payload")
    with pytest.raises(UnsafeArchive, match=why):
        import_layer(bad)
    _nothing_stored(media)
    out = tmp_path / "out"
    with pytest.raises(UnsafeArchive):
        safe_extract(bad, out)
    assert not out.exists() or not any(out.rglob("*"))  # not even good.txt was written
    assert not (tmp_path.parent / "evil.shp").exists()


def test_zip_bomb_ratio_is_refused_before_extracting(tmp_path, media):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.shp", b"\0" * (20 * 1024 * 1024))  # 20 MB of zeros → ~20 kB
    with pytest.raises(UnsafeArchive, match="bomba zip"):
        import_layer(bomb)
    _nothing_stored(media)


def test_zip_total_size_cap(tmp_path, settings, media):
    settings.GEOSIG_LAYERS_MAX_UNZIPPED_BYTES = 50_000
    gdf = gpd.GeoDataFrame({"n": list(range(3000))}, geometry=[shapely.Point(-76.5, 3.4)] * 3000, crs=4326)
    path = shapefile_zip(tmp_path, gdf, "grande")
    with pytest.raises(UnsafeArchive, match="máximo es 0.1 MB"):
        import_layer(path)
    _nothing_stored(media)


def test_zip_member_count_cap(tmp_path, settings, media):
    settings.GEOSIG_LAYERS_MAX_ZIP_MEMBERS = 5
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(6):
            zf.writestr(f"f{i}.txt", "x")
    with pytest.raises(UnsafeArchive, match="6 miembros; el máximo permitido es 5"):
        import_layer(many)
    _nothing_stored(media)


def test_zip_symlink_is_refused(tmp_path):
    link = tmp_path / "link.zip"
    info = zipfile.ZipInfo("datos.shp")
    info.external_attr = (0o120777 << 16)  # S_IFLNK
    with zipfile.ZipFile(link, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchive, match="enlace simbólico"):
        safe_extract(link, tmp_path / "out")


def test_corrupt_zip_and_zip_without_data(tmp_path, media):
    corrupt = tmp_path / "roto.zip"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(DataFileError, match="no es un zip legible"):
        import_layer(corrupt)
    empty = tmp_path / "vacio.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("leame.txt", "nada")
    with pytest.raises(DataFileError, match="no contiene datos geográficos"):
        import_layer(empty)
    _nothing_stored(media)
