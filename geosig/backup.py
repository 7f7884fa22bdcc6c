"""Backup and restore of a GeoSIG installation: one archive holding the database, the media files and a manifest.

Archive (tar.gz), members in this order so a restore can refuse before reading the rest:

    manifest.json  format, creation time (America/Bogota), Django/GeoSIG versions, applied migrations per
                   app, data versions, row counts per table, sha256 of every other member
    srs.json       the spatial_ref_sys rows PostGIS marks as user data (EPSG:9377, added by a migration)
    db.dump        ``pg_dump -Fc -n public``: schema and data of the project's tables
    media/…        MEDIA_ROOT (raster COGs, corridor results)

pg_dump runs on the snapshot exported by the transaction that counts the rows and reads the migrations,
so the counts describe exactly the dumped data. The PostGIS extension itself is not in the dump: the
target database gets it from the setup (a superuser creates it once), and its user rows come from
srs.json. Cache rows, rate-limit windows and sessions are left out (EXCLUDED_DATA).

A restore goes only into an EMPTY database and an empty MEDIA_ROOT: it checks the manifest, the
migrations (refusing a backup made by a newer code) and the target first, extracts and verifies every
checksum into a staging folder next to MEDIA_ROOT, then runs pg_restore in one transaction and only
after it succeeds moves the staging folder into place.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from psycopg import sql

from geosig.errors import GeoSIGError

FORMAT = 1
# Tables saved without their rows: caches (rebuilt on demand; data versions start afresh), rate-limit
# windows (geosig.throttling) and sessions (bearer credentials: users sign in again after a restore).
EXCLUDED_DATA = ("geosig_cache", "geosig_throttlewindow", "django_session")
DB_MEMBER, SRS_MEMBER, MANIFEST_MEMBER, MEDIA_PREFIX = "db.dump", "srs.json", "manifest.json", "media/"
CHUNK = 1 << 20


class BackupError(GeoSIGError):
    code = "backup_error"
    status = 400


@dataclass
class BackupReport:
    path: Path
    tables: int
    rows: int
    media_files: int
    size_bytes: int


@dataclass
class RestoreReport:
    tables: int
    rows: int
    media_files: int
    created_at: str
    pending_migrations: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ connection
def _pg_env(alias: str) -> dict:
    """Environment for pg_dump/pg_restore: the connection of ``alias`` as PG* variables (no argv secrets)."""
    db = connections[alias].settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    values = {"PGHOST": db.get("HOST"), "PGPORT": db.get("PORT"), "PGUSER": db.get("USER"),
              "PGPASSWORD": db.get("PASSWORD"), "PGDATABASE": db.get("NAME"),
              "PGSSLMODE": (db.get("OPTIONS") or {}).get("sslmode")}
    env.update({k: str(v) for k, v in values.items() if v})
    return env


def _connect(alias: str, **kw) -> psycopg.Connection:
    """A separate psycopg connection (not Django's): its transaction is ours to shape."""
    db = connections[alias].settings_dict
    params = {"dbname": db["NAME"], "user": db.get("USER"), "password": db.get("PASSWORD"),
              "host": db.get("HOST"), "port": db.get("PORT")}
    return psycopg.connect(**{k: v for k, v in params.items() if v}, **kw)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BackupError(f"No se encontró «{name}»: instale el cliente de PostgreSQL 15 "
                          "(apt-get install postgresql-client-15).")
    return path


def _run(args: list[str], env: dict, what: str) -> str:
    """Run a PostgreSQL client with an argument list (never a shell); its stderr becomes the message."""
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise BackupError(f"Falló {what}: " + " | ".join(detail))
    return done.stdout


# ------------------------------------------------------------------ reading the source
def _tables(cur) -> list[str]:
    cur.execute("select tablename from pg_tables where schemaname = 'public' and tablename <> 'spatial_ref_sys' "
                "order by tablename")
    return [r[0] for r in cur.fetchall()]


def row_counts(cur, tables=None) -> dict[str, int]:
    out = {}
    for t in tables if tables is not None else _tables(cur):
        cur.execute(sql.SQL("select count(*) from public.{}").format(sql.Identifier(t)))
        out[t] = cur.fetchone()[0]
    return out


def _applied_migrations(cur) -> dict[str, list[str]]:
    cur.execute("select app, name from django_migrations order by app, id")
    out: dict[str, list[str]] = {}
    for app, name in cur.fetchall():
        out.setdefault(app, []).append(name)
    return out


def _user_srs_rows(cur) -> list[list]:
    """spatial_ref_sys rows outside PostGIS's own set, selected by the filter PostGIS registers for pg_dump."""
    cur.execute("select extcondition[array_position(extconfig, 'public.spatial_ref_sys'::regclass)] "
                "from pg_extension where extname = 'postgis'")
    row = cur.fetchone()
    condition = (row and row[0]) or ""
    # The condition is PostGIS's catalog text (never user input): "WHERE NOT (srid BETWEEN …)".
    cur.execute("select srid, auth_name, auth_srid, srtext, proj4text from public.spatial_ref_sys "
                + condition + " order by srid")
    return [list(r) for r in cur.fetchall()]


def _data_versions() -> dict[str, str]:
    """geosig.versioned's current versions (informative: the cache table is not restored)."""
    prefix = "geosig:version:"
    with connections["default"].cursor() as cur:
        cur.execute("select cache_key from geosig_cache where cache_key like %s", ["%" + prefix + "%"])
        names = sorted({k.split(prefix, 1)[1] for (k,) in cur.fetchall()})
    return {n: cache.get(prefix + n) for n in names if cache.get(prefix + n)}


def _media_files(root: Path) -> list[tuple[str, Path]]:
    """Regular files under MEDIA_ROOT, skipping hidden entries (runs in progress write to .tmp-* folders)
    and symbolic links (a link could point anywhere)."""
    if not root.is_dir():
        return []
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not os.path.islink(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if not name.startswith(".") and p.is_file() and not p.is_symlink():
                out.append((p.relative_to(root).as_posix(), p))
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def geosig_version() -> str:
    try:
        return version("geosig-valle")
    except PackageNotFoundError:
        return "desconocida"


# ------------------------------------------------------------------ backup
def _dump_in_snapshot(alias: str, work: Path) -> dict:
    """pg_dump on the snapshot of a read-only repeatable-read transaction that also reads counts and state."""
    with _connect(alias) as pg:
        pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        pg.read_only = True
        with pg.cursor() as cur:
            cur.execute("select pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            tables = _tables(cur)
            state = {"migrations": _applied_migrations(cur),
                     "row_counts": row_counts(cur, [t for t in tables if t not in EXCLUDED_DATA]),
                     "srs": _user_srs_rows(cur)}
            args = [_tool("pg_dump"), "--format=custom", "--schema=public", "--no-owner", "--no-privileges",
                    f"--snapshot={snapshot}", f"--file={work / DB_MEMBER}"]
            args += [f"--exclude-table-data=public.{t}" for t in EXCLUDED_DATA if t in tables]
            _run(args, _pg_env(alias), "pg_dump")
        pg.rollback()
    return state


def create_backup(dest, alias: str = "default") -> BackupReport:
    dest = Path(dest)
    if dest.exists():
        raise BackupError(f"El archivo {dest} ya existe: elija otro nombre (una copia nunca se sobrescribe).")
    if not dest.parent.is_dir():
        raise BackupError(f"La carpeta {dest.parent} no existe.")
    media_root = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix=".geosig-backup-", dir=dest.parent) as tmp:
        work = Path(tmp)
        state = _dump_in_snapshot(alias, work)
        (work / SRS_MEMBER).write_text(json.dumps(state.pop("srs")), encoding="utf-8")
        media = _media_files(media_root)
        files = {DB_MEMBER: sha256_file(work / DB_MEMBER), SRS_MEMBER: sha256_file(work / SRS_MEMBER)}
        files.update({MEDIA_PREFIX + rel: sha256_file(p) for rel, p in media})
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(ZoneInfo("America/Bogota")).isoformat(timespec="seconds"),
            "django_version": __import__("django").get_version(),
            "geosig_version": geosig_version(),
            "database": connections[alias].settings_dict["NAME"],
            "excluded_data": list(EXCLUDED_DATA),
            "data_versions": _data_versions(),
            **state,
            "files": files,
        }
        part = work / "archive.part"
        _write_archive(part, manifest, work, media)
        os.replace(part, dest)
    return BackupReport(dest, len(manifest["row_counts"]), sum(manifest["row_counts"].values()), len(media),
                        dest.stat().st_size)


def _write_archive(part: Path, manifest: dict, work: Path, media: list[tuple[str, Path]]) -> None:
    # 0600: the archive holds password hashes and every plan; gzip level 1 because the dump and the COGs
    # are compressed already.
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1) as tar:
        data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        info = tarfile.TarInfo(MANIFEST_MEMBER)
        info.size, info.mode = len(data), 0o600
        tar.addfile(info, io.BytesIO(data))
        for name in (SRS_MEMBER, DB_MEMBER):
            tar.add(work / name, arcname=name, recursive=False)
        for rel, path in media:
            # Hashed again while archived: a file rewritten since the manifest was made would not verify.
            info = tar.gettarinfo(path, arcname=MEDIA_PREFIX + rel)
            with open(path, "rb") as f:
                reader = _HashingReader(f)
                tar.addfile(info, reader)
            if reader.hexdigest() != manifest["files"][MEDIA_PREFIX + rel]:
                raise BackupError(f"El archivo {rel} cambió durante la copia; vuelva a intentarlo.")


