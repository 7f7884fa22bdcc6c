"""Corridor inputs as files (issue 15): cores in a GeoPackage / zipped Shapefile / GeoJSON, resistance as a
GeoTIFF (or land cover + class table), analysed on the raster's own grid. Acceptance: every per-core
cost-distance raster equals skimage.graph.MCP_Geometric on the same grid to 1e-9 relative."""
import csv
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from django.core.management import CommandError, call_command
from skimage.graph import MCP_Geometric

from geosig.errors import CRSMismatch, DataFileError, InvalidParameter, OutsideValle
from layers.corridors import inputs
from layers.corridors.services import run_corridors

CELL = 100.0
ROWS, COLS = 36, 48
# A corner of the Valle in MAGNA-SIRGAS Origen Nacional (EPSG:9377), snapped to the cell
X0, Y1 = 4_600_000.0, 1_950_000.0
T = Affine(CELL, 0, X0, 0, -CELL, Y1)
# cores as (row0, row1, col0, col1) blocks of cells (polygons drawn on cell edges) and one point core
BLOCKS = [(3, 7, 3, 8), (25, 31, 5, 9), (10, 14, 38, 44)]
POINT_CELL = (30, 40)


def resistance_array(seed=15):
    rng = np.random.default_rng(seed)
    r = rng.uniform(1.0, 20.0, (ROWS, COLS))
    r[15:18, 10:30] = np.nan  # a barrier of nodata cells
    return r


def write_tif(path, arr, crs="EPSG:9377", transform=T, nodata=-9999.0, dtype="float64"):
    data = np.where(np.isfinite(arr), arr, nodata) if nodata is not None else arr
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1, dtype=dtype,
                       crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(data.astype(dtype), 1)
    return path


def block_polygon(r0, r1, c0, c1, t=T):
    return shapely.box(t.c + c0 * t.a, t.f + r1 * t.e, t.c + c1 * t.a, t.f + r0 * t.e)


def cores_gdf(crs="EPSG:9377", with_point=True):
    geoms = [block_polygon(*b) for b in BLOCKS]
    names = ["Núcleo norte", "Núcleo sur", "Núcleo este"]
    if with_point:
        r, c = POINT_CELL
        geoms.append(shapely.Point(X0 + (c + 0.5) * CELL, Y1 - (r + 0.5) * CELL))
        names.append("Punto")
    return gpd.GeoDataFrame({"nombre": names}, geometry=geoms, crs="EPSG:9377").to_crs(crs)


def core_masks(with_point=True):
    masks = []
    for r0, r1, c0, c1 in BLOCKS:
        m = np.zeros((ROWS, COLS), bool)
        m[r0:r1, c0:c1] = True
        masks.append(m)
    if with_point:
        m = np.zeros((ROWS, COLS), bool)
        m[POINT_CELL] = True
        masks.append(m)
    return masks


def reference_cwd(res, mask):
    """MCP_Geometric: step cost = length × mean of the two cells' costs (√2 on diagonals), 0 inside the start set."""
    costs = np.where(np.isfinite(res), res, np.inf)
    mcp = MCP_Geometric(costs, fully_connected=True, sampling=(CELL, CELL))
    cwd, _ = mcp.find_costs(list(zip(*np.nonzero(mask))))
    return cwd


@pytest.fixture
def files(tmp_path):
    res = resistance_array()
    tif = write_tif(tmp_path / "resistencia.tif", res)
    gpkg = tmp_path / "nucleos.gpkg"
    cores_gdf().to_file(gpkg, driver="GPKG")
    return res, tif, gpkg


