"""geosig.formats: formula-looking text is neutralised in CSV and XLSX, headers are safe, every registered
format round-trips, and no module outside the registry builds a Content-Disposition by hand."""
import csv
import email.message
import io
import json
import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from django.conf import settings
from openpyxl import Workbook, load_workbook

from geosig import formats
from geosig.errors import InvalidParameter

DANGEROUS = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
HARMLESS = ["Tuluá", "—", "2-3", " =1", "'ya citado"]


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# ------------------------------------------------------------------ neutralising formulas
def test_csv_prefixes_formula_text_and_keeps_numbers():
    rows = [[text, -2.5, 7] for text in DANGEROUS + HARMLESS]
    out = _csv_rows(formats.write_csv(formats.Table(["texto", "numero", "entero"], rows)))
    assert out[0] == ["texto", "numero", "entero"]
    body = out[1:]
    assert [r[0] for r in body[:len(DANGEROUS)]] == ["'" + t for t in DANGEROUS]
    assert [r[0] for r in body[len(DANGEROUS):]] == HARMLESS  # only the dangerous first characters count
    assert {(r[1], r[2]) for r in body} == {("-2.5", "7")}  # a negative number is a number, left alone


def test_csv_from_a_dataframe_uses_the_column_types():
    frame = pd.DataFrame({"nombre": ["=1+1", "-3", "Cali"], "valor": [-2.5, -1.0, 3.0]})
    out = _csv_rows(formats.write_csv(formats.Table.from_frame(frame)))
    assert out == [["nombre", "valor"], ["'=1+1", "-2.5"], ["'-3", "-1.0"], ["Cali", "3.0"]]


def test_csv_mapping_rows_header_and_bom():
    table = formats.Table(["=a", "b"], [{"=a": "@x", "b": None}], bom=True)
    data = formats.write_csv(table)
    assert data.startswith("\ufeff".encode())
    assert _csv_rows(data) == [["'=a", "b"], ["'@x", ""]]


def test_openpyxl_alone_would_store_a_formula():
    """The hazard the writer prevents: a text cell starting with '=' becomes a formula in openpyxl."""
    wb = Workbook()
    wb.active.append(['=HYPERLINK("http://x","y")'])
    assert wb.active["A1"].data_type == "f"


def test_xlsx_text_cells_are_never_formulas_and_numbers_stay_numbers():
    rows = [["texto", "numero"]] + [[text, -2.5] for text in DANGEROUS]
    data = formats.write_xlsx([formats.Sheet("datos", rows, bold_rows=1)])
    ws = load_workbook(io.BytesIO(data))["datos"]
    assert ws["A1"].font.b and not ws["A2"].font.b
    for i, text in enumerate(DANGEROUS, start=2):
        cell = ws.cell(row=i, column=1)
        # a lone CR comes back as CR or LF depending on openpyxl's XML backend (lxml keeps it); the
        # neutralising quote is what matters
        assert cell.value.replace("\r", "\n") == ("'" + text).replace("\r", "\n") and cell.data_type != "f"
        num = ws.cell(row=i, column=2)
        assert num.value == -2.5 and num.data_type == "n"


def test_xlsx_drops_control_characters_instead_of_failing():
    data = formats.write_xlsx([formats.Sheet("x/y:z", [["a\x00b\x1fc"]])])
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["x_y_z"] and wb["x_y_z"]["A1"].value == "abc"


def test_xlsx_a_formula_behind_a_control_character_is_still_neutralised():
    """Control characters are dropped first: a NUL in front of '=' must not carry a formula past the check."""
    data = formats.write_xlsx([formats.Sheet("x", [['\x00=HYPERLINK("http://x","y")', "\x1f+1", "\x0b@A1"]])])
    ws = load_workbook(io.BytesIO(data))["x"]
    assert [c.value for c in ws[1]] == ["'=HYPERLINK(\"http://x\",\"y\")", "'+1", "'@A1"]
    assert all(c.data_type != "f" for c in ws[1])


# ------------------------------------------------------------------ the attachment header
def _header_lines(resp) -> list[bytes]:
    return resp.serialize_headers().split(b"\r\n")


def test_hostile_non_ascii_file_name_gives_one_rfc6266_header():
    resp = formats.attachment(b"a,b\n", '"\r\nX: y Tuluá', "csv")
    value = resp["Content-Disposition"]
    assert value == "attachment; filename*=utf-8''X_y_Tulu%C3%A1.csv"
    assert not re.search(r'[\r\n"]', value)
    lines = _header_lines(resp)
    assert sum(line.startswith(b"Content-Disposition:") for line in lines) == 1
    assert not any(line.startswith(b"X:") for line in lines)
    msg = email.message.EmailMessage()  # an independent RFC 2231/6266 parser
    msg["Content-Disposition"] = value
    assert msg.get_filename() == "X_y_Tuluá.csv"
    assert resp["Content-Type"] == "text/csv; charset=utf-8"


