from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.urls import Resolver404, resolve
from django.utils import translation

from geosig.errors import InvalidParameter, UploadTooLarge
from geosig.throttling import limit_response


class DefaultLanguageMiddleware:
    """Spanish unless the user chose otherwise (language cookie set by /i18n/setlang/).

    Django's LocaleMiddleware would follow the browser's Accept-Language, which would show English to
    every planner whose computer is set up in English; the product's language is Spanish.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.valid = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        lang = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        lang = lang if lang in self.valid else settings.LANGUAGE_CODE
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", lang)
        return response


class _CappedStream:
    """Reads through to the request stream and raises UploadTooLarge past ``limit`` bytes: a body whose
    Content-Length is missing or wrong (a server that passes chunked bodies through) stops there."""

    def __init__(self, stream, limit: int):
        self.stream, self.limit, self.read_bytes = stream, limit, 0

    def _count(self, data):
        self.read_bytes += len(data)
        if self.read_bytes > self.limit:
            raise _too_large(self.limit)
        return data

    def read(self, size=-1):
        return self._count(self.stream.read(size))

    def readline(self, size=-1):
        return self._count(self.stream.readline(size))

    def __iter__(self):
        return iter(self.readline, b"")

    def __getattr__(self, name):  # close(), seekable()… of the wrapped stream
        return getattr(self.stream, name)


def _too_large(limit: int, length: int | None = None):
    # worded like layers.uploads.check_size, which refuses the same way inside the upload views
    size = f"pesa {length / 1e6:,.1f} MB; el" if length else "supera el tamaño permitido: el"
    return UploadTooLarge(f"La solicitud {size} máximo permitido es {limit / 1e6:,.1f} MB. Nada se guardó.",
                          max_bytes=limit)


class BodySizeLimitMiddleware:
    """Right after AuthenticationMiddleware (no middleware before it reads the body; CSRF's process_view,
    which does, runs later): a body over the limit is refused (413, Spanish) from its Content-Length
    before anything parses it, or as soon as that many bytes are read.

    The limit is GEOSIG_MAX_UPLOAD_BYTES for multipart posts of signed-in users to the upload URLs
    (GEOSIG_UPLOAD_URL_NAMES) and DATA_UPLOAD_MAX_MEMORY_SIZE for everything else. Django's own
    RequestDataTooBig / TooManyFieldsSent (400 with an English page) are answered the same way.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def limit_for(self, request) -> int:
        small = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        if request.content_type == "multipart/form-data":
            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                return small
            # the big limit is for signed-in users only: Django's CSRF check parses a multipart body (files
            # to disk) before any view or rate limit runs, so an anonymous 100 MB post would be read in full
            user = getattr(request, "user", None)
            if name in getattr(settings, "GEOSIG_UPLOAD_URL_NAMES", ()) and user is not None and user.is_authenticated:
                return settings.GEOSIG_MAX_UPLOAD_BYTES
        return small

    def __call__(self, request):
        limit = self.limit_for(request)
        if limit:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return self.refuse(request, _too_large(limit, length))
            request._stream = _CappedStream(request._stream, limit)
        return self.get_response(request)

    def process_exception(self, request, exc):
        if isinstance(exc, UploadTooLarge):
            return self.refuse(request, exc)
        if isinstance(exc, RequestDataTooBig):
            return self.refuse(request, _too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0))
        if isinstance(exc, TooManyFieldsSent):
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            return self.refuse(request, InvalidParameter(f"El formulario tiene más de {limit} campos."))
        return None

    def refuse(self, request, exc):
        title = "Solicitud demasiado grande" if exc.status == 413 else "Solicitud no válida"
        resp = limit_response(request, exc, translation.gettext(title))
        # the refusal leaves the body unread: its length lets the client read the answer at once
        resp["Content-Length"] = str(len(resp.content))
        return resp
