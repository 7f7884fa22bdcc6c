"""Corridor runs on the real registry layers (SRTM DEM, RUNAP centroids, roads, populated centres):
service, runs (cache, cancel, atomic results), API and management command. Real PostGIS."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from django.conf import settings
from django.core.management import CommandError, call_command
from skimage.graph import MCP_Geometric

from geosig.errors import InvalidParameter, OutsideValle
from layers.corridors import runs
from layers.corridors.models import CorridorRun
from layers.corridors.services import STATUS_LABELS, run_corridors

RAW = Path(settings.GEOSIG_RAW_DIR)
NEEDED = ("dem-srtm3", "runap-centroides", "red-vial-nacional", "centros-poblados")
# RUNAP fids (centroids south of 4°N, on the DEM): PNN Farallones de Cali, RFPN La Elvira, Río Cali, Río Meléndez.
CALI_CORES = [17, 216, 221, 225]
PARAMS = {"cores": {"layer": "runap-centroides", "ids": CALI_CORES}, "resistance": "derivada",
          "cell_size": 500, "width": 20000, "point_radius": 1000}


@pytest.fixture
def real_layers(db, media):
    from layers.services.importing import import_layer
    from layers.services.shipped import SHIPPED

    for e in SHIPPED:
        if e["meta"]["slug"] in NEEDED:
            import_layer(RAW / e["file"], theme=e["theme"], replace=True, metadata=e["meta"])


def read(path):
    with rasterio.open(path) as src:
        return src.read(1), src.transform, src.crs, src.nodata


def test_run_on_real_layers_matches_independent_cost_distance(real_layers, tmp_path):
    out = tmp_path / "out"
    rep = run_corridors(PARAMS["cores"], "derivada", 500, 20000, out_dir=out, point_radius=1000)
    # Linkage Mapper's names (project prefix «corredores»), cwd_<core> per core
    for f in ("corredores_resistance.tif", "corredores_cwd_min.tif", "cwd_1.tif", "corredores_allocation.tif",
              "corredores_corridors.tif", "corredores_corridors_truncated_at_20k.tif", "corredores_current.tif",
              "corredores_link_maps.gpkg", "corredores_linkTable.csv", "corredores_cores.csv", "informe.json"):
        assert (out / f).is_file(), f
    res, transform, crs, nodata = read(out / "corredores_resistance.tif")
    assert crs.to_epsg() == 9377 and transform.a == 500 and transform.e == -500
    assert "Resistencia derivada" in rep.resistance_label
    assert any("NO son los límites reales" in n for n in rep.notes)
    assert any("reproyectado de EPSG:4326 a EPSG:9377" in n for n in rep.notes)
    assert [c["kind"] for c in rep.cores] == ["punto con disco"] * 4

    # Independent LCD for every valid link: skimage MCP_Geometric on the written resistance raster, from
    # the core cells (CWD = 0 and allocated to the core) to the nearest cell of the other core.
    cwd0, *_ = read(out / "corredores_cwd_min.tif")
    alloc, *_ = read(out / "corredores_allocation.tif")
    r = np.where(res == nodata, np.inf, res.astype(np.float64))
    with open(out / "corredores_linkTable.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(rep.links) >= 3
    checked = 0
    for row in rows:
        if row["Status"] != STATUS_LABELS["ok"]:
            continue
        assert row["Link_Type"] == "1"  # Linkage Mapper: corridor connecting cores
        a, b = int(row["Core1"]), int(row["Core2"])
        cells_a = np.argwhere((cwd0 == 0) & (alloc == a))
        cells_b = (cwd0 == 0) & (alloc == b)
        costs, _ = MCP_Geometric(r, fully_connected=True, sampling=(500.0, 500.0)).find_costs([tuple(c) for c in cells_a])
        assert float(row["CW_Dist"]) == pytest.approx(costs[cells_b].min(), rel=1e-5)  # float32 raster on disk
        # The per-core CWD band equals the independent CWD wherever it was computed (inside the cut-off).
        with rasterio.open(out / f"cwd_{a}.tif") as src:
            band = src.read(1)
        inside = band >= 0
        assert inside.sum() > 100
        np.testing.assert_allclose(band[inside], costs[inside], rtol=1e-5, atol=1e-2)
        assert float(row["Eff_Resist"]) > 0
        assert float(row["cwd_to_Euc"]) == pytest.approx(float(row["CW_Dist"]) / float(row["Euc_Dist"]), rel=1e-9)
        checked += 1
    assert checked >= 2
    # The truncated corridor raster: NLCC ≤ width exactly where the polygons are, 0 somewhere on every valid LCP.
    nlcc, *_ = read(out / "corredores_corridors.tif")
    assert (nlcc == 0).sum() >= checked
    mapdata = json.loads((out / "mapa.json").read_text())
    assert len(mapdata["corridors"]["features"]) == checked
    assert len(mapdata["cores"]["features"]) == 4


def test_area_outside_dem_names_the_covered_extent(real_layers, tmp_path):
    from layers.models import Feature

    north = next(f for f in Feature.objects.filter(layer__slug="runap-centroides") if f.geom.y > 4.3)
    with pytest.raises(OutsideValle) as exc:
        run_corridors({"layer": "runap-centroides", "ids": [17, north.fid]}, "derivada", 500, 20000,
                      out_dir=tmp_path / "x", point_radius=1000)
    assert "lon -77.550 a -75.700, lat 3.090 a 4.000" in exc.value.message
    assert not (tmp_path / "x").exists()


def test_single_core_cell_limit_and_bad_layer(real_layers, tmp_path, settings):
    with pytest.raises(InvalidParameter, match="al menos dos núcleos"):
        run_corridors({"layer": "runap-centroides", "ids": [17]}, "derivada", 500, 1000, out_dir=tmp_path / "a")
    settings.CORRIDORS_MAX_CELLS = 10_000
    with pytest.raises(InvalidParameter, match="Use un tamaño de celda de al menos"):
        run_corridors(PARAMS["cores"], "derivada", 100, 1000, out_dir=tmp_path / "b")
    with pytest.raises(InvalidParameter, match="raster|ráster|vectorial"):
        run_corridors({"layer": "dem-srtm3"}, "derivada", 500, 1000, out_dir=tmp_path / "c")
    with pytest.raises(InvalidParameter, match="no válida; use una de"):
        run_corridors(PARAMS["cores"], [{"source": "magia"}], 500, 1000, out_dir=tmp_path / "d")


def test_runs_cache_and_cancel_leave_nothing_half_written(real_layers, media):
    run, cached = runs.start_run(dict(PARAMS), background=False)
    assert not cached and run.status == CorridorRun.Status.DONE and run.progress == 100
    assert (Path(media) / "corridors" / str(run.pk) / "corredores_link_maps.gpkg").is_file()
    again, cached = runs.start_run(dict(PARAMS), background=False)
    assert cached and again.pk == run.pk
    other = CorridorRun.objects.create(inputs_hash="x" * 64, params=dict(runs.normalise(dict(PARAMS)), width=25000.0),
                                       cancel_requested=True)
    runs.execute(other.pk)
    other.refresh_from_db()
    assert other.status == CorridorRun.Status.CANCELLED
    root = Path(media) / "corridors"
    assert not (root / str(other.pk)).exists() and not (root / f".tmp-{other.pk}").exists()


def test_starting_a_run_needs_a_cvc_role(real_layers, client, make_user):
    anon = client.post("/api/v1/corridors/", PARAMS, content_type="application/json")
    assert anon.status_code == 403 and "Analista CVC" in anon.json()["detail"]
    client.force_login(make_user("sin-rol"))
    assert client.post("/api/v1/corridors/", PARAMS, content_type="application/json").status_code == 403
    assert not CorridorRun.objects.exists()


def test_api_start_poll_results_download_cancel(real_layers, client, settings, make_user):
    client.force_login(make_user("analista", "Analista CVC"))
    settings.CORRIDORS_BACKGROUND = False
    r = client.post("/api/v1/corridors/", PARAMS, content_type="application/json")
    assert r.status_code == 202, r.content
    run = r.json()
    assert run["status"] == "done"
    assert client.post("/api/v1/corridors/", PARAMS, content_type="application/json").json()["cached"] is True
    st = client.get(f"/api/v1/corridors/{run['id']}/").json()
    assert st["progress"] == 100
    res = client.get(f"/api/v1/corridors/{run['id']}/results/").json()
    assert res["map"]["paths"]["features"] and "corredores_linkTable.csv" in res["downloads"]
    png = client.get(res["current"]["url"])
    assert png.status_code == 200 and b"".join(png.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    assert png["Content-Disposition"] == f'inline; filename="corredores_{run["id"]}_corriente.png"'  # the map overlay
    (s, w), (n, e) = res["current"]["bounds"]
    assert -77.0 < w < e < -76.3 and 3.2 < s < n < 3.7  # around Cali
    tif = client.get(f"/api/v1/corridors/{run['id']}/files/corredores_corridors.tif")
    assert tif.status_code == 200 and b"".join(tif.streaming_content)[:2] in (b"II", b"MM")
    assert tif["Content-Type"] == "image/tiff"
    assert tif["Content-Disposition"] == f'attachment; filename="corredores_{run["id"]}_corredores_corridors.tif"'
    links = client.get(f"/api/v1/corridors/{run['id']}/files/corredores_linkTable.csv")
    assert links["Content-Type"] == "text/csv; charset=utf-8" and "attachment" in links["Content-Disposition"]
    assert client.get(f"/api/v1/corridors/{run['id']}/files/../../etc").status_code == 404
    bad = client.post(f"/api/v1/corridors/{run['id']}/cancel/")
    assert bad.status_code == 409 and bad.json()["error"] == "conflict"
    miss = client.post("/api/v1/corridors/", {"cores": {"layer": "runap-centroides"}}, content_type="application/json")
    assert miss.status_code == 400 and "cell_size" in miss.json()["detail"]
    opts = client.get("/api/v1/corridors/options/").json()
    by_fid = {c["fid"]: c for c in opts["cores"]}
    assert by_fid[17]["in_dem"] and by_fid[17]["default"]
    assert all(not c["in_dem"] for c in opts["cores"] if c["lat"] > 4.01)


def test_command_writes_outputs(real_layers, tmp_path):
    out = tmp_path / "cmd"
    call_command("corridors", "--cores", "runap-centroides", "--ids", ",".join(map(str, CALI_CORES)),
                 "--point-radius", "1000", "--cell-size", "500", "--width", "20000", "--no-pinch", "--output", str(out))
    assert (out / "corredores_linkTable.csv").is_file() and not (out / "corredores_current.tif").exists()
    with pytest.raises(CommandError, match="derivada"):
        call_command("corridors", "--cores", "runap-centroides", "--resistance", "/no/existe.json",
                     "--cell-size", "500", "--width", "20000", "--output", str(tmp_path / "bad"))
    assert not (tmp_path / "bad").exists()


def square(lon, lat, d=0.02):
    return {"type": "Feature", "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d],
                                                             [lon, lat + d], [lon, lat]]]}}


def test_drawn_polygons_as_cores_with_a_registry_point(real_layers, tmp_path):
    from geosig.errors import InvalidGeometry

    fc = {"type": "FeatureCollection", "features": [square(-76.62, 3.40), square(-76.56, 3.55)]}
    rep = run_corridors({"layer": "runap-centroides", "ids": [17], "geojson": fc}, "derivada", 500, 10000,
                        out_dir=tmp_path / "d", point_radius=1000, pinch=False)
    assert [c["name"] for c in rep.cores] == ["Farallones de Cali", "Polígono dibujado 1", "Polígono dibujado 2"]
    assert [c["kind"] for c in rep.cores] == ["punto con disco", "polígono", "polígono"]
    # A 0.02° square near 3.4°N is ≈ 2.22 km × 2.22 km ≈ 4.9 km²: about 20 cells of 500 m.
    assert 14 <= rep.cores[1]["cells"] <= 26
    assert {(lk["core_a"], lk["core_b"]) for lk in rep.links} >= {(2, 3)}
    bowtie = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [[[-76.6, 3.4], [-76.5, 3.5], [-76.5, 3.4], [-76.6, 3.5], [-76.6, 3.4]]]}}]}
    with pytest.raises(InvalidGeometry, match="no es válido"):
        run_corridors({"layer": "runap-centroides", "ids": [17], "geojson": bowtie}, "derivada", 500, 10000,
                      out_dir=tmp_path / "e")
    with pytest.raises(OutsideValle, match="fuera del Valle"):
        run_corridors({"geojson": {"type": "FeatureCollection", "features": [square(-74.0, 4.6), square(-76.5, 3.4)]}},
                      "derivada", 500, 10000, out_dir=tmp_path / "f")


def test_uploaded_polygon_cores_and_landcover_raster_work_without_code_changes(db, media, tmp_path):
    """A CVC upload: polygon cores (in EPSG:9377) and a land-cover GeoTIFF with a class table, through the same
    import as the upload page; the corridor follows the cheap class."""
    import geopandas as gpd

    from layers.services.importing import import_layer
    import shapely

    from tests.layers.conftest import X0, Y0, square_9377, synthetic_raster, to_4326, write_vector

    cores = gpd.GeoDataFrame({"nombre": ["Reserva Oeste", "Reserva Este"]},
                             geometry=[square_9377(0, 0, 2000), square_9377(16_000, 0, 2000)], crs=9377)
    import_layer(write_vector(tmp_path / "nucleos.gpkg", cores, "GPKG"),
                 metadata={"title": "Núcleos CVC", "slug": "nucleos-cvc", "label_field": "nombre"})
    # Land cover, 0.005° cells around the squares: class 1 (forest) everywhere except a band of class 2
    # (pasture) with a one-row forest gap; the cores sit inside.
    x0, y0, x1, y1 = to_4326([square_9377(-4000, -4000, 26_000)]).total_bounds
    res_deg = max((x1 - x0) / 80, (y1 - y0) / 60)
    lat_mid = to_4326([shapely.Point(X0, Y0 + 1000)]).iloc[0].y  # the squares' mid-height
    row = int((y1 - lat_mid) / res_deg)
    lc = np.full((60, 80), 2.0)
    lc[row - 2:row + 3, :] = 1.0  # a forest strip along the row of both squares
    path = synthetic_raster(tmp_path / "cobertura.tif", lc, west=x0, north=y1, res=res_deg)
    import_layer(path, metadata={"title": "Cobertura CVC", "slug": "cobertura-cvc"})
    out = tmp_path / "lc"
    rep = run_corridors({"layer": "nucleos-cvc"}, [{"source": "landcover", "layer": "cobertura-cvc", "weight": 1,
                                                     "table": {"1": 1, "2": 50}}],
                        250, 5000, out_dir=out, base=0.0, margin_m=2000, pinch=False)
    assert [c["name"] for c in rep.cores] == ["Reserva Oeste", "Reserva Este"]
    assert [c["kind"] for c in rep.cores] == ["polígono", "polígono"]
    (link,) = rep.links
    assert link["status"] == "ok"
    assert any("reproyectado de EPSG:4326 a EPSG:9377" in n for n in rep.notes)
    # The LCP runs along the forest strip: cost per metre of path = the forest's resistance 1 (pasture: 50).
    assert link["cwd_to_path"] == pytest.approx(1.0, abs=0.05), link
    with pytest.raises(InvalidParameter, match="sin resistencia en la tabla: 2"):
        run_corridors({"layer": "nucleos-cvc"}, [{"source": "landcover", "layer": "cobertura-cvc", "table": {"1": 1}}],
                      250, 5000, out_dir=tmp_path / "bad", base=0.0, margin_m=2000)


def test_stale_runs_expire_and_active_runs_are_capped(real_layers, settings):
    from datetime import timedelta

    from django.utils import timezone

    from geosig.errors import ConflictError

    params = runs.normalise(dict(PARAMS))
    h = runs.inputs_hash(params)
    dead = CorridorRun.objects.create(inputs_hash=h, params=params, status=CorridorRun.Status.RUNNING)
    CorridorRun.objects.filter(pk=dead.pk).update(created_at=timezone.now() - timedelta(hours=2))
    settings.CORRIDORS_MAX_ACTIVE = 1
    blocker = CorridorRun.objects.create(inputs_hash="b" * 64, params=params, status=CorridorRun.Status.RUNNING)
    with pytest.raises(ConflictError, match="máximo 1"):
        runs.start_run(dict(PARAMS), background=False)
    dead.refresh_from_db()
    assert dead.status == CorridorRun.Status.FAILED and "no terminó" in dead.error
    blocker.delete()
    run, cached = runs.start_run(dict(PARAMS), background=False)
    assert not cached and run.pk != dead.pk and run.status == CorridorRun.Status.DONE


def test_core_options_marks_cores_on_the_dem_and_the_default_selection(real_layers):
    from layers.corridors.services import core_options

    opts = core_options(None)
    assert opts["layer"] == "runap-centroides"
    by_fid = {c["fid"]: c for c in opts["cores"]}
    # PNN Farallones de Cali: on the DEM and a national park → pre-selected; the DEM stops near 4°N
    assert by_fid[17]["in_dem"] and by_fid[17]["default"] and by_fid[17]["class"] == "Parque Nacional Natural"
    north = [c for c in opts["cores"] if c["lat"] > 4.01]
    assert north and not any(c["in_dem"] or c["default"] for c in north)
    assert "runap-centroides" in {l["slug"] for l in opts["core_layers"]}
    assert "dem-srtm3" not in {l["slug"] for l in opts["core_layers"]}
    assert "dem-srtm3" in {l["slug"] for l in opts["raster_layers"]}
    assert core_options("no-existe")["cores"] == []
