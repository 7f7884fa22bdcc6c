"""Files GeoSIG opens are safe, and imports never lose data silently (geosig.readers, geosig.gdal_hardening).

Every hostile file is BUILT here: a GDAL VRT (XML) saved as .tif whose band reads (a) a /vsicurl/ URL
pointing at a TCP listener this test opens on 127.0.0.1 and (b) the raw bytes of a local "secret" file
(VRTRawRasterBand); an OGR VRT saved as .geojson/.gpkg. Refused by the upload API and import_layer with
nothing stored and no connection made; and the process-wide hardening keeps GDAL (rasterio, pyogrio and
django.contrib.gis.gdal) from following them even when opened WITHOUT the driver allowlist.
"""
from __future__ import annotations

import io
import json
import socket
import sqlite3
import threading
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from geosig import readers
from geosig.errors import DataFileError, InvalidParameter
from layers.models import Feature, Layer
from layers.services.importing import import_layer
from tests.layers.conftest import shapefile_zip, synthetic_raster, write_vector

pytestmark = pytest.mark.django_db

SECRET = b"GEOSIG-SECRETO-" * 40  # bytes a VRTRawRasterBand would copy into the pixels of a public layer


class Listener:
    """A TCP server on a random local port that records every connection (and the first bytes sent)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.hits: list[bytes] = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(0.5)
            try:
                self.hits.append(conn.recv(200))
            except OSError:
                self.hits.append(b"")
            conn.close()

    def quiet(self) -> bool:
        time.sleep(0.3)  # a connection in flight would land here
        return not self.hits

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener():
    srv = Listener()
    yield srv
    srv.close()


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secreto.env"
    path.write_bytes(SECRET)
    return path


GEO = "<SRS>EPSG:4326</SRS><GeoTransform>-76.6, 0.01, 0, 3.5, 0, -0.01</GeoTransform>"


def vrt_curl(path: Path, port: int) -> Path:
    path.write_text(f"""<VRTDataset rasterXSize="20" rasterYSize="20">{GEO}
  <VRTRasterBand dataType="Byte" band="1"><SimpleSource>
    <SourceFilename relativeToVRT="0">/vsicurl/http://127.0.0.1:{port}/dem.tif</SourceFilename>
    <SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>""")
    return path


def vrt_raw(path: Path, secret: Path) -> Path:
    path.write_text(f"""<VRTDataset rasterXSize="15" rasterYSize="40">{GEO}
  <VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">
    <SourceFilename relativeToVRT="0">{secret}</SourceFilename>
    <ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset><LineOffset>15</LineOffset>
  </VRTRasterBand></VRTDataset>""")
    return path


def ogr_vrt(path: Path, source: str) -> Path:
    path.write_text(f"""<OGRVRTDataSource><OGRVRTLayer name="capa">
  <SrcDataSource>{source}</SrcDataSource><GeometryType>wkbPoint</GeometryType>
  <LayerSRS>EPSG:4326</LayerSRS></OGRVRTLayer></OGRVRTDataSource>""")
    return path


def _nothing_stored(media):
    assert Layer.objects.count() == 0 and Feature.objects.count() == 0
    assert not (media / "layers").exists() or not any((media / "layers").iterdir())


def _analyst(client):
    user = User.objects.create_user("ana", password="x-secreta-123")
    user.groups.add(Group.objects.get(name="Analista CVC"))
    client.force_login(user)
    return user


def _upload(client, path: Path, name: str):
    up = io.BytesIO(path.read_bytes())
    up.name = name
    return client.post("/api/v1/layers/upload/", {"file": up, "theme": "otro"})


def _hostile(kind, tmp_path, listener, secret) -> tuple[Path, str]:
    """(file, name it is uploaded as) for each hostile case."""
    if kind == "vrt-curl":
        return vrt_curl(tmp_path / "h.xml", listener.port), "dem.tif"
    if kind == "vrt-raw":
        return vrt_raw(tmp_path / "h.xml", secret), "dem.tif"
    if kind == "ogr-curl-geojson":
        return ogr_vrt(tmp_path / "h.xml", f"/vsicurl/http://127.0.0.1:{listener.port}/p.geojson"), "puntos.geojson"
    if kind == "ogr-curl-gpkg":
        return ogr_vrt(tmp_path / "h.xml", f"/vsicurl/http://127.0.0.1:{listener.port}/p.gpkg"), "puntos.gpkg"
    if kind == "ogr-local-geojson":
        return ogr_vrt(tmp_path / "h.xml", f"CSV:{secret}"), "puntos.geojson"
    raise AssertionError(kind)


HOSTILE = ["vrt-curl", "vrt-raw", "ogr-curl-geojson", "ogr-curl-gpkg", "ogr-local-geojson"]


# ----------------------------------------------------------------------- refused at every entry point


@pytest.mark.parametrize("kind", HOSTILE)
def test_upload_api_refuses_vrt_content(client, tmp_path, listener, secret, media, kind):
    _analyst(client)
    path, name = _hostile(kind, tmp_path, listener, secret)
    r = _upload(client, path, name)
    assert r.status_code == 422, r.content
    body = r.json()
    assert body["error"] == "data_file_error"
    assert f"No se pudo leer «{name}»: es un VRT de GDAL" in body["detail"]
    assert "/tmp" not in json.dumps(body) and str(tmp_path) not in json.dumps(body)  # no server path
    assert listener.quiet(), listener.hits
    _nothing_stored(media)


@pytest.mark.parametrize("kind", HOSTILE)
def test_import_layer_command_refuses_vrt_content(tmp_path, listener, secret, media, kind):
    path, name = _hostile(kind, tmp_path, listener, secret)
    target = tmp_path / name
    path.rename(target)
    with pytest.raises(CommandError, match=f"«{name}»: es un VRT de GDAL"):
        call_command("import_layer", str(target))
    assert listener.quiet(), listener.hits
    _nothing_stored(media)


def test_vrt_inside_a_zip_is_refused(tmp_path, listener, media):
    inner = vrt_curl(tmp_path / "dem.tif", listener.port)
    archive = tmp_path / "capas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(inner, "dem.tif")
    with pytest.raises(DataFileError, match="«dem.tif»: es un VRT de GDAL"):
        import_layer(archive)
    assert listener.quiet(), listener.hits
    _nothing_stored(media)


# ------------------------------------------------------------- the hardening itself (no allowlist)


RASTERIO_IN_A_FRESH_PROCESS = """
import sys, django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geosig.settings")
django.setup()  # what every process of the project does first (web, commands, workers)
import rasterio
try:
    with rasterio.open(sys.argv[1]) as ds:  # no driver pinned: GDAL would pick VRT from the content
        print("LEIDO", ds.read(1).tobytes()[:15])