@pytest.mark.parametrize("name, ext, expected", [
    ("cob.gpkg", "gpkg", "cob.gpkg"),
    ("cob", "gpkg", "cob.gpkg"),
    ("../../etc/passwd", "csv", "etc_passwd.csv"),
    ("plan.exe", "zip", "plan.exe.zip"),  # the extension is always the registry's
    ("", "pdf", "descarga.pdf"),
    ("conflictos_pot_76001_DEMO", "csv", "conflictos_pot_76001_DEMO.csv"),
    ("a" * 300, "csv", "a" * formats.MAX_STEM + ".csv"),
])
def test_safe_filename(name, ext, expected):
    assert formats.safe_filename(name, ext) == expected


def test_ascii_names_keep_the_plain_quoted_form():
    resp = formats.attachment(b"x", "cob.gpkg", "gpkg")
    assert resp["Content-Disposition"] == 'attachment; filename="cob.gpkg"'
    assert resp["Content-Type"] == "application/geopackage+sqlite3"
    inline = formats.attachment("<p>hola</p>", "informe", "html", inline=True)
    assert inline["Content-Disposition"] == 'inline; filename="informe.html"'


def test_a_path_is_streamed(tmp_path):
    path = tmp_path / "grande.tif"
    path.write_bytes(b"II*\x00" + b"\x00" * 10_000)
    resp = formats.attachment(path, "capa.tif", "tif")
    assert resp.streaming and resp["Content-Type"] == "image/tiff"
    assert resp["Content-Disposition"] == 'attachment; filename="capa.tif"'
    assert resp.getvalue() == path.read_bytes()


def test_format_of_a_file_on_disk():
    assert formats.for_extension(".GPKG").key == "gpkg" and formats.for_extension(".zip").key == "shp"
    with pytest.raises(InvalidParameter):
        formats.for_extension(".exe")


def test_unknown_formats():
    with pytest.raises(InvalidParameter, match="válidos: csv, pdf"):
        formats.choose("doc", ["csv", "pdf"])
    with pytest.raises(ValueError, match="docx"):
        formats.Offer(docx=lambda: None)
    offer = formats.Offer(pdf=str, csv=str)
    assert offer.keys == ("pdf", "csv") and "csv" in offer and "json" not in offer
    with pytest.raises(InvalidParameter, match="«json»; válidos: pdf, csv"):
        offer.get("json")


# ------------------------------------------------------------------ every registered format round-trips
def _points(n=3):
    return gpd.GeoDataFrame({"nombre": [f"p{i}" for i in range(n)], "valor": np.arange(n) * 1.5},
                            geometry=[shapely.Point(-76.5 + i * 0.01, 3.4) for i in range(n)], crs=4326)


def _check_csv(data):
    assert _csv_rows(data) == [["a", "b"], ["x", "1"]]


def _check_csv_es(data):
    """Excel (es): BOM, ';' and decimal comma; pandas reads the numbers back; formulas still neutralised."""
    assert data.startswith("\ufeff".encode()) and data.decode("utf-8-sig").splitlines() == [
        "a;b;c", "x;1;-0,25", "'=1+1;1234567,5;0,00001"]
    back = pd.read_csv(io.BytesIO(data), sep=";", decimal=",", encoding="utf-8-sig")
    assert back["c"].tolist() == [-0.25, 1e-05] and back["b"].tolist() == [1, 1234567.5]


def _check_xlsx(data):
    assert [list(r) for r in load_workbook(io.BytesIO(data))["s"].values] == [["a", "b"], ["x", 1]]


def _check_json(data):
    assert json.loads(data) == {"año": 2018, "valores": [1, 2]}


def _check_geojson(data):
    gdf = pyogrio.read_dataframe(io.BytesIO(data))
    assert len(gdf) == 3 and gdf.crs.to_epsg() == 4326 and json.loads(data)["name"] == "puntos"


def _check_gpkg(data, tmp_path):
    path = tmp_path / "x.gpkg"
    path.write_bytes(data)
    assert [name for name, _ in pyogrio.list_layers(path)] == ["puntos", "otra"]
    assert len(pyogrio.read_dataframe(path, layer="puntos")) == 3
    assert len(pyogrio.read_dataframe(path, layer="otra")) == 2
    assert pyogrio.read_info(path, layer="puntos")["crs"] == "EPSG:4326"


def _check_shp(data, tmp_path):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {"puntos.shp", "puntos.shx", "puntos.dbf", "puntos.prj", "puntos.cpg"} <= set(zf.namelist())
        zf.extractall(tmp_path / "shp")
    gdf = pyogrio.read_dataframe(tmp_path / "shp" / "puntos.shp")
    assert len(gdf) == 3 and gdf.crs.to_epsg() == 4326


def _check_html(data):
    assert data.decode("utf-8") == "<p>Tuluá</p>"


def _check_pdf(data):
    assert data.startswith(b"%PDF")