class _HashingReader:
    def __init__(self, f):
        self._f, self._h = f, hashlib.sha256()

    def read(self, n=-1):
        data = self._f.read(n)
        self._h.update(data)
        return data

    def hexdigest(self):
        return self._h.hexdigest()


# ------------------------------------------------------------------ restore: checks before touching anything
def _read_manifest(tar: tarfile.TarFile, src: Path) -> dict:
    member = tar.next()
    if member is None or member.name != MANIFEST_MEMBER or not member.isfile():
        raise BackupError(f"{src} no es una copia de GeoSIG: le falta {MANIFEST_MEMBER} al comienzo.")
    try:
        manifest = json.loads(tar.extractfile(member).read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"El manifiesto de {src} está dañado: {exc}.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"Formato de copia no reconocido ({manifest.get('format') if isinstance(manifest, dict) else '?'}); "
                          f"esta versión de GeoSIG lee el formato {FORMAT}.")
    for key, kind in (("migrations", dict), ("row_counts", dict), ("files", dict)):
        if not isinstance(manifest.get(key), kind):
            raise BackupError(f"El manifiesto de {src} no tiene «{key}».")
    return manifest


def _migration_loader():
    return MigrationLoader(None, ignore_no_migrations=True)


def known_migrations(loader=None) -> set[tuple[str, str]]:
    """Every migration this code knows: on disk, plus the ones replaced by a squashed migration."""
    loader = loader or _migration_loader()
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(tuple(r) for r in migration.replaces)
    return known