except rasterio.errors.RasterioIOError as exc:
    print("RECHAZADO", exc)
"""


@pytest.mark.parametrize("kind", ["curl", "raw"])
def test_rasterio_without_driver_does_not_follow_vrt_in_a_fresh_process(tmp_path, listener, secret, kind):
    import subprocess
    import sys

    path = vrt_curl(tmp_path / "a.tif", listener.port) if kind == "curl" else vrt_raw(tmp_path / "b.tif", secret)
    out = subprocess.run([sys.executable, "-c", RASTERIO_IN_A_FRESH_PROCESS, str(path)], capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert "RECHAZADO" in out.stdout and "not recognized" in out.stdout, out.stdout + out.stderr
    assert "GEOSIG-SECRETO" not in out.stdout
    assert listener.quiet(), listener.hits


def test_rasterio_network_stays_closed_after_a_warped_vrt(tmp_path, listener, secret):
    """GDAL registers its VRT driver again to build a WarpedVRT (tiles, raster import): from then on an
    unpinned rasterio.open would open a VRT. The network stays closed anyway (CPL_VSIL_CURL_ALLOWED_FILENAME,
    a dead proxy, the fetching drivers skipped); raw-file bands are why every open is pinned (test below)."""
    import rasterio
    from rasterio.vrt import WarpedVRT

    src = synthetic_raster(tmp_path / "dem.tif", np.ones((10, 10)))
    with rasterio.open(src, driver="GTiff") as ds, WarpedVRT(ds, crs="EPSG:3857") as vrt:
        vrt.read(1)
    with pytest.raises(rasterio.errors.RasterioIOError):
        with rasterio.open(vrt_curl(tmp_path / "a.tif", listener.port)) as ds:
            ds.read(1)
    with pytest.raises(rasterio.errors.RasterioIOError):  # a virtual path given directly: no request
        rasterio.open(f"/vsicurl/http://127.0.0.1:{listener.port}/x.tif")
    with pytest.raises(rasterio.errors.RasterioIOError):
        rasterio.open(f"http://127.0.0.1:{listener.port}/x.tif")
    wms = tmp_path / "wms.tif"  # a driver that fetches URLs written in a local file
    wms.write_text(f"<GDAL_WMS><Service name=\"TMS\"><ServerUrl>http://127.0.0.1:{listener.port}/${{z}}/${{x}}/"
                   "${y}.png</ServerUrl></Service><DataWindow><UpperLeftX>-180</UpperLeftX><UpperLeftY>90"
                   "</UpperLeftY><LowerRightX>180</LowerRightX><LowerRightY>-90</LowerRightY><TileLevel>1"
                   "</TileLevel></DataWindow><BandsCount>3</BandsCount></GDAL_WMS>")
    with pytest.raises(rasterio.errors.RasterioIOError):
        with rasterio.open(wms) as ds:
            ds.read(1)
    assert listener.quiet(), listener.hits


def test_every_rasterio_open_in_the_project_pins_its_driver():
    """The first wall must not depend on the GDAL configuration: every read pins GTiff (geosig.readers or
    driver="GTiff"); writes name their driver too."""
    import re

    root = Path(__file__).resolve().parents[2]
    unpinned = []
    for app in ("geosig", "layers", "territorial", "cities"):
        for py in (root / app).rglob("*.py"):
            for n, line in enumerate(py.read_text().splitlines(), 1):
                if re.search(r"rasterio\.open\(", line) and "driver=" not in line and "**profile" not in line:
                    unpinned.append(f"{py.relative_to(root)}:{n}")
    assert unpinned == []


def test_pyogrio_without_driver_does_not_follow_ogr_vrt(tmp_path, listener, secret):
    import pyogrio

    assert "OGR_VRT" not in pyogrio.list_drivers()
    for source in (f"/vsicurl/http://127.0.0.1:{listener.port}/p.geojson", f"CSV:{secret}"):
        with pytest.raises(pyogrio.errors.DataSourceError):
            pyogrio.read_dataframe(ogr_vrt(tmp_path / "v.geojson", source))
    with pytest.raises(pyogrio.errors.DataSourceError):
        pyogrio.read_dataframe(f"/vsicurl/http://127.0.0.1:{listener.port}/p.geojson")
    assert listener.quiet(), listener.hits


def test_system_gdal_of_geodjango_does_not_follow_vrt(tmp_path, listener, secret):
    from django.contrib.gis.gdal import DataSource, GDALException, GDALRaster

    for path in (vrt_curl(tmp_path / "a.tif", listener.port), vrt_raw(tmp_path / "b.tif", secret)):
        with pytest.raises(GDALException):
            GDALRaster(str(path)).bands[0].data()
    with pytest.raises(GDALException):
        DataSource(str(ogr_vrt(tmp_path / "v.geojson", f"/vsicurl/http://127.0.0.1:{listener.port}/p.json")))
    with pytest.raises(GDALException):
        DataSource(str(ogr_vrt(tmp_path / "w.geojson", f"CSV:{secret}")))
    assert listener.quiet(), listener.hits


def test_the_project_still_warps_without_the_vrt_driver(tmp_path):
    """WarpedVRT (import reprojection, tiles) is built in memory: skipping the VRT driver keeps it."""
    import rasterio
    from rasterio.vrt import WarpedVRT

    src = synthetic_raster(tmp_path / "dem.tif", np.arange(400, dtype="float32").reshape(20, 20))
    with rasterio.open(src, driver="GTiff") as ds, WarpedVRT(ds, crs="EPSG:3857") as vrt:
        data = vrt.read(1, masked=True)
    assert data.count() > 0 and 0 <= data.min() and data.max() <= 399


# ------------------------------------------------------------------------------ geosig.readers


@pytest.mark.parametrize("path, why", [
    ("/vsicurl/http://127.0.0.1:1/x.tif", "rutas virtuales"),
    ("/VSIZIP//tmp/a.zip/x.tif", "rutas virtuales"),
    ("http://127.0.0.1:1/x.tif", "direcciones de red"),
    ("CSV:/etc/passwd", "rutas virtuales"),
])
def test_virtual_paths_and_urls_never_reach_gdal(path, why, listener):
    with pytest.raises(DataFileError, match=why):
        readers.open_raster(path.replace(":1/", f":{listener.port}/"))
    assert listener.quiet()


def test_content_must_match_the_extension(tmp_path):
    png = tmp_path / "foto.tif"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(DataFileError, match=r"No se pudo leer «foto.tif»: su contenido no es un GeoTIFF") as exc:
        readers.open_raster(png)
    assert str(tmp_path) not in exc.value.message  # base name only
    kml = tmp_path / "rutas.kml"
    kml.write_text('<?xml version="1.0"?><gpx><trk/></gpx>')
    with pytest.raises(DataFileError, match="su contenido no es un KML"):
        readers.read_vector(kml)
    shp = tmp_path / "x.geojson"
    shp.write_text("<OGRVRTDataSource/>")
    with pytest.raises(DataFileError, match="es un VRT de GDAL"):
        readers.read_vector(shp)
    with pytest.raises(InvalidParameter, match="Extensiones válidas"):
        readers.read_vector(tmp_path / "a.vrt")


def test_a_file_without_crs_needs_an_explicit_srid(tmp_path):
    from pyproj import Transformer

    from geosig.errors import CRSMismatch

    folder = tmp_path / "shp"
    folder.mkdir()
    gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(1060000, 870000)]).to_file(folder / "p.shp")
    path = folder / "p.shp"
    assert not (folder / "p.prj").exists()
    with pytest.raises(CRSMismatch, match="«p.shp» no declara su sistema de coordenadas"):
        readers.read_vector(path)
    got = readers.read_vector(path, srid=3115, to_srid=4326)
    ex, ey = Transformer.from_crs(3115, 4326, always_xy=True).transform(1060000, 870000)
    assert got.crs.to_epsg() == 4326
    assert (round(got.geometry.iloc[0].x, 7), round(got.geometry.iloc[0].y, 7)) == (round(ex, 7), round(ey, 7))
    with pytest.raises(CRSMismatch, match="se indicó EPSG:3116"):
        readers.read_vector(write_vector(tmp_path / "q.gpkg", got, "GPKG"), srid=3116)


# --------------------------------------------------------------------------- nothing lost silently


def test_bare_geometry_geojson_stores_its_one_feature(tmp_path):
    path = tmp_path / "punto.geojson"
    path.write_text('{"type": "Point", "coordinates": [-76.52, 3.44]}')
    report = import_layer(path)
    layer = Layer.objects.get(slug="punto")
    assert report.layers[0].feature_count == 1 == layer.feature_count == layer.features.count()
    f = layer.features.get()
    assert (round(f.geom.x, 6), round(f.geom.y, 6)) == (-76.52, 3.44) and f.attributes == {}


def test_features_without_attributes_are_stored(tmp_path):
    coords = [(-76.52, 3.44), (-76.50, 3.45), (-76.48, 3.46)]
    path = tmp_path / "sin_atributos.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(c)}} for c in coords]}))
    report = import_layer(path)
    stored = Feature.objects.filter(layer__slug="sin-atributos").order_by("fid")
    assert report.layers[0].feature_count == 3 == stored.count()
    assert [(round(f.geom.x, 6), round(f.geom.y, 6)) for f in stored] == coords


def test_report_counts_what_was_stored(tmp_path):
    gdf = gpd.GeoDataFrame({"clase": list("abcde")},
                           geometry=[shapely.Point(-76.5 + i / 100, 3.4) for i in range(5)], crs=4326)
    path = write_vector(tmp_path / "cinco.gpkg", gdf, "GPKG", layer="cinco")
    report = import_layer(path)
    layer = Layer.objects.get(slug="cinco")
    assert report.layers[0].feature_count == 5 == layer.feature_count == Feature.objects.filter(layer=layer).count()


def test_a_count_mismatch_undoes_the_import(tmp_path, media, monkeypatch):
    """If the rows in the database are not what was prepared, the import is undone, not misreported."""
    gdf = gpd.GeoDataFrame({"n": [1, 2, 3]}, geometry=[shapely.Point(-76.5 + i / 100, 3.4) for i in range(3)],
                           crs=4326)
    path = write_vector(tmp_path / "tres.geojson", gdf, "GeoJSON")
    real = Feature.objects.bulk_create

    def lossy(objs, **kw):  # a write that silently drops a row
        return real(list(objs)[:-1], **kw)

    monkeypatch.setattr(Feature.objects, "bulk_create", lossy)
    with pytest.raises(RuntimeError, match="se prepararon 3 elementos y se guardaron 2"):
        import_layer(path)
    _nothing_stored(media)


def _three_squares():
    return gpd.GeoDataFrame({"n": [1, 2, 3]}, geometry=[
        shapely.box(-76.50 + i / 50, 3.40, -76.49 + i / 50, 3.41) for i in range(3)], crs=4326)


def test_truncated_shapefile_is_refused(tmp_path, media):
    folder = tmp_path / "shp"
    folder.mkdir()
    _three_squares().to_file(folder / "rios.shp", engine="pyogrio")
    shp = folder / "rios.shp"
    record = 8 + 128  # record header + a 5-point polygon
    shp.write_bytes(shp.read_bytes()[:100 + record + 20])  # feature 1 whole, 2 cut, 3 missing
    archive = tmp_path / "rios.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
    with pytest.raises(DataFileError, match=r"«rios.shp» está dañado: los elementos 2 y 3 no se pudieron leer"):
        import_layer(archive)
    _nothing_stored(media)


def test_zipped_shapefile_without_dbf_is_refused(tmp_path, media):
    archive = shapefile_zip(tmp_path, _three_squares(), "lotes")
    with zipfile.ZipFile(archive) as src:
        members = {n: src.read(n) for n in src.namelist() if not n.endswith(".dbf")}
    broken = tmp_path / "sin_dbf.zip"
    with zipfile.ZipFile(broken, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    with pytest.raises(DataFileError, match=r"el estándar ESRI exige \.shp, \.shx y \.dbf, y falta «lotes\.dbf»"):
        import_layer(broken)
    _nothing_stored(media)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_coordinates_are_a_400(client, tmp_path, media, value):
    _analyst(client)
    path = tmp_path / "nan.geojson"
    path.write_text('{"type": "FeatureCollection", "features": ['
                    '{"type": "Feature", "properties": {"n": 1}, "geometry": {"type": "Point", "coordinates": '
                    '[-76.5, 3.4]}}, {"type": "Feature", "properties": {"n": 2}, "geometry": {"type": "Point", '
                    f'"coordinates": [{value}, 3.4]}}}}]}}')
    r = _upload(client, path, "nan.geojson")
    assert r.status_code == 400, r.content
    assert "no son números finitos (NaN o Infinity) en el elemento 2" in r.json()["detail"]
    _nothing_stored(media)


def test_geometry_lost_to_damage_is_refused_but_a_null_geometry_is_reported(tmp_path, media):
    damaged = tmp_path / "roto.geojson"
    damaged.write_text('{"type": "FeatureCollection", "features": ['
                       '{"type": "Feature", "properties": {"n": 1}, "geometry": {"type": "Point", "coordinates": '
                       '[-76.5, 3.4]}}, {"type": "Feature", "properties": {"n": 2}, "geometry": {"type": "Point", '
                       '"coordinates": ["x", 3.4]}}]}')
    with pytest.raises(DataFileError, match="«roto.geojson» está dañado: el elemento 2 no se pudo"):
        import_layer(damaged)
    _nothing_stored(media)
    legit = tmp_path / "nulo.geojson"  # RFC 7946 allows "geometry": null: dropped and said so
    legit.write_text(damaged.read_text().replace('{"type": "Point", "coordinates": ["x", 3.4]}', "null"))
    report = import_layer(legit)
    assert report.layers[0].feature_count == 1 == Feature.objects.count()
    assert report.layers[0].rejected == ["elemento 2: sin geometría (descartado)"]


def test_unreadable_geopackage_geometry_is_refused(tmp_path, media):
    path = write_vector(tmp_path / "lotes.gpkg", _three_squares(), "GPKG", layer="lotes")
    con = sqlite3.connect(path)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f'DROP TRIGGER "{name}"')  # GeoPackage triggers call SpatiaLite functions
    con.execute("UPDATE lotes SET geom = x'4750000100000000deadbeef' WHERE fid = 2")  # a blob GDAL cannot parse
    con.commit()
    con.close()
    with pytest.raises(DataFileError, match="«lotes.gpkg» está dañado: el elemento 2 no se pudo"):
        import_layer(path)
    _nothing_stored(media)


def test_deleted_dbf_records_are_not_damage(tmp_path):
    """A record flagged deleted in the .dbf is skipped by GDAL on purpose: the other two are read."""
    import struct

    path = write_vector(tmp_path / "lotes.shp", _three_squares(), "ESRI Shapefile")
    dbf = bytearray((tmp_path / "lotes.dbf").read_bytes())
    header_len, record_len = struct.unpack("<HH", dbf[8:12])
    dbf[header_len + record_len] = ord("*")  # record 2 deleted
    (tmp_path / "lotes.dbf").write_bytes(bytes(dbf))
    gdf = readers.read_vector(path)
    assert gdf["n"].tolist() == [1, 3]
    assert [round(g.bounds[0], 2) for g in gdf.geometry] == [-76.50, -76.46]


def test_vrt_with_an_xml_declaration_is_named_as_such(tmp_path, listener):
    path = vrt_curl(tmp_path / "dem.tif", listener.port)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<!-- un comentario -->\n' + path.read_text())
    with pytest.raises(DataFileError, match="«dem.tif»: es un VRT de GDAL"):
        readers.open_raster(path)
    assert listener.quiet()


def test_a_vrt_sidecar_overview_in_a_zip_is_not_read(tmp_path, media):
    """A GeoTIFF's overview/mask sidecar (``x.tif.ovr``, ``.msk``) is opened by GDAL with ANY driver. Once a
    WarpedVRT has re-registered the VRT driver in rasterio's GDAL (every tile, every reprojected import), a
    VRT saved as ``dem.tif.ovr`` next to an uploaded ``dem.tif`` would serve another server raster as the
    overview (before the fix: ``overviews == [2]`` and the reduced read gave the secret's 77)."""
    import rasterio
    from rasterio.vrt import WarpedVRT

    secret = synthetic_raster(tmp_path / "secreto.tif", np.full((10, 10), 77.0))
    dem = synthetic_raster(tmp_path / "dem.tif", np.ones((20, 20)))
    ovr = tmp_path / "dem.tif.ovr"
    ovr.write_text(f'<VRTDataset rasterXSize="10" rasterYSize="10"><VRTRasterBand dataType="Float32" band="1">'
                   f'<SimpleSource><SourceFilename relativeToVRT="0">{secret}</SourceFilename><SourceBand>1'
                   '</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>')
    with rasterio.open(dem, driver="GTiff") as ds, WarpedVRT(ds, crs="EPSG:3857") as vrt:
        vrt.read(1)  # the VRT driver is back in rasterio's GDAL from here on
    with rasterio.open(dem, driver="GTiff") as ds:  # the hazard itself, so this test cannot pass vacuously
        assert ds.overviews(1) == [2] and ds.read(1, out_shape=(10, 10)).max() == 77
    with readers.open_raster(dem) as ds:
        assert ds.overviews(1) == [] and ds.read(1, out_shape=(10, 10)).max() == 1
    archive = tmp_path / "dem.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(dem, "dem.tif")
        zf.write(ovr, "dem.tif.ovr")
    import_layer(archive)
    layer = Layer.objects.get()
    with rasterio.open(layer.raster_path, driver="GTiff") as ds:
        assert ds.read(1, out_shape=(ds.height // 2, ds.width // 2)).max() == 1
        for level in ds.overviews(1):
            assert ds.read(1, out_shape=(ds.height // level, ds.width // level)).max() == 1


def test_a_null_geometry_in_a_geopackage_table_named_with_a_quote_is_not_damage(tmp_path):
    """The damage check reads the GeoPackage with SQLite: table and column names come from the user's file
    and are quoted as identifiers (a '"' in the name broke the query and a legitimate null geometry was
    then reported as damage)."""
    gdf = _three_squares()
    gdf.loc[1, "geometry"] = None
    path = write_vector(tmp_path / "lotes.gpkg", gdf, "GPKG", layer='lo"tes')
    read = readers.read_vector(path, layer='lo"tes')
    assert read["n"].tolist() == [1, 2, 3] and read.geometry.isna().tolist() == [False, True, False]


SPATIALITE_IN_A_FRESH_PROCESS = """
import sys, django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geosig.settings")
django.setup()
import pyogrio
try:
    print("LEIDO", pyogrio.read_dataframe(sys.argv[1], sql="SELECT BlobFromFile('/etc/hostname') AS v",
                                          sql_dialect="SQLITE"))
except Exception as exc:
    print("RECHAZADO", exc)
"""


def test_spatialite_file_functions_stay_off_whatever_the_environment(tmp_path):
    """pyogrio's GDAL links SpatiaLite; SPATIALITE_SECURITY=relaxed in a deployment's environment would give
    SQL (a GeoPackage view read as a layer) BlobFromFile and friends. The hardening forces «strict»."""
    import os
    import subprocess
    import sys

    path = write_vector(tmp_path / "v.gpkg", _three_squares(), "GPKG", layer="v")
    out = subprocess.run([sys.executable, "-c", SPATIALITE_IN_A_FRESH_PROCESS, str(path)], capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[2], timeout=120,
                         env={**os.environ, "SPATIALITE_SECURITY": "relaxed"})
    assert "RECHAZADO" in out.stdout and "no such function: BlobFromFile" in out.stdout, out.stdout + out.stderr
