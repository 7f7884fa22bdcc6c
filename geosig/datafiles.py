"""Bring the real data set into ``data/raw`` from a mirror or a download, checking every checksum."""
from __future__ import annotations

import csv
import hashlib
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from geosig.errors import DataFileError

MANIFEST_NAME = "MANIFEST.csv"


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    sha256: str
    licence: str
    source_url: str


@dataclass
class FetchReport:
    copied: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"Datos: {len(self.unchanged)} ya presentes y verificados, {len(self.copied)} copiados del espejo, "
            f"{len(self.downloaded)} descargados."
        )


def read_manifest(raw_dir: Path | None = None) -> list[ManifestEntry]:
    raw_dir = Path(raw_dir or settings.GEOSIG_RAW_DIR)
    path = raw_dir / MANIFEST_NAME
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError as exc:
        raise DataFileError(f"No existe el manifiesto {path}.") from exc
    entries = []
    for i, row in enumerate(rows, start=2):
        missing = [k for k in ("path", "sha256", "source_url") if not (row.get(k) or "").strip()]
        if missing:
            raise DataFileError(f"{path}, línea {i}: faltan los campos {', '.join(missing)}.")
        rel = Path(row["path"])
        if rel.is_absolute() or ".." in rel.parts:
            raise DataFileError(f"{path}, línea {i}: ruta no permitida {row['path']!r}.")
        entries.append(ManifestEntry(row["path"], row["sha256"].lower(), row.get("licence", ""), row["source_url"]))
    return entries


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_data(
    raw_dir: Path | None = None, mirror: Path | None = None, base_url: str | None = None
) -> FetchReport:
    """Make every manifest file present in ``raw_dir`` with the right checksum.

    Order: a file already there and correct is kept; else the mirror's copy; else ``base_url/path``.
    Files are written to a temporary name and moved only once verified, so a failure leaves no
    half-written or wrong file behind.
    """
    raw_dir = Path(raw_dir or settings.GEOSIG_RAW_DIR)
    mirror = Path(mirror or settings.GEOSIG_DATA_MIRROR)
    base_url = settings.GEOSIG_DATA_BASE_URL if base_url is None else base_url
    report = FetchReport()
    for entry in read_manifest(raw_dir):
        target = raw_dir / entry.path
        if target.exists() and sha256_of(target) == entry.sha256:
            report.unchanged.append(entry.path)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as tmp:
            tmp_path = Path(tmp.name)
        try:
            source = mirror / entry.path
            if source.exists():
                shutil.copyfile(source, tmp_path)
                origin, bucket = str(source), report.copied
            elif base_url:
                url = f"{base_url.rstrip('/')}/{entry.path}"
                with urllib.request.urlopen(url, timeout=60) as resp, tmp_path.open("wb") as out:
                    shutil.copyfileobj(resp, out)
                origin, bucket = url, report.downloaded
            else:
                raise DataFileError(
                    f"No se encuentra {entry.path}: no está en el espejo {mirror} y no hay GEOSIG_DATA_BASE_URL. "
                    f"Origen público: {entry.source_url}"
                )
            actual = sha256_of(tmp_path)
            if actual != entry.sha256:
                raise DataFileError(
                    f"Suma de verificación distinta para {entry.path} (de {origin}): "
                    f"esperada {entry.sha256}, obtenida {actual}."
                )
            tmp_path.replace(target)
            bucket.append(entry.path)
        finally:
            tmp_path.unlink(missing_ok=True)
    return report
