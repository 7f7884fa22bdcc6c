"""backup / restore: a real round trip into a NEW database (territory, an edited POT plan, a raster layer),
compared table by table, geometry by geometry and file by file with queries written here; and the refusals
(backup from newer code, non-empty target, tampered archive) leave the target as it was."""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tests.territorial.test_pot_fixtures import cabecera_m, cali_plan, fc, pot_users, square_feature  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
RESTORE_DB = "test_geosig_ops_restore"


# ------------------------------------------------------------------ independent measurements
def _pg(dbname, **kw):
    db = connection.settings_dict
    params = {"dbname": dbname, "user": db["USER"], "host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432,
              "password": db["PASSWORD"] or None}
    return psycopg.connect(**{k: v for k, v in params.items() if v}, **kw)


def _snapshot(dbname):
    """Row count of every table, md5 of every geometry column in primary-key order, the EPSG:9377 row."""
    with _pg(dbname) as pg, pg.cursor() as cur:
        cur.execute("select tablename from pg_tables where schemaname='public' and tablename <> 'spatial_ref_sys'")
        tables = sorted(r[0] for r in cur.fetchall())
        counts = {}
        for t in tables:
            cur.execute(f'select count(*) from public."{t}"')
            counts[t] = cur.fetchone()[0]
        cur.execute("select f_table_name, f_geometry_column from geometry_columns where f_table_schema='public'")
        geoms = {}
        for table, column in sorted(cur.fetchall()):
            cur.execute("select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid "
                        "and a.attnum = any(i.indkey) where i.indrelid = %s::regclass and i.indisprimary",
                        [f'public."{table}"'])
            pk = cur.fetchone()[0]
            cur.execute(f'select count("{column}"), md5(string_agg(encode(ST_AsEWKB("{column}"), \'hex\'), \',\' '
                        f'order by "{pk}")) from public."{table}"')
            geoms[f"{table}.{column}"] = cur.fetchone()
        cur.execute("select auth_name, auth_srid, srtext from spatial_ref_sys where srid = 9377")
        srs = cur.fetchone()
    return counts, geoms, srs


def _files(root: Path):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ the fresh target
@pytest.fixture
def empty_db():
    """A NEW database with PostGIS, as the setup creates it; dropped afterwards."""
    with _pg("postgres", autocommit=True) as pg:
        pg.execute(f'drop database if exists "{RESTORE_DB}" with (force)')
        pg.execute(f'create database "{RESTORE_DB}"')
    with _pg(RESTORE_DB, autocommit=True) as pg:
        pg.execute("create extension postgis")
        pg.execute("create extension postgis_raster")
    yield RESTORE_DB
    with _pg("postgres", autocommit=True) as pg:
        pg.execute(f'drop database if exists "{RESTORE_DB}" with (force)')


