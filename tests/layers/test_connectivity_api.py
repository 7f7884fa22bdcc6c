"""«Conectividad omnidireccional» through the API and the real job queue: a run on the real registry layers (SRTM
DEM, national roads, populated centres) over a drawn area near Cali, drained by the burst worker; the published
maps equal Omniscape computed directly on the resistance the run used; cache, permissions, bad inputs, cancel
of a RUNNING job within one block, tiles and downloads."""
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from django.conf import settings
from django.core.management import call_command
from pyproj import Transformer

from jobs import services as jobs
from jobs.models import Job
from layers.connectivity import omniscape
from layers.connectivity.models import ConnectivityRun
from layers.connectivity.omniscape import OmniscapeParams, classify_normalized, run_omniscape

RAW = Path(settings.GEOSIG_RAW_DIR)
NEEDED = ("dem-srtm3", "red-vial-nacional", "centros-poblados")
TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)
TO_9377 = Transformer.from_crs(4326, 9377, always_xy=True)


def square(lon, lat, side_m):
    """A square of ``side_m`` in EPSG:9377 around (lon, lat), as a GeoJSON polygon in EPSG:4326."""
    x, y = TO_9377.transform(lon, lat)
    box = shapely.box(x - side_m / 2, y - side_m / 2, x + side_m / 2, y + side_m / 2)
    return shapely.geometry.mapping(shapely.transform(box, lambda xy: np.column_stack(TO_4326.transform(xy[:, 0], xy[:, 1]))))


CALI = square(-76.55, 3.45, 12_000)  # 12 km around Cali, all south of 4°N (on the DEM)
BODY = {"area": {"geojson": CALI}, "resistance": "derivada", "cell_size": 1000, "radius": 4, "block_size": 3}


def drain():
    call_command("geosig_worker", burst=True)


def import_real_layers():
    from layers.services.importing import import_layer
    from layers.services.shipped import SHIPPED

    for e in SHIPPED:
        if e["meta"]["slug"] in NEEDED:
            import_layer(RAW / e["file"], theme=e["theme"], replace=True, metadata=e["meta"])


@pytest.fixture
def real_layers_tx(transactional_db, media):
    import_real_layers()


@pytest.fixture
def real_layers(db, media):
    import_real_layers()


def read(path):
    with rasterio.open(path) as src:
        return src.read(1, masked=True).astype(np.float64).filled(np.nan), src.transform, src.crs


