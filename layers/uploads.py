"""Uploads from the web (page and API): permission, size limit, temp file, then the import service.

The size is checked from Content-Length BEFORE Django reads the body, then again on the file itself;
Django spools files above FILE_UPLOAD_MAX_MEMORY_SIZE to disk, so a big upload never sits in memory.
"""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.utils.text import get_valid_filename

from geosig import params
from geosig.errors import InvalidParameter, PermissionDeniedError, UploadTooLarge
from layers.models import Layer, Theme
from layers.services.importing import INVALID_POLICIES, import_layer

PERMISSION = "layers.upload_layer"


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


def import_upload(request, data):
    """The import report, or — for a file above ``GEOSIG_IMPORT_JOB_BYTES`` — the queued import ``Job``."""
    from layers import imports_queue

    check_permission(request.user)
    check_size(request)
    with save_upload(request, default_name="capa") as (path, name):
        options = upload_options(data)
        if path.stat().st_size > imports_queue.threshold():
            return imports_queue.enqueue_import(path, name, options, request.user)
        return import_layer(path, original_name=name, user=request.user, **options)


@contextmanager
def save_upload(request, default_name: str = "archivo"):
    """The uploaded «file» in a temporary folder, as (path, safe base name); size checked on the file itself.
    The caller checks permission and Content-Length first (``check_permission``, ``check_size``)."""
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidParameter("Falta el archivo (campo «file»).")
    if upload.size > settings.GEOSIG_MAX_UPLOAD_BYTES:
        raise UploadTooLarge(f"El archivo pesa {upload.size / 1e6:,.1f} MB; el máximo permitido es "
                             f"{settings.GEOSIG_MAX_UPLOAD_BYTES / 1e6:,.1f} MB. Nada se guardó.")
    name = get_valid_filename(Path(upload.name).name) or default_name
    with tempfile.TemporaryDirectory(prefix="geosig-upload-") as tmp:
        path = Path(tmp) / name
        with open(path, "wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        yield path, name


def upload_options(data) -> dict:
    """The form fields of an upload, typed and bounded before a byte of the file is read: texts within
    the model's max_length (a 201-character title is a 400, not a database error), choices by name."""
    metadata = {
        "title": params.model_text(data.get("title"), "title", Layer),
        "licence": params.model_text(data.get("licence"), "licence", Layer),
        "data_date": params.model_text(data.get("data_date"), "data_date", Layer),
        "source": params.text(data.get("source"), "source", max_length=2000, multiline=True),
        "description": params.text(data.get("description"), "description", max_length=5000, multiline=True),
    }
    return {
        "theme": params.choice(data.get("theme"), "theme", Theme.values, default=Theme.OTRO),
        "layer": params.text(data.get("layer"), "layer", max_length=200),
        "srid": params.integer(data.get("srid"), "srid", minimum=1, maximum=999_999),
        "invalid": params.choice(data.get("invalid"), "invalid", INVALID_POLICIES),
        "encoding": params.text(data.get("encoding"), "encoding", max_length=40),
        "metadata": {k: v for k, v in metadata.items() if v},
    }
