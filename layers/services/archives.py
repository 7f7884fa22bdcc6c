"""Safe extraction of uploaded zip archives (zipped Shapefiles, GeoPackages in a zip...).

Everything is checked from the central directory BEFORE a single byte is written: member names
(no absolute paths, no ``..``, no drive letters, no symlinks), the number of members, the total
declared uncompressed size and the compression ratio (zip bombs). While extracting, the bytes really
written are counted again, because a forged header can understate the sizes.
"""
from __future__ import annotations

import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath

from django.conf import settings

from geosig.errors import DataFileError, UnsafeArchive

CHUNK = 1 << 16


def _limits():
    return (
        settings.GEOSIG_LAYERS_MAX_UNZIPPED_BYTES,
        settings.GEOSIG_LAYERS_MAX_ZIP_MEMBERS,
        settings.GEOSIG_LAYERS_MAX_ZIP_RATIO,
    )


def _unsafe_name(name: str) -> str | None:
    posix = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        return "ruta absoluta"
    if ".." in posix.parts:
        return "ruta con «..»"
    return None


def check_archive(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Raise UnsafeArchive if the archive must not be extracted; return its file members."""
    max_bytes, max_members, max_ratio = _limits()
    infos = zf.infolist()
    if len(infos) > max_members:
        raise UnsafeArchive(
            f"El zip tiene {len(infos)} miembros; el máximo permitido es {max_members}. No se extrajo nada."
        )
    total = 0
    total_compressed = 0
    for info in infos:
        reason = _unsafe_name(info.filename)
        if reason:
            raise UnsafeArchive(f"El zip contiene «{info.filename}» ({reason}). No se extrajo nada.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeArchive(f"El zip contiene un enlace simbólico «{info.filename}». No se extrajo nada.")
        total += info.file_size
        total_compressed += info.compress_size
        if info.compress_size and info.file_size / info.compress_size > max_ratio and info.file_size > CHUNK:
            raise UnsafeArchive(
                f"«{info.filename}» se descomprime {info.file_size / info.compress_size:,.0f} veces su tamaño "
                f"(máximo {max_ratio}): posible bomba zip. No se extrajo nada."
            )
    if total > max_bytes:
        raise UnsafeArchive(
            f"El zip se descomprime a {total / 1e6:,.1f} MB; el máximo es {max_bytes / 1e6:,.1f} MB. "
            "No se extrajo nada."
        )
    if total_compressed and total / total_compressed > max_ratio and total > CHUNK:
        raise UnsafeArchive(
            f"El zip se descomprime {total / total_compressed:,.0f} veces su tamaño (máximo {max_ratio}): "
            "posible bomba zip. No se extrajo nada."
        )
    return [i for i in infos if not i.is_dir()]


def safe_extract(zip_path: Path, dest: Path) -> list[Path]:
    """Extract ``zip_path`` into ``dest`` after ``check_archive``; returns the extracted files."""
    max_bytes, _, _ = _limits()
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataFileError(f"«{Path(zip_path).name}» no es un zip legible: {exc}.") from exc
    out = []
    written = 0
    with zf:
        members = check_archive(zf)
        dest = dest.resolve()
        for info in members:
            target = (dest / info.filename.replace("\\", "/")).resolve()
            if dest not in target.parents:  # belt and braces after the name check
                raise UnsafeArchive(f"«{info.filename}» sale de la carpeta de extracción.")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise UnsafeArchive(
                                "El contenido real del zip supera el límite declarado: posible bomba zip."
                            )
                        dst.write(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise DataFileError(f"«{info.filename}» está dañado dentro del zip: {exc}.") from exc
            out.append(target)
    return out

