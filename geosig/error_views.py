"""Site error pages (403/404/500): Spanish HTML pages in the site's style, JSON under /api/.

API clients never get an HTML page: Django's own 404/403/500 for an /api/ path (an unknown URL, a
CSRF failure, a crash outside DRF) answers the same {"error", "detail"} shape as geosig.errors.
"""
from django.http import HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

API_PREFIX = "/api/"


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def page_not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"error": "not_found", "detail": _("No existe ese recurso de la API: %(path)s")
                             % {"path": request.path}}, status=404)
    return defaults.page_not_found(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return JsonResponse({"error": "permission_denied",
                             "detail": _("No tiene permiso para realizar esta acción.")}, status=403)
    return defaults.permission_denied(request, exception)


def server_error(request):
    """No request context and no database: the failure may be the database itself."""
    if _is_api(request):
        return JsonResponse({"error": "server_error",
                             "detail": _("Error interno del servidor. El equipo técnico fue notificado.")}, status=500)
    return HttpResponseServerError(loader.get_template("500.html").render())
