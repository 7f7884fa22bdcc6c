"""Evidence files attached to progress reports: PDF, PNG or JPEG only, checked by their first bytes (a file
is what its extension promises or it is refused), at most ``MAX_BYTES``; stored under a clean name."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from geosig import formats
from geosig.errors import InvalidParameter, UploadTooLarge

MAX_BYTES = 10 * 1024 * 1024
MAGIC = {".pdf": (b"%PDF-",), ".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",)}


@dataclass(frozen=True)
class Evidence:
    name: str
    content: ContentFile


def check(upload) -> Evidence:
    ext = PurePath(upload.name or "").suffix.lower()
    if ext not in MAGIC:
        raise InvalidParameter(_("La evidencia debe ser PDF, PNG o JPEG; recibido «%(e)s».") % {"e": ext or "?"},
                               parameter="evidence")
    if upload.size > MAX_BYTES:
        raise UploadTooLarge(_("La evidencia pesa más de 10 MB."), parameter="evidence")
    data = upload.read()
    if not data.startswith(MAGIC[ext]):
        raise InvalidParameter(_("El contenido de la evidencia no corresponde a un archivo %(e)s.")
                               % {"e": ext.lstrip(".").upper()}, parameter="evidence")
    stem = formats.safe_filename(PurePath(upload.name).stem, ext.lstrip("."))
    return Evidence(stem, ContentFile(data))


CONTENT_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
