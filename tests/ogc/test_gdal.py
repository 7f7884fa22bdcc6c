"""Acceptance with GDAL's own OGC API – Features client (the OAPIF driver of ogrinfo, gdal-bin) against the
live server: collections listed, the 42 municipalities read with DIVIPOLA and areas, a bbox and an attribute
filter sent to (and applied by) the server, and a request in EPSG:9377 answered in metres."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request

import pytest
from django.db import connection

pytestmark = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin (ogrinfo) no instalado")


def ogrinfo(*args) -> subprocess.CompletedProcess:
    # the live server is local: no proxy (a sandbox may point http_proxy at a closed port)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(CPL_DEBUG="ON", GDAL_HTTP_TIMEOUT="60", NO_PROXY="*")
    return subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=180, env=env)


def fetched(stderr: str) -> list[str]:
    return re.findall(r"HTTP: Fetch\((\S+)\)", stderr)


def test_ogrinfo_lists_collections_and_reads_the_42_municipalities(live_server, loaded_territory_tx):
    root = f"{live_server.url}/ogc"
    listing = ogrinfo("-so", f"OAPIF:{root}")
    assert listing.returncode == 0, listing.stderr[-2000:]
    for name in ("municipios", "subregiones", "centros-poblados", "pot-zonas", "catalogo"):
        assert re.search(rf"^\d+: {re.escape(name)} ", listing.stdout, re.M), listing.stdout
    full = ogrinfo("-al", "-q", "-oo", "PAGE_SIZE=100", f"OAPIF:{root}", "municipios")
    assert full.returncode == 0, full.stderr[-2000:]
    codes = re.findall(r"^  divipola \(String\) = (\d+)$", full.stdout, re.M)
    areas = [float(a) for a in re.findall(r"^  area_km2 \(Real\) = ([\d.]+)$", full.stdout, re.M)]
    with connection.cursor() as cur:
        cur.execute("SELECT divipola, area_km2 FROM territorial_municipality ORDER BY divipola")
        stored = cur.fetchall()
    assert sorted(codes) == [d for d, _ in stored] and len(codes) == 42
    assert len(areas) == 42
    for code, area in zip(codes, areas):
        assert area == pytest.approx(dict(stored)[code], abs=1e-3)


def test_bbox_and_attribute_filter_go_to_the_server(live_server, loaded_territory_tx):
    root = f"{live_server.url}/ogc"
    run = ogrinfo("-al", "-q", f"OAPIF:{root}", "municipios", "-spat", "-76.6", "3.3", "-76.4", "3.5",
                  "-where", "subregion_code = 'sur'")
    assert run.returncode == 0, run.stderr[-2000:]
    items = [u for u in fetched(run.stderr) if "/collections/municipios/items" in u and "bbox=" in u]
    assert items and "subregion_code=sur" in items[-1], fetched(run.stderr)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    seen = json.load(opener.open(items[-1].replace("limit=10", "limit=100")))
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM territorial_municipality m JOIN territorial_subregion s ON s.id = m.subregion_id "
                    "WHERE s.code = 'sur' AND ST_Intersects(m.geom, ST_MakeEnvelope(-76.6, 3.3, -76.4, 3.5, 4326))")
        expected = cur.fetchone()[0]
    assert seen["numberMatched"] == seen["numberReturned"] == expected and 0 < expected < 42
    assert len(re.findall(r"^OGRFeature\(municipios\)", run.stdout, re.M)) == expected


def test_a_request_in_epsg_9377_is_answered_in_metres(live_server, loaded_territory_tx):
    crs = "http://www.opengis.net/def/crs/EPSG/0/9377"
    run = ogrinfo("-al", "-q", f"OAPIF:{live_server.url}/ogc?crs={crs}", "municipios", "-where", "divipola = '76001'")
    assert run.returncode == 0, run.stderr[-2000:]
    first = re.search(r"MULTIPOLYGON \(\(\(([-\d.]+) ([-\d.]+)", run.stdout)
    x, y = float(first.group(1)), float(first.group(2))
    with connection.cursor() as cur:
        cur.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1), "
                    "9377) p FROM territorial_municipality WHERE divipola = '76001') s")
        ex, ey = cur.fetchone()
    assert x == pytest.approx(ex, abs=0.01) and y == pytest.approx(ey, abs=0.01)
