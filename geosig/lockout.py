"""django-axes hooks: the client address (shared with the rate limits) and a Spanish lockout answer."""
from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.utils.translation import gettext as _
from rest_framework.throttling import BaseThrottle

from geosig.errors import GeoSIGError
from geosig.throttling import limit_response


class LoginLocked(GeoSIGError):
    code = "login_locked"
    status = 429


def client_ip(request) -> str:
    """The address axes locks: REMOTE_ADDR unless GEOSIG_NUM_PROXIES trusted proxies are declared."""
    return BaseThrottle().get_ident(request) or ""


def lockout_response(request, original_response=None, credentials=None):
    """429 + Retry-After; the message says how long the cool-off lasts."""
    cool_off = get_cool_off(request)
    seconds = max(1, math.ceil(cool_off.total_seconds())) if cool_off else None
    if seconds:
        minutes = math.ceil(seconds / 60)
        text = _("Cuenta bloqueada temporalmente por demasiados intentos fallidos de ingreso. "
                 "Intente de nuevo en %(m)d min.") % {"m": minutes}
    else:
        text = _("Cuenta bloqueada por demasiados intentos fallidos de ingreso. Pida a un administrador que la desbloquee.")
    resp = limit_response(request, LoginLocked(text), _("Ingreso bloqueado"))
    if seconds:
        resp["Retry-After"] = str(seconds)
    return resp
