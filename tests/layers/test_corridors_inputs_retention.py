"""The corridor input store shrinks: the worker's cleanup (at start, each reclaim pass, ``geosig_worker --cleanup``)
removes uploaded files older than CORRIDOR_INPUTS_RETENTION_HOURS that no queued or running job reads, and keeps
recent ones and those a queued run (corridors, connectivity) or an active job names."""
import hashlib
import os
import time

import pytest
from django.core.management import call_command

from jobs.models import Job
from layers.connectivity.models import ConnectivityRun
from layers.corridors import inputs
from layers.corridors.models import CorridorRun

pytestmark = pytest.mark.django_db
HOUR = 3600


def stored(name_seed: str, ext: str, age_hours: float) -> str:
    """A file in the store named as the store names it (sha256[:32] + extension), modified ``age_hours`` ago."""
    ref = hashlib.sha256(name_seed.encode()).hexdigest()[:32] + ext
    path = inputs.store_root() / ref
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(name_seed.encode() * 10)
    t = time.time() - age_hours * HOUR
    os.utime(path, (t, t))
    return ref


def present(ref: str) -> bool:
    return (inputs.store_root() / ref).is_file()


def test_old_unreferenced_removed_recent_and_referenced_kept(media, settings, client, make_user, tmp_path):
    settings.CORRIDOR_INPUTS_RETENTION_HOURS = 48
    # a real upload through the API, then aged: the cleanup knows the store's own names
    client.force_login(make_user("analista", "Analista CVC"))
    csv = tmp_path / "clases.csv"
    csv.write_text("clase;resistencia\n1;10\n2;50\n", encoding="utf-8")
    with open(csv, "rb") as f:
        uploaded = client.post("/api/v1/corridors/inputs/", {"kind": "table", "file": f}).json()["file"]
    t = time.time() - 49 * HOUR
    os.utime(inputs.store_root() / uploaded, (t, t))

    recent = stored("reciente", ".tif", 47)
    old_queued_corridor = stored("nucleos-en-cola", ".gpkg", 100)
    old_running_corridor = stored("resistencia-en-curso", ".tif", 100)
    old_done_corridor = stored("nucleos-terminada", ".zip", 100)
    old_queued_connectivity = stored("resistencia-omniscape", ".tif", 100)
    old_failed_connectivity = stored("resistencia-omniscape-fallida", ".tif", 100)
    old_in_job_params = stored("habitat-circuitscape", ".asc", 100)
    partial = ".%s.tif.0123abcd" % hashlib.sha256(b"a medias").hexdigest()[:32]
    (inputs.store_root() / partial).write_bytes(b"x")
    os.utime(inputs.store_root() / partial, (t, t))

    CorridorRun.objects.create(inputs_hash="a", status=CorridorRun.Status.PENDING,
                               params={"cores": {"file": {"file": old_queued_corridor, "name": "n.gpkg"}}})
    CorridorRun.objects.create(inputs_hash="b", status=CorridorRun.Status.RUNNING,
                               params={"resistance": {"raster": {"file": old_running_corridor}, "table": None}})
    CorridorRun.objects.create(inputs_hash="c", status=CorridorRun.Status.DONE,
                               params={"cores": {"file": {"file": old_done_corridor}}})
    queued = Job.objects.create(kind="connectivity", state=Job.State.QUEUED, params={"run": 1})
    ConnectivityRun.objects.create(cache_key="k1", job=queued,
                                   params={"resistance": {"raster": {"file": old_queued_connectivity, "name": "r.tif"}}})
    failed = Job.objects.create(kind="connectivity", state=Job.State.FAILED, params={"run": 2})
    ConnectivityRun.objects.create(cache_key="k2", job=failed,
                                   params={"resistance": {"raster": {"file": old_failed_connectivity}}})
    Job.objects.create(kind="circuitscape", state=Job.State.RUNNING,
                       params={"options": {"habitat": {"file": old_in_job_params, "name": "h.asc"}}})

    call_command("geosig_worker", cleanup=True)

    assert not present(uploaded) and not present(old_done_corridor) and not present(old_failed_connectivity)
    assert not (inputs.store_root() / partial).exists()
    for ref in (recent, old_queued_corridor, old_running_corridor, old_queued_connectivity, old_in_job_params):
        assert present(ref), ref


def test_the_setting_sets_the_age(media, settings):
    from layers.services.input_retention import remove_stale_inputs

    two_hours, half_hour = stored("dos-horas", ".csv", 2), stored("media-hora", ".csv", 0.5)
    settings.CORRIDOR_INPUTS_RETENTION_HOURS = 3
    assert remove_stale_inputs()["removed"] == 0 and present(two_hours)
    settings.CORRIDOR_INPUTS_RETENTION_HOURS = 1
    report = remove_stale_inputs()
    assert report["removed"] == 1 and report["bytes"] == len(b"dos-horas" * 10)
    assert not present(two_hours) and present(half_hour)


def test_registered_as_a_worker_cleanup():
    from jobs import registry

    assert "corridor-inputs" in registry.CLEANUPS


def test_uploading_the_same_file_again_restarts_its_clock(media, settings, client, make_user, tmp_path):
    """The store names files by content: a re-upload of an old file must not leave it to be removed as old."""
    from layers.services.input_retention import remove_stale_inputs

    settings.CORRIDOR_INPUTS_RETENTION_HOURS = 48
    client.force_login(make_user("analista", "Analista CVC"))
    csv = tmp_path / "clases.csv"
    csv.write_text("clase;resistencia\n1;10\n", encoding="utf-8")

    def up():
        with open(csv, "rb") as f:
            return client.post("/api/v1/corridors/inputs/", {"kind": "table", "file": f}).json()["file"]

    ref = up()
    t = time.time() - 100 * HOUR
    os.utime(inputs.store_root() / ref, (t, t))
    assert up() == ref  # same content, same name
    assert remove_stale_inputs()["removed"] == 0 and present(ref)