def test_command_on_files_writes_per_core_cwd_equal_to_mcp_geometric(files, tmp_path, media):
    res, tif, gpkg = files
    out = tmp_path / "salida"
    call_command("corridors", "--cores", str(gpkg), "--resistance", str(tif), "--cell-size", str(CELL),
                 "--width", "1000000000", "--no-pinch", "--project", "valle", "--output", str(out))
    for i, mask in enumerate(core_masks(), start=1):
        with rasterio.open(out / f"cwd_{i}.tif") as src:
            cwd = src.read(1)
            # on the input grid: same CRS, transform and shape, no resampling
            assert src.crs.to_epsg() == 9377 and src.transform == T and cwd.shape == (ROWS, COLS)
            assert src.dtypes[0] == "float64"
        ref = reference_cwd(res, mask)
        reach = np.isfinite(ref)
        assert np.array_equal(cwd >= 0, reach), f"core {i}: reachable cells differ"
        assert np.all(cwd[mask] == 0)
        np.testing.assert_allclose(cwd[reach], ref[reach], rtol=1e-9, atol=0)
    # Linkage Mapper names and columns
    for name in ("valle_corridors.tif", "valle_corridors_truncated_at_1000m.tif", "valle_linkTable.csv",
                 "valle_link_maps.gpkg", "valle_resistance.tif", "informe.json"):
        assert (out / name).is_file(), name
    text = (out / "valle_linkTable.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(text.splitlines(), delimiter=";" if ";" in text.splitlines()[0] else ","))
    assert rows and {"Link_ID", "Core1", "Core2", "Euc_Dist", "CW_Dist", "LCP_Length", "cwd_to_Euc", "cwd_to_Path",
                     "Link_Type"} <= set(rows[0])
    lcps = gpd.read_file(out / "valle_link_maps.gpkg", layer="valle_LCPs")
    assert "Link_Type" in lcps.columns and lcps.crs.to_epsg() == 9377
    # the link's CW_Dist is the minimum of one core's CWD over the other's cells (independent MCP figure)
    masks = core_masks()
    for row in rows:
        if row["Link_Type"] == "1":
            a, b = int(row["Core1"]), int(row["Core2"])
            lcd = reference_cwd(res, masks[a - 1])[masks[b - 1]].min()
            assert float(row["CW_Dist"].replace(",", ".")) == pytest.approx(lcd, rel=1e-6)


def test_native_grid_in_magna_sirgas_west_is_not_reprojected(tmp_path, media):
    """A raster in EPSG:3115 (MAGNA-SIRGAS Colombia Oeste) is analysed in EPSG:3115 on its own cells."""
    t = Affine(CELL, 0, 1_050_000.0, 0, -CELL, 900_000.0)
    res = resistance_array(3)
    tif = write_tif(tmp_path / "r3115.tif", res, crs="EPSG:3115", transform=t)
    gdf = gpd.GeoDataFrame({"nombre": ["a", "b"]}, geometry=[block_polygon(*BLOCKS[0], t=t), block_polygon(*BLOCKS[1], t=t)],
                           crs="EPSG:3115")
    gdf.to_file(tmp_path / "c.geojson", driver="GeoJSON")
    cores = {"file": inputs.store(tmp_path / "c.geojson", "c.geojson", "cores")}
    spec = {"raster": inputs.store(tif, "r3115.tif", "resistance")}
    rep = run_corridors(cores, spec, None, 1e9, out_dir=tmp_path / "o", pinch=False)
    assert rep.grid["crs"] == "EPSG:3115" and rep.grid["rows"] == ROWS and rep.grid["cell_size"] == CELL
    assert any("sin remuestreo" in n for n in rep.notes)
    with rasterio.open(tmp_path / "o" / "cwd_1.tif") as src:
        assert src.crs.to_epsg() == 3115 and src.transform == t
        cwd = src.read(1)
    ref = reference_cwd(res, core_masks()[0])
    reach = np.isfinite(ref)
    np.testing.assert_allclose(cwd[reach], ref[reach], rtol=1e-9)


def test_asked_cell_size_resamples_with_a_note(files, tmp_path, media):
    res, tif, gpkg = files
    cores = {"file": inputs.store(gpkg, "nucleos.gpkg", "cores")}
    spec = {"raster": inputs.store(tif, "resistencia.tif", "resistance")}
    rep = run_corridors(cores, spec, 200, 1e9, out_dir=tmp_path / "o", pinch=False)
    assert rep.grid["cell_size"] == 200 and rep.grid["rows"] == ROWS // 2 and rep.grid["cols"] == COLS // 2
    assert any("Remuestreo pedido" in n for n in rep.notes)


def test_land_cover_with_class_table(tmp_path, media):
    classes = np.tile(np.array([1, 2, 3, 4], np.float64), (ROWS, COLS // 4))
    tif = write_tif(tmp_path / "cobertura.tif", classes, nodata=0, dtype="uint8")
    (tmp_path / "tabla.csv").write_text("clase;resistencia\n1;1\n2;2,5\n3;10\n4;100\n", encoding="utf-8")
    gpkg = tmp_path / "n.gpkg"
    cores_gdf(with_point=False).to_file(gpkg, driver="GPKG")
    cores = {"file": inputs.store(gpkg, "n.gpkg", "cores")}
    spec = {"raster": inputs.store(tif, "cobertura.tif", "landcover"), "table": inputs.store(tmp_path / "tabla.csv",
                                                                                          "tabla.csv", "table")}
    run_corridors(cores, spec, None, 1e9, out_dir=tmp_path / "o", pinch=False, project="lc")
    expected = np.choose(classes.astype(int) - 1, [1.0, 2.5, 10.0, 100.0])
    with rasterio.open(tmp_path / "o" / "lc_resistance.tif") as src:
        np.testing.assert_allclose(src.read(1), expected, rtol=1e-7)
    with rasterio.open(tmp_path / "o" / "cwd_2.tif") as src:
        cwd = src.read(1)
    ref = reference_cwd(expected, core_masks(False)[1])
    np.testing.assert_allclose(cwd, ref, rtol=1e-9)


def test_zipped_shapefile_cores(files, tmp_path, media):
    res, tif, _ = files
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    cores_gdf(crs="EPSG:4326", with_point=False).to_file(shp_dir / "nucleos.shp")
    with zipfile.ZipFile(tmp_path / "nucleos.zip", "w") as z:
        for f in shp_dir.iterdir():
            z.write(f, f.name)
    ref = inputs.store(tmp_path / "nucleos.zip", "nucleos.zip", "cores")
    gdf = inputs.read_cores(*inputs.resolve(ref, "cores"))
    assert list(gdf["_name"]) == ["Núcleo norte", "Núcleo sur", "Núcleo este"] and gdf.crs.to_epsg() == 4326


# ------------------------------------------------------------------------------------------- refusals


def _call(*args):
    with pytest.raises(CommandError) as exc:
        call_command("corridors", *args)
    return str(exc.value)


def test_command_refuses_bad_inputs_in_spanish(files, tmp_path, media):
    res, tif, gpkg = files
    out = str(tmp_path / "o")
    # a GeoTIFF whose name says JSON (was a UnicodeDecodeError traceback): a clear message
    fake = tmp_path / "receta.json"
    fake.write_bytes(tif.read_bytes())
    assert "JSON no válido" in _call("--cores", str(gpkg), "--resistance", str(fake), "--cell-size", "100", "--output", out)
    # wrong type of file for the resistance
    txt = tmp_path / "r.asc"
    txt.write_text("ncols 2")
    assert "GeoTIFF" in _call("--cores", str(gpkg), "--resistance", str(txt), "--output", out)
    # a text file named .tif: refused by the safe readers
    bad = tmp_path / "falso.tif"
    bad.write_text("hola")
    assert "no es un GeoTIFF" in _call("--cores", str(gpkg), "--resistance", str(bad), "--output", out)
    # cores of the wrong type
    assert "extensiones válidas" in _call("--cores", str(tif), "--resistance", str(tif), "--output", out)
    assert not (tmp_path / "o").exists()


def test_resistance_values_le_zero_counted_and_located(tmp_path, media):
    r = resistance_array()
    r[5, 7] = 0.0
    r[20, 30] = -2.0
    tif = write_tif(tmp_path / "r.tif", r)
    with pytest.raises(InvalidParameter) as exc:
        inputs.read_raster(tif, "r.tif")
    msg = exc.value.message
    assert "2 celda(s) con valor ≤ 0" in msg and "fila 6, columna 8" in msg
    x0, x1 = X0 + 7 * CELL, X0 + 31 * CELL
    assert f"x {x0:.1f}–{x1:.1f}" in msg


def test_raster_without_crs_nodata_only_and_geographic(tmp_path, media):
    r = resistance_array()
    with rasterio.open(tmp_path / "sin.tif", "w", driver="GTiff", width=COLS, height=ROWS, count=1,
                       dtype="float64", transform=T) as dst:
        dst.write(np.nan_to_num(r, nan=1.0), 1)
    with pytest.raises(CRSMismatch, match="no declara su sistema de referencia"):
        inputs.read_raster(tmp_path / "sin.tif", "sin.tif")
    write_tif(tmp_path / "vacio.tif", np.full((ROWS, COLS), np.nan))
    with pytest.raises(DataFileError, match="ninguna celda con dato"):
        inputs.read_raster(tmp_path / "vacio.tif", "vacio.tif")
    # geographic CRS: no metric cell of its own, so a cell size must be asked for
    geo = write_tif(tmp_path / "geo.tif", r, crs="EPSG:4326", transform=Affine(0.001, 0, -76.6, 0, -0.001, 3.5))
    gpkg = tmp_path / "n.gpkg"
    gpd.GeoDataFrame({"nombre": ["a", "b"]}, geometry=[shapely.Point(-76.59, 3.49), shapely.Point(-76.57, 3.48)],
                     crs=4326).to_file(gpkg, driver="GPKG")
    cores = {"file": inputs.store(gpkg, "n.gpkg", "cores")}
    spec = {"raster": inputs.store(geo, "geo.tif", "resistance")}
    with pytest.raises(CRSMismatch, match="no mide en metros"):
        run_corridors(cores, spec, None, 1e9, out_dir=tmp_path / "o", pinch=False)
    rep = run_corridors(cores, spec, 100, 1e9, out_dir=tmp_path / "o2", pinch=False)
    assert rep.grid["crs"] == "EPSG:9377" and any("no en metros" in n for n in rep.notes)


def test_cores_outside_the_raster(files, tmp_path, media):
    res, tif, _ = files
    gdf = cores_gdf(with_point=False)
    gdf.loc[2, "geometry"] = shapely.Point(X0 - 5000, Y1 + 5000)
    gdf.to_file(tmp_path / "fuera.gpkg", driver="GPKG")
    cores = {"file": inputs.store(tmp_path / "fuera.gpkg", "fuera.gpkg", "cores")}
    spec = {"raster": inputs.store(tif, "resistencia.tif", "resistance")}
    with pytest.raises(OutsideValle, match="Núcleo este"):
        run_corridors(cores, spec, None, 1e9, out_dir=tmp_path / "o", pinch=False)


def test_class_table_errors(tmp_path, media):
    classes = np.tile(np.array([1, 2, 3, 4], np.float64), (ROWS, COLS // 4))
    grid = inputs.read_raster(write_tif(tmp_path / "c.tif", classes, nodata=0, dtype="uint8"), "c.tif", classes=True)
    with pytest.raises(InvalidParameter) as exc:
        inputs.classes_to_resistance(grid, {1.0: 1.0, 2.0: 2.0, 3.0: 3.0}, "c.tif", "t.csv")
    assert "4 (" in exc.value.message and "primera en fila 1, columna 4" in exc.value.message
    bad = tmp_path / "t.csv"
    bad.write_text("clase,resistencia\n1,1\n2,dos\n")
    with pytest.raises(DataFileError, match="fila 3: «dos» no es un número"):
        inputs.read_table(bad, "t.csv")
    bad.write_text("1;0\n")
    with pytest.raises(DataFileError, match="debe ser > 0"):
        inputs.read_table(bad, "t.csv")
    bad.write_text("1;2\n1;3\n")
    with pytest.raises(DataFileError, match="repetida"):
        inputs.read_table(bad, "t.csv")
    ok = tmp_path / "ok.csv"
    ok.write_text("1;1,5\n2;1.000,5\n3;2.5\n")  # decimal comma (Excel es-CO) or point
    assert inputs.read_table(ok, "ok.csv") == {1.0: 1.5, 2.0: 1000.5, 3.0: 2.5}


def test_a_ref_is_never_a_path(media):
    with pytest.raises(InvalidParameter, match="Referencia de archivo no válida"):
        inputs.resolve({"file": "../../etc/passwd"}, "resistance")
    with pytest.raises(InvalidParameter):
        inputs.resolve({"file": "0" * 32 + ".gpkg"}, "resistance")


# ------------------------------------------------------------------------------------------- API


def _upload(client, path, kind, name=None):
    with open(path, "rb") as fh:
        data = {"kind": kind, "file": fh}
        if name:
            fh.name = name
        return client.post("/api/v1/corridors/inputs/", data)


def test_upload_needs_a_cvc_role_before_reading_the_file(files, client, make_user, media):
    _, tif, _ = files
    assert _upload(client, tif, "resistance").status_code == 403
    client.force_login(make_user("sin-rol"))
    r = _upload(client, tif, "resistance")
    assert r.status_code == 403 and "Analista CVC" in r.json()["detail"]
    assert not inputs.store_root().exists()


def test_upload_refuses_each_bad_file_in_spanish(files, tmp_path, client, make_user, media):
    res, tif, gpkg = files
    client.force_login(make_user("analista", "Analista CVC"))
    cases = []
    cases.append((_upload(client, tif, "magia"), 400, "«kind» no admite"))
    cases.append((_upload(client, tif, "cores"), 400, "no sirve como núcleos"))
    txt = tmp_path / "falso.tif"
    txt.write_text("no soy un tiff")
    cases.append((_upload(client, txt, "resistance"), 422, "no es un GeoTIFF"))
    with rasterio.open(tmp_path / "sincrs.tif", "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       transform=T) as dst:
        dst.write(np.ones((4, 4), np.float32), 1)
    cases.append((_upload(client, tmp_path / "sincrs.tif", "resistance"), 422, "no declara su sistema de referencia"))
    write_tif(tmp_path / "vacio.tif", np.full((4, 4), np.nan))
    cases.append((_upload(client, tmp_path / "vacio.tif", "resistance"), 422, "ninguna celda con dato"))
    r = res.copy()
    r[2, 3] = -1
    write_tif(tmp_path / "neg.tif", r)
    cases.append((_upload(client, tmp_path / "neg.tif", "resistance"), 400, "1 celda(s) con valor ≤ 0"))
    (tmp_path / "t.csv").write_text("1;uno\n")
    cases.append((_upload(client, tmp_path / "t.csv", "table"), 422, "«uno» no es un número"))
    (tmp_path / "lin.geojson").write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
                                          '"geometry":{"type":"LineString","coordinates":[[-76.5,3.4],[-76.4,3.5]]}}]}')
    cases.append((_upload(client, tmp_path / "lin.geojson", "cores"), 400, "deben ser polígonos o puntos"))
    for resp, status, text in cases:
        assert resp.status_code == status and text in resp.json()["detail"], (status, resp.content.decode())
    assert not inputs.store_root().exists() or not any(inputs.store_root().iterdir())


def test_api_run_on_uploaded_files(files, tmp_path, client, make_user, settings, media):
    res, tif, gpkg = files
    settings.CORRIDORS_BACKGROUND = False
    client.force_login(make_user("analista", "Analista CVC"))
    cores = _upload(client, gpkg, "cores").json()
    raster = _upload(client, tif, "resistance").json()
    assert raster["file"].endswith(".tif") and raster["name"] == "resistencia.tif"
    body = {"cores": {"file": {"file": cores["file"], "name": cores["name"]}},
            "resistance": {"raster": {"file": raster["file"], "name": raster["name"]}},
            "width": 1e9, "pinch": False, "project": "api"}
    # cores outside the raster: a 400 before any run exists
    far = cores_gdf(with_point=False)
    far.loc[0, "geometry"] = shapely.Point(X0 - 10_000, Y1)
    far.to_file(tmp_path / "lejos.gpkg", driver="GPKG")
    lejos = _upload(client, tmp_path / "lejos.gpkg", "cores").json()
    bad = client.post("/api/v1/corridors/", {**body, "cores": {"file": {"file": lejos["file"]}}},
                      content_type="application/json")
    assert bad.status_code == 422 and "fuera del ráster «resistencia.tif»" in bad.json()["detail"]
    r = client.post("/api/v1/corridors/", body, content_type="application/json")
    assert r.status_code in (200, 202), r.content
    run = client.get(f"/api/v1/corridors/{r.json()['id']}/").json()
    assert run["status"] == "done", run
    results = client.get(f"/api/v1/corridors/{run['id']}/results/").json()
    assert results["report"]["grid"]["cell_size"] == CELL and results["report"]["grid"]["crs"] == "EPSG:9377"
    assert {"api_linkTable.csv", "api_corridors.tif", "cwd_1.tif"} <= set(results["downloads"])
    got = client.get(f"/api/v1/corridors/{run['id']}/files/cwd_1.tif")
    path = tmp_path / "cwd_1.tif"
    path.write_bytes(b"".join(got.streaming_content))
    with rasterio.open(path) as src:
        cwd = src.read(1)
    ref = reference_cwd(res, core_masks()[0])
    reach = np.isfinite(ref)
    np.testing.assert_allclose(cwd[reach], ref[reach], rtol=1e-9)


def test_registry_raster_as_resistance_is_read_on_its_stored_grid(db, tmp_path, media):
    """A resistance GeoTIFF in EPSG:3115 imported into the registry (stored natively since issue 15) is the
    resistance of a run: analysed on its own cells, equal to MCP_Geometric."""
    from layers.services.importing import import_layer

    t = Affine(CELL, 0, 1_050_000.0, 0, -CELL, 880_000.0)  # near Cali in MAGNA-SIRGAS Colombia Oeste
    res = resistance_array(7)
    import_layer(write_tif(tmp_path / "resistencia-oeste.tif", res, crs="EPSG:3115", transform=t))
    gdf = gpd.GeoDataFrame({"nombre": ["a", "b"]}, geometry=[block_polygon(*BLOCKS[0], t=t), block_polygon(*BLOCKS[2], t=t)],
                           crs="EPSG:3115")
    gdf.to_file(tmp_path / "c.gpkg", driver="GPKG")
    out = tmp_path / "o"
    call_command("corridors", "--cores", str(tmp_path / "c.gpkg"), "--resistance", "resistencia-oeste",
                 "--width", "1000000000", "--no-pinch", "--output", str(out))
    with rasterio.open(out / "cwd_2.tif") as src:
        assert src.crs.to_epsg() == 3115 and src.transform == t
        cwd = src.read(1)
    ref = reference_cwd(res, core_masks(False)[2])
    reach = np.isfinite(ref)
    np.testing.assert_allclose(cwd[reach], ref[reach], rtol=1e-9)
