"""Every download and report format in one registry, one attachment helper and one PDF renderer.

``FORMATS`` maps a format key (csv, xlsx, json, geojson, gpkg, shp, html, pdf, tif, png) to its content type,
file extension and writer. A writer turns one kind of content into the file's bytes:

- csv, csv_es (Excel in Spanish: ``;``, decimal comma): a ``Table``;  xlsx: a list of ``Sheet``;
- json: any JSON-able object;
- gpkg / geojson / shp: ``{layer name: GeoDataFrame}`` (written in the frame's own CRS, via pyogrio);
- html: the page's text;  pdf: HTML text (rendered by ``render_pdf``);
- tif: a ``Raster`` in memory, or the ``Path`` of a GeoTIFF already on disk (streamed as it is);
- png: an image the app rendered (bytes or a file), served as it is.

A product (a report, a dataset, a layer) says which formats it is offered in with an ``Offer``: format key →
function building that format's content from the product. Content types, extensions and writers are never
repeated outside this module, and ``attachment`` builds every download response.

Spreadsheets are a place for user text (names of plans, scenarios, layer attributes); a text cell that
starts like a formula is neutralised (OWASP "CSV injection"): prefixed with a single quote.
"""
from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header
from rasterio.io import MemoryFile

from geosig.errors import InvalidParameter

# ------------------------------------------------------------------ content kinds
@dataclass(frozen=True)
class Table:
    """Rows under a header. A row is a sequence (in column order) or a mapping read by column name."""

    columns: Sequence[str]
    rows: Iterable[Sequence | Mapping] = ()
    bom: bool = False  # a UTF-8 BOM lets Excel open accents correctly

    @classmethod
    def from_frame(cls, frame, bom: bool = False) -> "Table":
        """A pandas DataFrame (geometry dropped): numbers stay numbers, so only text cells can be neutralised."""
        cols = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]
        return cls(cols, frame[cols].itertuples(index=False, name=None), bom)

    def sequences(self) -> Iterable[Sequence]:
        for row in self.rows:
            yield [row.get(c) for c in self.columns] if isinstance(row, Mapping) else row


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its rows, the first ``bold_rows`` of them in bold (titles, headers)."""

    title: str
    rows: Iterable[Sequence] = ()
    bold_rows: int = 0


@dataclass(frozen=True)
class Raster:
    """A GeoTIFF to write from memory: band array (bands, rows, cols) and a rasterio profile."""

    data: Any
    profile: dict = field(default_factory=dict)


# ------------------------------------------------------------------ neutralising formulas
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell that a spreadsheet would read as a formula gets a leading ``'``; numbers are untouched
    (a negative number stored as a number is a number, not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


# ------------------------------------------------------------------ writers
def _csv_bytes(table: Table, delimiter: str = ",", cell=neutralise, bom: bool = False) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter)
    w.writerow([neutralise(c) for c in table.columns])
    for row in table.sequences():
        w.writerow([cell(v) for v in row])
    return (("\ufeff" if table.bom or bom else "") + buf.getvalue()).encode("utf-8")


def write_csv(table: Table) -> bytes:
    return _csv_bytes(table)


def _decimal_comma(value):
    """A number as a Spanish-locale spreadsheet reads it: decimal comma, no thousands separator (it would
    be read as text) and never scientific notation; text neutralised as in every CSV. Booleans stay text."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return ""
        return np.format_float_positional(float(value), trim="-").replace(".", ",")
    return neutralise(value)


def write_csv_es(table: Table) -> bytes:
    """The CSV that Excel in a Spanish (es-CO) locale opens as columns: ``;`` between cells, decimal comma
    and a UTF-8 BOM (accents). Same table and same formula neutralising as ``write_csv``."""
    return _csv_bytes(table, delimiter=";", cell=_decimal_comma, bom=True)


def _xlsx_cell(value):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # openpyxl loads only for an XLSX (~0.4 s)

    # control characters make openpyxl refuse the whole workbook: drop them, keep the text — BEFORE
    # neutralising, or "\x00=HYPERLINK(…)" would lose its NUL after the check and be stored as a formula
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return neutralise(value)