def check_migrations(manifest: dict) -> list[str]:
    """Refuse a backup made by a newer code; return the migrations the code has and the backup lacks."""
    loader = _migration_loader()
    applied = {(app, name) for app, names in manifest["migrations"].items() for name in names}
    unknown = sorted(applied - known_migrations(loader))
    if unknown:
        names = ", ".join(f"{a}.{n}" for a, n in unknown)
        raise BackupError(
            f"La copia viene de una versión más nueva de GeoSIG ({manifest.get('geosig_version', '?')}): tiene "
            f"migraciones que este código no conoce: {names}. Actualice el código a esa versión y vuelva a "
            "restaurar; no se modificó nada.")
    return [f"{a}.{n}" for a, n in sorted(set(loader.graph.nodes) - applied)]


def _check_target(alias: str) -> None:
    """The target database must be empty of tables and have PostGIS (created here if the role may)."""
    name = connections[alias].settings_dict["NAME"]
    with _connect(alias, autocommit=True) as pg, pg.cursor() as cur:
        tables = _tables(cur)
        if tables:
            raise BackupError(
                f"La base de datos «{name}» no está vacía: tiene {len(tables)} tabla(s) "
                f"(p. ej. {', '.join(tables[:3])}). Restaure en una base nueva y vacía (README, «Copias de "
                "seguridad»); no se modificó nada.")
        for ext in ("postgis", "postgis_raster"):
            try:
                cur.execute(sql.SQL("create extension if not exists {}").format(sql.Identifier(ext)))
            except psycopg.Error as exc:
                raise BackupError(
                    f"A la base «{name}» le falta la extensión {ext} y este usuario no puede crearla: un "
                    f"superusuario debe ejecutar «CREATE EXTENSION {ext};» en ella.") from exc


def _check_media_root(root: Path) -> None:
    if root.is_dir() and any(p.is_file() or p.is_symlink() for p in root.rglob("*")):
        raise BackupError(f"La carpeta de medios {root} no está vacía: muévala o vacíela antes de restaurar; "
                          "no se modificó nada.")


def _safe_member_path(name: str) -> PurePosixPath:
    p = PurePosixPath(name)
    if p.is_absolute() or not p.parts or any(part in ("", ".", "..") for part in p.parts):
        raise BackupError(f"La copia contiene una ruta no permitida: {name!r}.")
    return p