def _restore_cli(archive, dbname, media_root):
    """manage.py restore in its own process, configured for the new database only by its environment."""
    db = connection.settings_dict
    cred = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    env = dict(os.environ, DATABASE_URL=f"postgis://{cred}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{dbname}",
               MEDIA_ROOT=str(media_root))
    return subprocess.run([sys.executable, "manage.py", "restore", str(archive)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def _tampered(archive: Path, dest: Path, member_prefix: str) -> Path:
    """Same archive, same manifest, one byte appended to the first member under ``member_prefix``."""
    done = False
    with tarfile.open(archive) as src, tarfile.open(dest, "w:gz") as out:
        for m in src:
            data = src.extractfile(m).read() if m.isfile() else None
            if data is not None and not done and m.name.startswith(member_prefix):
                data, done = data + b"\0", True
                m.size = len(data)
            out.addfile(m, io.BytesIO(data) if data is not None else None)
    assert done
    return dest


# ------------------------------------------------------------------ round trip
@pytest.mark.django_db(transaction=True)
def test_backup_then_restore_into_a_new_database_is_identical(tmp_path, settings, pot_users, cali_plan, empty_db):
    from layers.models import Layer
    from layers.services.importing import import_layer
    from territorial.pot.services import plans as P
    from tests.layers.conftest import synthetic_raster

    settings.MEDIA_ROOT = tmp_path / "media"
    x, y = cabecera_m(pot_users["cali"])
    P.save_zones(pot_users["planner"], cali_plan, fc(square_feature(x, y, x + 800, y + 600, "urbano", "centro"),
                                                     square_feature(x, y + 600, x + 900, y + 1500, "rural", "norte")), 1)
    import_layer(synthetic_raster(tmp_path / "pendiente.tif", np.arange(400, dtype="float32").reshape(20, 20)),
                 theme="relieve")
    raster = Layer.objects.get(slug="pendiente").raster_path
    assert raster.is_file()

    archive = tmp_path / "copia.tar.gz"
    call_command("backup", str(archive), stdout=io.StringIO())
    assert archive.stat().st_mode & 0o777 == 0o600  # password hashes inside
    source = _snapshot(connection.settings_dict["NAME"])
    source_files = _files(settings.MEDIA_ROOT)
    assert f"layers/{raster.name}" in source_files

    # A tampered raster is refused before anything is written: the new database stays empty.
    restored_media = tmp_path / "restaurado" / "media"
    bad = _restore_cli(_tampered(archive, tmp_path / "mala.tar.gz", "media/"), empty_db, restored_media)
    assert bad.returncode == 1 and "Suma sha256 distinta en media/layers/" in bad.stderr, bad.stderr
    assert _snapshot(empty_db)[0] == {} and list(restored_media.parent.iterdir()) == []

    done = _restore_cli(archive, empty_db, restored_media)
    assert done.returncode == 0, done.stderr
    assert "restaurada" in done.stdout and "iguales al manifiesto" in done.stdout
    counts, geoms, srs = _snapshot(empty_db)
    # caches, rate-limit windows and sessions keep their tables but not their rows
    expected = dict(source[0], **{t: 0 for t in ("geosig_cache", "geosig_throttlewindow", "django_session")})
    assert counts == expected
    assert counts["territorial_municipality"] == 42 and counts["territorial_zone"] == 2
    assert counts["territorial_planversion"] == 2 and counts["layers_layer"] == 1
    assert geoms == source[1] and any(n for n, _ in geoms.values())
    assert srs == source[2] and srs[1] == 9377  # our migration's row came back
    assert _files(restored_media) == source_files
    assert not list(restored_media.parent.glob(".geosig-restore-*"))  # staging removed

    # A second restore into the now populated database is refused and changes nothing.
    again = _restore_cli(archive, empty_db, tmp_path / "otra" / "media")
    assert again.returncode == 1 and f"La base de datos «{empty_db}» no está vacía" in again.stderr, again.stderr
    assert _snapshot(empty_db)[0] == counts


# ------------------------------------------------------------------ refusals read from the manifest
def _manifest_only(tmp_path, migrations):
    manifest = {"format": 1, "created_at": "2026-11-27T10:00:00-05:00", "geosig_version": "9.9",
                "migrations": migrations, "row_counts": {}, "files": {}}
    path = tmp_path / "solo-manifiesto.tar.gz"
    data = json.dumps(manifest).encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def _applied():
    with connection.cursor() as cur:
        cur.execute("select app, name from django_migrations order by id")
        out = {}
        for app, name in cur.fetchall():
            out.setdefault(app, []).append(name)
    return out


@pytest.mark.django_db
def test_backup_from_newer_code_is_refused_naming_its_migrations(tmp_path):
    migrations = _applied()
    migrations["territorial"].append("9999_futura")
    migrations["planes_nuevos"] = ["0001_initial"]
    with pytest.raises(CommandError) as exc:
        call_command("restore", str(_manifest_only(tmp_path, migrations)))
    msg = str(exc.value)
    assert "versión más nueva de GeoSIG (9.9)" in msg
    assert "planes_nuevos.0001_initial, territorial.9999_futura" in msg and "no se modificó nada" in msg


@pytest.mark.django_db
def test_restore_into_a_database_with_data_is_refused(tmp_path, territory):
    before = _snapshot(connection.settings_dict["NAME"])[0]
    with pytest.raises(CommandError, match=f"La base de datos «{connection.settings_dict['NAME']}» no está vacía"):
        call_command("restore", str(_manifest_only(tmp_path, _applied())))
    assert _snapshot(connection.settings_dict["NAME"])[0] == before


@pytest.mark.django_db
def test_existing_backup_file_is_never_overwritten(tmp_path):
    target = tmp_path / "copia.tar.gz"
    target.write_bytes(b"anterior")
    with pytest.raises(CommandError, match="ya existe"):
        call_command("backup", str(target))
    assert target.read_bytes() == b"anterior"