def write_xlsx(sheets: Sequence[Sheet]) -> bytes:
    # openpyxl and WeasyPrint load only when someone asks for an XLSX or a PDF: neither is needed (nor
    # loaded) by any other request or command, and WeasyPrint alone takes about two seconds to import.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        ws = wb.create_sheet(re.sub(r"[\\/*?:\[\]]", "_", sheet.title)[:31])
        for row in sheet.rows:
            ws.append([_xlsx_cell(v) for v in row])
        for row in ws.iter_rows(min_row=1, max_row=sheet.bold_rows):
            for cell in row:
                cell.font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def write_json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")


def write_html(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8")


def _vector_file(layers: Mapping[str, Any], path: Path, driver: str, **options) -> None:
    if not layers:
        raise InvalidParameter("No hay capas que exportar.")
    for name, gdf in layers.items():
        if gdf.crs is None:
            raise InvalidParameter(f"La capa «{name}» no tiene CRS; no se exporta sin él.")
        gdf.to_file(path, layer=name, driver=driver, engine="pyogrio", **options)


def write_gpkg_file(layers: Mapping[str, Any], path: Path) -> Path:
    """Each frame a layer of one GeoPackage, in the frame's CRS (the one way a GeoPackage is written)."""
    _vector_file(layers, Path(path), "GPKG")
    return Path(path)


def write_gpkg(layers: Mapping[str, Any]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return write_gpkg_file(layers, Path(tmp) / "export.gpkg").read_bytes()


def _single(layers: Mapping[str, Any], what: str):
    if len(layers) != 1:
        raise InvalidParameter(f"Un archivo {what} lleva una sola capa (se pidieron {len(layers)}).")
    return next(iter(layers.items()))


def write_geojson(layers: Mapping[str, Any]) -> bytes:
    name, gdf = _single(layers, "GeoJSON")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.geojson"
        _vector_file({name: gdf}, path, "GeoJSON")
        return path.read_bytes()


def write_shp_zip(layers: Mapping[str, Any]) -> bytes:
    """A zipped ESRI Shapefile (UTF-8 attributes); the layer name is the name of its files."""
    name, gdf = _single(layers, "Shapefile")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "shp"
        folder.mkdir()
        _vector_file({name: gdf}, folder / f"{name}.shp", "ESRI Shapefile", encoding="UTF-8")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(folder.iterdir()):
                zf.write(f, f.name)
        return out.getvalue()


def write_as_is(content: bytes | Path) -> bytes | Path:
    """Formats the app only serves (images it rendered itself): bytes or a file, passed on unchanged."""
    return content


def write_geotiff(raster: Raster | Path) -> bytes | Path:
    """A file already on disk is passed on as is (``attachment`` streams it); a ``Raster`` is written."""
    if isinstance(raster, Path):
        return raster
    profile = {**raster.profile, "driver": "GTiff"}
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(raster.data)
        return mem.read()


def render_pdf(html: str, base_url: str | None = None) -> bytes:
    """The one PDF renderer (WeasyPrint). Only inline ``data:`` resources are fetched — and local files
    under ``base_url`` when one is given: a report never makes the server reach the network."""
    from weasyprint import HTML  # loads only for a PDF (see write_xlsx)
    from weasyprint.urls import URLFetcher

    allowed = ("data", "file") if base_url else ("data",)
    fetcher = URLFetcher(allowed_protocols=allowed, allow_redirects=False)
    return HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf()


# ------------------------------------------------------------------ the registry
@dataclass(frozen=True)
class Format:
    key: str
    content_type: str
    extension: str
    write: Callable[[Any], bytes | Path]
    text: bool = False  # printable on a terminal


FORMATS: dict[str, Format] = {f.key: f for f in (
    Format("csv", "text/csv; charset=utf-8", "csv", write_csv, text=True),
    Format("csv_es", "text/csv; charset=utf-8", "csv", write_csv_es, text=True),  # «Excel (es)»
    Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", write_xlsx),
    Format("json", "application/json", "json", write_json, text=True),
    Format("geojson", "application/geo+json", "geojson", write_geojson, text=True),
    Format("gpkg", "application/geopackage+sqlite3", "gpkg", write_gpkg),
    Format("shp", "application/zip", "zip", write_shp_zip),
    Format("html", "text/html; charset=utf-8", "html", write_html, text=True),
    Format("pdf", "application/pdf", "pdf", render_pdf),
    Format("tif", "image/tiff", "tif", write_geotiff),
    Format("png", "image/png", "png", write_as_is),
    Format("jpg", "image/jpeg", "jpg", write_as_is),  # evidence photos of the plan follow-up
    Format("xml", "application/xml; charset=utf-8", "xml", write_as_is, text=True),  # ISO 19139 records
    Format("zip", "application/zip", "zip", write_as_is),  # archives a job already wrote (fact sheets in a batch)
    Format("asc", "text/plain; charset=utf-8", "asc", write_as_is, text=True),  # ESRI ASCII grids (Circuitscape's maps)
    Format("out", "text/plain; charset=utf-8", "out", write_as_is, text=True),  # Circuitscape's resistance tables
)}


def content_types(*keys: str) -> list[str]:
    """The content types of the registered formats ``keys``, in that order (for the API schema)."""
    return [FORMATS[k].content_type for k in keys]


def choose(key: str | Format, offered: Iterable[str] | None = None) -> Format:
    """The registered format ``key`` among ``offered`` (all by default); a Spanish 400 otherwise."""
    if isinstance(key, Format):
        return key
    valid = list(offered) if offered is not None else list(FORMATS)
    if key not in valid:
        raise InvalidParameter(f"Formato desconocido «{key}»; válidos: {', '.join(valid)}.")
    return FORMATS[key]


def for_extension(suffix: str) -> Format:
    """The format of a file already written (``.gpkg`` → gpkg, ``.zip`` → shp)."""
    ext = suffix.lower().lstrip(".")
    for f in FORMATS.values():
        if f.extension == ext:
            return f
    raise InvalidParameter(f"Formato de archivo desconocido «{suffix}».")


@dataclass(frozen=True)
class Output:
    """One format of one product: ``render(product…)`` builds the content and writes it."""

    format: Format
    build: Callable[..., Any]

    def render(self, *args, **kwargs) -> bytes | Path:
        return self.format.write(self.build(*args, **kwargs))

    @property
    def key(self) -> str:
        return self.format.key

    @property
    def content_type(self) -> str:
        return self.format.content_type

    @property
    def extension(self) -> str:
        return self.format.extension


class Offer:
    """The formats a product is offered in, in the order given: ``Offer(csv=build_table, pdf=build_html)``."""

    def __init__(self, **builders: Callable[..., Any]):
        unknown = set(builders) - set(FORMATS)
        if unknown:
            raise ValueError(f"Formatos no registrados en geosig.formats: {', '.join(sorted(unknown))}")
        self.builders = builders

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.builders)

    def __contains__(self, key) -> bool:
        return key in self.builders

    def __iter__(self):
        return iter(self.builders)

    def get(self, key: str) -> Output:
        return Output(choose(key, self.builders), self.builders[key])

    def render(self, key: str, *args, **kwargs) -> tuple[bytes | Path, Format]:
        out = self.get(key)
        return out.render(*args, **kwargs), out.format


def static_text(path: str) -> str:
    """The text of one of the project's static files (Leaflet, a map script), to inline into a standalone HTML
    file that must work offline and without the site."""
    from django.contrib.staticfiles import finders

    found = finders.find(path)
    if not found:
        raise InvalidParameter(f"Falta el archivo estático {path} (ejecute collectstatic).")
    with open(found, encoding="utf-8") as fh:
        return fh.read()


# ------------------------------------------------------------------ responses
MAX_STEM = 120


def safe_filename(name: str, extension: str) -> str:
    """A file name safe in a header and on any disk: letters (accents kept), digits, ``_ - .``; everything
    else (quotes, slashes, CR/LF, spaces) becomes ``_``. The extension is the registry's, never the caller's."""
    stem = unicodedata.normalize("NFC", str(name or ""))
    if stem.lower().endswith("." + extension):
        stem = stem[: -len(extension) - 1]
    stem = re.sub(r"[^\w.-]+", "_", stem)
    stem = re.sub(r"\.{2,}", ".", stem).strip("._-")[:MAX_STEM]
    return f"{stem or 'descarga'}.{extension}"


def attachment(content: bytes | str | Path, filename: str, fmt: str | Format, *, inline: bool = False):
    """The response of every download: the registry's content type and a Content-Disposition built by
    Django (RFC 6266, ``filename*=utf-8''…`` for non-ASCII names). A ``Path`` is streamed (FileResponse)."""
    f = choose(fmt)
    name = safe_filename(filename, f.extension)
    if isinstance(content, Path):
        resp = FileResponse(content.open("rb"), content_type=f.content_type)
    else:
        resp = HttpResponse(content, content_type=f.content_type)
    resp["Content-Disposition"] = content_disposition_header(not inline, name)
    return resp