@pytest.mark.django_db(transaction=True)
def test_start_drain_results_equal_omniscape_on_the_same_grid_then_cache(real_layers_tx, client, make_user, media):
    client.force_login(make_user("analista", "Analista CVC"))
    r = client.post("/api/v1/connectivity/", BODY, content_type="application/json")
    assert r.status_code == 202, r.content
    run_id, job_id = r.json()["id"], r.json()["job"]
    assert r.json()["status"] == "queued" and Job.objects.get(pk=job_id).kind == "connectivity"
    drain()
    status = client.get(f"/api/v1/connectivity/{run_id}/").json()
    assert (status["status"], status["progress"]) == ("done", 100), status
    res = client.get(f"/api/v1/connectivity/{run_id}/results/").json()
    folder = Path(media) / "connectivity" / str(run_id)
    resistance, transform, crs = read(folder / "resistencia.tif")
    assert crs.to_epsg() == 9377 and transform.a == 1000 and 12 <= min(resistance.shape) <= max(resistance.shape) <= 13
    assert np.isfinite(resistance).sum() >= 140  # the 12 × 12 km square, all on the DEM

    # Independent of the pipeline: Omniscape on the resistance grid the run wrote, with the same options.
    ref = run_omniscape(resistance, None, OmniscapeParams(radius=4, block_size=3, source_from_resistance=True,
                                                          calc_flow_potential=True, calc_normalized_current=True))
    for name, expected in (("cum_currmap.tif", ref.cum_currmap), ("flow_potential.tif", ref.flow_potential),
                           ("normalized_cum_currmap.tif", ref.normalized)):
        got, t2, _ = read(folder / name)
        assert t2 == transform
        np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True, err_msg=name)
    classes, *_ = read(folder / "clases_corriente_normalizada.tif")
    want = classify_normalized(ref.normalized).astype(np.float64)
    want[want < 0] = np.nan
    np.testing.assert_array_equal(classes, want)
    # counted from what was stored: class shares = the cells of the class GeoTIFF
    assert [c["cells"] for c in res["classes"]] == [int(np.sum(classes == i)) for i in range(4)]
    assert sum(c["cells"] for c in res["classes"]) == int(np.isfinite(classes).sum()) > 50
    assert set(res["maps"]) == {"corriente", "potencial", "normalizada", "clases"}
    assert [c["label"] for c in res["maps"]["clases"]["legend"]] == ["Impedido", "Difuso", "Canalizado", "Intensificado"]
    notes = " ".join(res["notes"])
    assert "Resistencia derivada" in notes and "1 / resistencia" in notes and "efecto de borde" in notes
    # downloads and tiles
    tif = client.get(res["downloads"]["cum_currmap.tif"])
    assert tif.status_code == 200 and b"".join(tif.streaming_content if tif.streaming else [tif.content])[:2] in (b"II", b"MM")
    z, x, y = 12, *tile_of(-76.55, 3.45, 12)
    png = client.get(f"/api/v1/connectivity/{run_id}/tiles/clases/{z}/{x}/{y}.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert client.get(f"/api/v1/connectivity/{run_id}/tiles/otro/{z}/{x}/{y}.png").status_code == 404

    # The same request again: the finished run at once (200, same id, no new job); anonymous may read it.
    again = client.post("/api/v1/connectivity/", BODY, content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == run_id and again.json()["cached"] is True
    assert Job.objects.filter(kind="connectivity").count() == 1 and ConnectivityRun.objects.count() == 1
    client.logout()
    assert client.get(f"/api/v1/connectivity/{run_id}/results/").status_code == 200


def tile_of(lon, lat, z):
    import math

    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.mark.django_db
@pytest.mark.parametrize("who, status", [(None, 403), ("sin-rol", 403)])
def test_starting_needs_the_role_before_the_body_is_read(client, make_user, who, status):
    if who:
        client.force_login(make_user(who))
    r = client.post("/api/v1/connectivity/", "esto no es JSON", content_type="application/json")
    assert r.status_code == status and r.json()["error"] == "permission_denied", r.content
    assert not ConnectivityRun.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("change, text", [
    ({"radius": 0}, "«radius»"),
    ({"block_size": 4}, "debe ser impar"),
    ({"area": {"kind": "vereda", "codes": ["1"]}}, "departamento, municipio, subregion"),
    ({"area": None}, "Falta «area»"),
    ({"cell_size": 30, "area": {"kind": "departamento"}}, "celdas de al menos"),
    ({"resistance": "otra"}, "«resistance» no admite"),
    ({"otro": 1}, "Parámetros desconocidos: otro"),
])
def test_bad_inputs_are_spanish_400s_and_store_nothing(client, make_user, territory, change, text):
    client.force_login(make_user("analista", "Analista CVC"))
    r = client.post("/api/v1/connectivity/", {**BODY, **change}, content_type="application/json")
    assert r.status_code == 400, r.content
    assert text in r.json()["detail"], r.json()
    assert not ConnectivityRun.objects.exists() and not Job.objects.exists()


@pytest.mark.django_db
def test_too_many_cells_names_the_count_and_the_cell_that_fits(client, make_user, territory, settings):
    settings.CONNECTIVITY_MAX_CELLS = 1000
    client.force_login(make_user("analista", "Analista CVC"))
    r = client.post("/api/v1/connectivity/", {**BODY, "area": {"kind": "municipio", "codes": ["76001"]},
                                              "cell_size": 100}, content_type="application/json")
    assert r.status_code == 400
    detail = r.json()["detail"]
    # Cali's bounding box in EPSG:9377 at 100 m, counted independently
    from territorial.models import Municipality

    g = Municipality.objects.get(divipola="76001").geom.transform(9377, clone=True)
    x0, y0, x1, y1 = g.extent
    import math

    cols = math.ceil((x1 - math.floor(x0 / 100) * 100) / 100)
    rows = math.ceil((math.ceil(y1 / 100) * 100 - y0) / 100)
    assert f"{rows * cols:,}".replace(",", ".") in detail and "celdas de al menos" in detail
    assert str(math.ceil(100 * math.sqrt(rows * cols / 1000))) in detail


@pytest.mark.django_db
def test_other_users_run_on_uploaded_files_is_hidden_and_cancel_is_the_owners(client, make_user):
    owner, other = make_user("duena", "Analista CVC"), make_user("otro", "Analista CVC")
    job = jobs.enqueue("connectivity", {"run": 0}, owner=owner)
    run = ConnectivityRun.objects.create(cache_key="a" * 64, params={"radius": 1}, owner=owner, job=job, public=False)
    client.force_login(other)
    assert client.get(f"/api/v1/connectivity/{run.pk}/").status_code == 404
    assert client.post(f"/api/v1/connectivity/{run.pk}/cancel/").status_code == 404
    pub = ConnectivityRun.objects.create(cache_key="b" * 64, params={"radius": 1}, owner=owner, job=job, public=True)
    assert client.get(f"/api/v1/connectivity/{pub.pk}/").status_code == 200
    assert client.post(f"/api/v1/connectivity/{pub.pk}/cancel/").status_code == 403
    client.logout()
    assert client.post(f"/api/v1/connectivity/{pub.pk}/cancel/").status_code == 403
    client.force_login(owner)
    r = client.post(f"/api/v1/connectivity/{pub.pk}/cancel/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"  # queued: cancelled at once
    assert client.post(f"/api/v1/connectivity/{pub.pk}/cancel/").status_code == 409


@pytest.mark.django_db(transaction=True)
def test_cancel_of_a_running_job_stops_within_one_block(real_layers_tx, client, make_user, media, monkeypatch,
                                                        settings):
    """The cancel is asked (as the API does) while the job runs, right after its first target block: the next
    block is not solved; the job ends cancelled and nothing is published."""
    user = make_user("analista", "Analista CVC")
    client.force_login(user)
    r = client.post("/api/v1/connectivity/", {**BODY, "radius": 3, "block_size": 1}, content_type="application/json")
    run_id, job_id = r.json()["id"], r.json()["job"]
    solved, at_cancel = [], []
    real = omniscape._one_target

    def counting(*args, **kwargs):
        out = real(*args, **kwargs)
        solved.append(1)
        if len(solved) == 1:
            from django.db import connection

            jobs.cancel(Job.objects.get(pk=job_id), user)  # the API's cancel, committed, from a solving thread
            at_cancel.append(len(solved))
            connection.close()  # this pool thread's own connection
        return out

    monkeypatch.setattr(omniscape, "_one_target", counting)
    settings.CONNECTIVITY_THREADS = 2
    drain()
    job = Job.objects.get(pk=job_id)
    assert job.state == "cancelled" and job.cancel_requested
    # ~144 targets (block 1 on the 12 × 12 cells); once the cancel is committed each of the 2 threads finishes
    # at most the block it is solving: the flag is read before every block
    assert len(solved) - at_cancel[0] <= 2 and len(solved) < 100, (len(solved), at_cancel)
    assert not (Path(media) / "connectivity" / str(run_id)).exists() and not list((Path(media) / "jobs").glob(".tmp-*"))
    assert client.get(f"/api/v1/connectivity/{run_id}/").json()["status"] == "cancelled"
    # cancelled runs start again on the same row (a new job), not from a cache
    again = client.post("/api/v1/connectivity/", {**BODY, "radius": 3, "block_size": 1}, content_type="application/json")
    assert again.status_code == 202 and again.json()["id"] == run_id and again.json()["job"] != job_id


def test_schema_lists_the_endpoints(client, db):
    paths = client.get("/api/v1/schema/", {"format": "json"}).json()["paths"]
    for p in ("/api/v1/connectivity/", "/api/v1/connectivity/{id}/", "/api/v1/connectivity/{id}/cancel/",
              "/api/v1/connectivity/{id}/results/", "/api/v1/connectivity/{id}/files/{name}",
              "/api/v1/connectivity/{id}/tiles/{map}/{z}/{x}/{y}.png"):
        assert p in paths, p


@pytest.mark.django_db(transaction=True)
def test_uploaded_resistance_raster_runs_on_its_own_grid_and_stays_private(client, make_user, media, tmp_path):
    """A resistance GeoTIFF (EPSG:9377, 100 m) uploaded through the corridors' inputs endpoint: no area needed, the
    run is on the raster's own grid, and the maps equal Omniscape on the very array that was uploaded."""
    rng = np.random.default_rng(7)
    values = rng.uniform(1, 20, (15, 18))
    values[4, 5:9] = np.nan  # a nodata barrier
    path = tmp_path / "resistencia.tif"
    x0, y0 = TO_9377.transform(-76.55, 3.45)
    with rasterio.open(path, "w", driver="GTiff", width=18, height=15, count=1, dtype="float64", crs="EPSG:9377",
                       transform=rasterio.transform.from_origin(round(x0, -2), round(y0, -2), 100, 100),
                       nodata=-9999) as dst:
        dst.write(np.where(np.isfinite(values), values, -9999), 1)
    owner = make_user("analista", "Analista CVC")
    client.force_login(owner)
    with open(path, "rb") as f:
        ref = client.post("/api/v1/corridors/inputs/", {"kind": "resistance", "file": f}).json()
    body = {"resistance": {"raster": {"file": ref["file"], "name": ref["name"]}}, "radius": 3, "block_size": 1}
    r = client.post("/api/v1/connectivity/", body, content_type="application/json")
    assert r.status_code == 202, r.content
    drain()
    run = ConnectivityRun.objects.get(pk=r.json()["id"])
    assert run.public is False and client.get(f"/api/v1/connectivity/{run.pk}/").json()["status"] == "done"
    ref_res = run_omniscape(values, None, OmniscapeParams(radius=3, source_from_resistance=True,
                                                          calc_flow_potential=True, calc_normalized_current=True))
    folder = Path(media) / "connectivity" / str(run.pk)
    for name, expected in (("cum_currmap.tif", ref_res.cum_currmap), ("normalized_cum_currmap.tif", ref_res.normalized)):
        got, transform, crs = read(folder / name)
        assert crs.to_epsg() == 9377 and transform.a == 100 and got.shape == (15, 18)
        np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True, err_msg=name)
    client.force_login(make_user("otra", "Analista CVC"))
    assert client.get(f"/api/v1/connectivity/{run.pk}/results/").status_code == 404  # uploaded data: owner only


@pytest.mark.django_db
def test_an_area_beyond_the_dem_is_computed_where_it_has_data_and_labelled_partial(real_layers, tmp_path):
    """A square across 4°N: the DEM (south of 4°N) covers only part of it; the run says PARCIAL with the share."""
    from layers.connectivity import analysis, runs

    params = runs.normalise({**BODY, "area": {"geojson": square(-76.3, 4.0, 16_000)}, "cell_size": 2000,
                             "radius": 2, "block_size": 1})
    report = analysis.run_connectivity(params, tmp_path / "out")
    res, *_ = read(tmp_path / "out" / "resistencia.tif")
    cum, *_ = read(tmp_path / "out" / "cum_currmap.tif")
    assert report["partial"] is True and 0.2 < report["missing_share"] < 0.8
    assert any(n.startswith("PARCIAL") and "4°N" in n for n in report["notes"])
    assert np.array_equal(np.isfinite(cum), np.isfinite(res))  # results exactly where there is resistance


@pytest.mark.django_db
def test_with_geosig_dask_the_windows_run_on_a_dask_cluster_with_the_same_numbers(real_layers, tmp_path, settings):
    distributed = pytest.importorskip("distributed")
    from layers.connectivity import analysis, runs

    params = runs.normalise({**BODY, "radius": 3, "block_size": 1})
    threaded = analysis.run_connectivity(params, tmp_path / "hilos")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  host="127.0.0.1") as cluster:
        settings.GEOSIG_DASK, settings.GEOSIG_DASK_SCHEDULER = True, cluster.scheduler_address
        settings.GEOSIG_SHARED_DIR = str(tmp_path / "compartida")
        seen = []
        real = distributed.Client.map

        def spy(self, fn, *args, **kwargs):
            seen.append(len(args[0]))
            return real(self, fn, *args, **kwargs)

        distributed.Client.map = spy
        try:
            on_dask = analysis.run_connectivity(params, tmp_path / "dask")
        finally:
            distributed.Client.map = real
            from layers.distributed import close_clients

            close_clients()
    assert seen and seen[0] >= 1  # the batches went to the cluster
    assert on_dask["omniscape"]["targets"] == threaded["omniscape"]["targets"] > 100
    for name in ("cum_currmap.tif", "flow_potential.tif", "normalized_cum_currmap.tif"):
        a, *_ = read(tmp_path / "hilos" / name)
        b, *_ = read(tmp_path / "dask" / name)
        np.testing.assert_allclose(b, a, rtol=1e-12, equal_nan=True, err_msg=name)


@pytest.mark.django_db(transaction=True)
def test_parallel_identical_starts_make_one_run_and_one_job(make_user, monkeypatch):
    import threading
    import time

    from django.db import connections

    from layers.connectivity import runs

    user = make_user("analista", "Analista CVC")
    create = ConnectivityRun.objects.create

    def slow_create(**kw):
        time.sleep(0.5)  # both requests pass the lookup before either inserts, as on a loaded server
        return create(**kw)

    monkeypatch.setattr(ConnectivityRun.objects, "create", slow_create)
    out, barrier = [], threading.Barrier(2)

    def start():
        try:
            barrier.wait()
            out.append(runs.start_run(dict(BODY), user))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=start) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert len(out) == 2 and out[0][0].pk == out[1][0].pk
    assert sorted(cached for _, cached in out) == [False, True]
    assert ConnectivityRun.objects.count() == 1 and Job.objects.filter(kind="connectivity").count() == 1
