"""Uploads from the web (page and API): permission, size limit, temp file, then the import service.

The size is checked from Content-Length BEFORE Django reads the body, then again on the file itself;
Django spools files above FILE_UPLOAD_MAX_MEMORY_SIZE to disk, so a big upload never sits in memory.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.utils.text import get_valid_filename

from geosig.errors import InvalidParameter, PermissionDeniedError, UploadTooLarge
from layers.services.importing import ImportReport, import_layer

PERMISSION = "layers.upload_layer"
METADATA_FIELDS = ("title", "source", "licence", "data_date", "description")


def check_permission(user) -> None:
    if not user.is_authenticated:
        raise PermissionDeniedError("Debe iniciar sesión para subir capas.")
    if not user.has_perm(PERMISSION):
        raise PermissionDeniedError(
            "Su usuario no tiene permiso para subir capas (grupos «Analista CVC» o «Editor de capas»)."
        )


def check_size(request) -> None:
    limit = settings.GEOSIG_MAX_UPLOAD_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise UploadTooLarge(
            f"La carga pesa {length / 1e6:,.1f} MB; el máximo permitido es {limit / 1e6:,.1f} MB. Nada se guardó."
        )


def import_upload(request, data) -> ImportReport:
    check_permission(request.user)
    check_size(request)
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidParameter("Falta el archivo (campo «file»).")
    if upload.size > settings.GEOSIG_MAX_UPLOAD_BYTES:
        raise UploadTooLarge(f"El archivo pesa {upload.size / 1e6:,.1f} MB; el máximo permitido es "
                             f"{settings.GEOSIG_MAX_UPLOAD_BYTES / 1e6:,.1f} MB. Nada se guardó.")
    name = get_valid_filename(Path(upload.name).name) or "capa"
    srid = data.get("srid") or None
    metadata = {k: data.get(k) for k in METADATA_FIELDS if data.get(k)}
    with tempfile.TemporaryDirectory(prefix="geosig-upload-") as tmp:
        path = Path(tmp) / name
        with open(path, "wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        return import_layer(
            path, original_name=name, theme=data.get("theme") or "otro", layer=data.get("layer") or None,
            srid=srid, invalid=data.get("invalid") or None, encoding=data.get("encoding") or None,
            metadata=metadata, user=request.user,
        )