def _check_tif(data):
    with rasterio.open(io.BytesIO(data)) as src:
        assert src.read(1).tolist() == [[1, 2], [3, 4]] and src.crs.to_epsg() == 4326


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\xdac\xfc\xff\x9f\xa1\x1e\x00\x07\x82\x02\x7f=\xc8H\xef\x00\x00\x00\x00IEND\xaeB`\x82")


def _check_png(data):
    with rasterio.open(io.BytesIO(data)) as src:
        assert src.driver == "PNG" and src.shape == (1, 1)


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (2, 1), (200, 10, 10)).save(buf, "JPEG")
    return buf.getvalue()


def _check_jpg(data):
    with rasterio.open(io.BytesIO(data)) as src:
        assert src.driver == "JPEG" and src.shape == (1, 2)


def _check_xml(data):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(data)
    assert root.tag == "{http://www.isotc211.org/2005/gmd}MD_Metadata" and root[0].text == "Tuluá"


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ficha_municipio_76834.pdf", b"%PDF-1.7 Tulu\xc3\xa1")
    return buf.getvalue()


def _check_zip(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == ["ficha_municipio_76834.pdf"] and zf.read(zf.namelist()[0]).startswith(b"%PDF")


RASTER = formats.Raster(np.array([[[1, 2], [3, 4]]], dtype="uint8"), {
    "width": 2, "height": 2, "count": 1, "dtype": "uint8", "crs": "EPSG:4326",
    "transform": rasterio.transform.from_origin(-76.6, 3.5, 0.01, 0.01)})
SAMPLES = {
    "csv": (formats.Table(["a", "b"], [["x", 1]]), _check_csv),
    "csv_es": (formats.Table(["a", "b", "c"], [["x", 1, -0.25], ["=1+1", 1234567.5, 1e-05]]), _check_csv_es),
    "xlsx": ([formats.Sheet("s", [["a", "b"], ["x", 1]])], _check_xlsx),
    "json": ({"año": 2018, "valores": [1, 2]}, _check_json),
    "geojson": ({"puntos": _points()}, _check_geojson),
    "gpkg": ({"puntos": _points(), "otra": _points(2)}, _check_gpkg),
    "shp": ({"puntos": _points()}, _check_shp),
    "html": ("<p>Tuluá</p>", _check_html),
    "pdf": ("<h1>Informe</h1><p>Tuluá</p>", _check_pdf),
    "tif": (RASTER, _check_tif),
    "png": (PNG, _check_png),
    "jpg": (_jpeg(), _check_jpg),
    "xml": ('<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd"><gmd:fileIdentifier>Tuluá'
            "</gmd:fileIdentifier></gmd:MD_Metadata>".encode("utf-8"), _check_xml),
    "zip": (_zip(), _check_zip),
    "asc": ("ncols 1\nnrows 1\nxllcorner 0\nyllcorner 0\ncellsize 1\nNODATA_value -9999\n2.5\n".encode(),
            lambda data: data.decode().split()[-1] == "2.5"),
    "out": ("0 1 2\n1 0 10.0\n2 10.0 0\n".encode(), lambda data: data.decode().splitlines()[1].split() == ["1", "0", "10.0"]),
}


def test_every_registered_format_has_a_round_trip_test():
    assert set(SAMPLES) == set(formats.FORMATS)


@pytest.mark.parametrize("key", sorted(formats.FORMATS))
def test_round_trip(key, tmp_path):
    content, check = SAMPLES[key]
    data = formats.FORMATS[key].write(content)
    assert isinstance(data, bytes)
    check(*((data, tmp_path) if "tmp_path" in check.__code__.co_varnames else (data,)))


def test_vector_writers_require_a_crs():
    with pytest.raises(InvalidParameter, match="CRS"):
        formats.write_gpkg({"sin_crs": _points().set_crs(None, allow_override=True)})


def test_gpkg_keeps_the_frame_crs(tmp_path):
    """Written in the frame's CRS, never reprojected: a frame in EPSG:9377 stays in metres."""
    gdf = _points().to_crs(9377)
    path = tmp_path / "m.gpkg"
    path.write_bytes(formats.write_gpkg({"metros": gdf}))
    back = pyogrio.read_dataframe(path)
    assert back.crs.to_epsg() == 9377
    assert back.geometry.x.tolist() == pytest.approx(gdf.geometry.x.tolist(), abs=1e-6)


def test_a_raster_file_on_disk_is_passed_on(tmp_path):
    path = tmp_path / "r.tif"
    assert formats.FORMATS["tif"].write(path) == path


# ------------------------------------------------------------------ the PDF renderer never reaches the network
def test_render_pdf_fetches_nothing_but_inline_data():
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/"
                 "PchI7wAAAABJRU5ErkJggg==")
        pdf = formats.render_pdf(f'<link rel="stylesheet" href="{url}/a.css"><img src="{url}/x.png">'
                                 f'<img src="file:///etc/hostname"><img src="{pixel}"><p>hola</p>')
    finally:
        server.shutdown()
    assert pdf.startswith(b"%PDF") and hits == []


# ------------------------------------------------------------------ one helper for every download
def test_no_content_disposition_is_built_by_hand():
    root = Path(settings.BASE_DIR)
    offenders = []
    for path in root.glob("*/**/*.py"):
        rel = path.relative_to(root)
        if rel.parts[0] in {".venv", "tests", "node_modules", "bench"} or rel == Path("geosig/formats.py"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"Content-Disposition|attachment;|write_pdf\(|\.to_file\([^)]*GPKG", text):
            offenders.append(str(rel))
    assert offenders == []
