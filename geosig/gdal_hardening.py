"""Process-wide GDAL hardening, applied when the ``geosig`` package is first imported.

Three GDALs live in one process: rasterio's wheel (3.10), pyogrio's wheel (3.12) and the system GDAL
(3.6) that GeoDjango loads through ctypes. All three read their configuration from the process
environment, so setting it here — before any of them registers its drivers (``geosig/__init__.py``
imports this module, and settings, commands, tests and workers all import ``geosig`` first) — covers
every process. Values are forced, not defaulted: the environment of a deployment cannot loosen them.

This is the second wall. The first is ``geosig.readers``: user files are opened only with the driver
their extension promises, after their first bytes are checked. Verified by
``tests/layers/test_safe_readers.py`` (a VRT pointing at a local listener and at a local file, opened
WITHOUT the driver allowlist through rasterio, pyogrio and django.contrib.gis.gdal).
"""
from __future__ import annotations

import os

# Drivers no file of the project needs, and which read other files or the network on a file's say-so:
# VRT / OGR_VRT (XML that names any local file — VRTRawRasterBand reads raw bytes of e.g. .env — or
# a /vsicurl/ URL), GDALG (a JSON "pipeline" that runs GDAL commands on any path), GTI (tile index
# naming arbitrary rasters), and the ones that fetch URLs written inside a local file (WMS, WMTS, WCS,
# WFS, CSW, STACTA, STACIT, KMLSUPEROVERLAY, HTTP). The project's own VRT use is rasterio's WarpedVRT
# (tiles, raster import), which works without it. Two things found by trying: rasterio's
# calculate_default_transform opens a VRT (the corridor overlay computes its grid without it), and GDAL
# registers the VRT driver AGAIN in rasterio's GDAL when it builds a WarpedVRT. So for rasterio this skip
# holds only until the first warp; what always holds there is the network closure below and the pinned
# driver of every rasterio.open (geosig.readers; a test fails on any unpinned call).
SKIPPED_DRIVERS = ("VRT", "OGR_VRT", "GDALG", "GTI", "WMS", "WMTS", "WCS", "WFS", "CSW", "STACTA", "STACIT",
                   "KMLSUPEROVERLAY", "HTTP")

HARDENING = {
    # Read by each GDAL when it registers its drivers (first open): the drivers above do not exist.
    "GDAL_SKIP": " ".join(SKIPPED_DRIVERS),
    # Raw-file VRT bands off. Only GDAL >= 3.12 honours it (3.10 and 3.6 ignore it: GDAL_SKIP is what
    # closes them); kept so a future wheel that re-enables the VRT driver stays closed.
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",  # VRT pixel functions written in Python
    # /vsicurl/ (and /vsis3/, /vsigs/…, and every http:// path GDAL opens through them) may open only
    # this one name, which no URL can have: refused before any connection, in all three GDALs.
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/geosig-sin-red",
    # GDAL's other HTTP client (CPLHTTPFetch, used by drivers that fetch URLs) goes through a proxy on
    # the discard port, where nothing answers. A host listed in NO_PROXY would bypass it, which is why
    # the drivers that fetch are also skipped above.
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_NETRC": "NO",  # never read ~/.netrc credentials
    # pyogrio's GDAL carries SpatiaLite, whose file functions (BlobFromFile, ImportSHP, ExportDXF…) exist
    # only under SPATIALITE_SECURITY=relaxed; a GeoPackage layer that is a VIEW could call them on read.
    "SPATIALITE_SECURITY": "strict",
}

# An option that would widen raw-file VRT bands again (GDAL >= 3.12) if an environment carried it.
UNSAFE = ("GDAL_VRT_RAWRASTERBAND_ALLOWED_SOURCE",)


def apply(environ=os.environ) -> None:
    for name in UNSAFE:
        environ.pop(name, None)
    environ.update(HARDENING)


apply()
