"""One small error family for every entry point.

Services raise a ``GeoSIGError`` subclass with a Spanish message meant for the user. The API turns it
into JSON (``api_exception_handler``), management commands into ``CommandError`` (``command_errors``),
so a bad input reads the same on the web and on the command line.
"""
from __future__ import annotations

import contextlib

from django.core.management.base import CommandError


class GeoSIGError(Exception):
    """Base class: ``code`` is stable for programs, ``message`` is for people."""

    code = "error"
    status = 422

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict:
        out = {"error": self.code, "detail": self.message}
        if self.details:
            out["context"] = self.details
        return out


class InvalidParameter(GeoSIGError):
    code = "invalid_parameter"
    status = 400


class UploadTooLarge(InvalidParameter):
    """A body or file above ``GEOSIG_MAX_UPLOAD_BYTES`` (checked from Content-Length before parsing)."""

    code = "upload_too_large"
    status = 413


class NotFound(GeoSIGError):
    code = "not_found"
    status = 404


class InvalidGeometry(GeoSIGError):
    code = "invalid_geometry"


class CRSMismatch(GeoSIGError):
    code = "crs_error"


class OutsideValle(GeoSIGError):
    code = "outside_valle"


class UnsafeArchive(GeoSIGError):
    code = "unsafe_archive"
    status = 400


class DataFileError(GeoSIGError):
    """A data file is missing, corrupt, or lacks a field; the message names file and field."""

    code = "data_file_error"


class PermissionDeniedError(GeoSIGError):
    code = "permission_denied"
    status = 403


class ConflictError(GeoSIGError):
    code = "conflict"
    status = 409


def api_exception_handler(exc, context):
    """DRF exception handler: GeoSIG errors → JSON with their status; the rest as DRF does."""
    # DRF is imported here, not at the top: this module is imported while the models load (through
    # territorial.pot.classes), before DRF's views and settings may be imported.
    from rest_framework.exceptions import Throttled
    from rest_framework.response import Response
    from rest_framework.views import exception_handler

    if isinstance(exc, GeoSIGError):
        return Response(exc.as_dict(), status=exc.status)
    response = exception_handler(exc, context)  # sets Retry-After for Throttled
    if isinstance(exc, Throttled) and response is not None:
        from geosig.throttling import message  # geosig.throttling imports this module: a cycle at the top

        response.data = {"error": "throttled", "detail": message(exc.wait or 1)}
        return response
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": getattr(exc, "default_code", "error"), "detail": str(response.data["detail"])}
    return response


@contextlib.contextmanager
def command_errors():
    """Use in management commands: a GeoSIGError leaves as a CommandError (exit code 1, message)."""
    try:
        yield
    except GeoSIGError as exc:
        raise CommandError(exc.message) from exc