def _extract_verified(tar: tarfile.TarFile, manifest: dict, staging: Path) -> None:
    """Stream every member into ``staging`` hashing it; anything not in the manifest, or not matching, refuses."""
    expected, seen = manifest["files"], set()
    for member in tar:
        if member.isdir() or (member.offset == 0 and member.name == MANIFEST_MEMBER):  # read already
            continue
        if not member.isfile() or member.name not in expected or member.name in seen:
            raise BackupError(f"La copia contiene un elemento inesperado: {member.name!r}.")
        dest = staging.joinpath(*_safe_member_path(member.name).parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        with tar.extractfile(member) as src, open(dest, "wb") as out:
            while chunk := src.read(CHUNK):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != expected[member.name]:
            raise BackupError(f"Suma sha256 distinta en {member.name}: la copia está dañada o fue modificada; "
                              "no se modificó nada.")
        seen.add(member.name)
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(f"A la copia le faltan archivos: {', '.join(missing[:5])}.")


# ------------------------------------------------------------------ restore: writing
def _restore_database(alias: str, staging: Path) -> None:
    """pg_restore in one transaction, minus the public schema itself (it exists) and spatial_ref_sys rows
    (merged from srs.json instead: PostGIS's own rows are already in the target)."""
    env = _pg_env(alias)
    dump = staging / DB_MEMBER
    toc = _run([_tool("pg_restore"), "--list", str(dump)], env, "pg_restore --list")
    skip = ("SCHEMA - public ", "COMMENT - SCHEMA public ", "TABLE DATA public spatial_ref_sys ", " EXTENSION ")
    keep = [line for line in toc.splitlines() if not any(s in line + " " for s in skip)]
    (staging / "toc.list").write_text("\n".join(keep) + "\n")
    _run([_tool("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
          f"--use-list={staging / 'toc.list'}", f"--dbname={env.get('PGDATABASE', '')}", str(dump)],
         env, "pg_restore")
    rows = json.loads((staging / SRS_MEMBER).read_text(encoding="utf-8"))
    with _connect(alias) as pg, pg.cursor() as cur:
        cur.executemany("insert into public.spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
                        "values (%s, %s, %s, %s, %s) on conflict (srid) do nothing", rows)


def _move_media(staged: Path, root: Path) -> None:
    try:
        if root.is_dir():
            shutil.rmtree(root)  # only empty folders are left here (checked by _check_media_root)
        if staged.is_dir():
            shutil.move(str(staged), str(root))  # a rename: the staging folder is a sibling of MEDIA_ROOT
        else:
            root.mkdir(parents=True)
    except OSError as exc:
        raise BackupError(f"La base quedó restaurada pero los archivos no pudieron pasar a {root} ({exc}). "
                          "Vacíe la base y la carpeta y repita la restauración.") from exc


def restore_backup(src, alias: str = "default") -> RestoreReport:
    src = Path(src)
    if not src.is_file():
        raise BackupError(f"No existe el archivo de copia {src}.")
    media_root = Path(settings.MEDIA_ROOT)
    try:
        tar = tarfile.open(src, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{src} no es una copia de GeoSIG legible (tar.gz): {exc}.") from exc
    with tar:
        manifest = _read_manifest(tar, src)
        pending = check_migrations(manifest)
        _check_target(alias)
        _check_media_root(media_root)
        media_root.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".geosig-restore-", dir=media_root.parent))
        try:
            try:
                _extract_verified(tar, manifest, staging)
            except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
                raise BackupError(f"No se pudo leer la copia {src}: {exc}.") from exc
            _restore_database(alias, staging)
            _move_media(staging / "media", media_root)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _verify_restored(alias, manifest, pending)


def _verify_restored(alias: str, manifest: dict, pending: list[str]) -> RestoreReport:
    with _connect(alias) as pg, pg.cursor() as cur:
        counts = row_counts(cur, list(manifest["row_counts"]))
    wrong = [f"{t}: {counts[t]} ≠ {n}" for t, n in manifest["row_counts"].items() if counts[t] != n]
    if wrong:
        raise BackupError("Restauración incompleta, filas distintas del manifiesto: " + "; ".join(wrong[:5]))
    media = sum(1 for name in manifest["files"] if name.startswith(MEDIA_PREFIX))
    return RestoreReport(len(counts), sum(counts.values()), media, manifest.get("created_at", "?"), pending)
