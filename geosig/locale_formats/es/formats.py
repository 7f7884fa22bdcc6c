"""LANGUAGE_CODE "es" formatted as in Colombia (es-CO): "1.234.567,8" and d/m/Y dates.

Django's generic "es" groups thousands with a no-break space; Colombian usage (and the browser's es-CO
Intl formatter used by shell.js) groups them with a dot. Django ships es_CO, so reuse it.
"""
from django.conf.locale.es_CO.formats import *  # noqa: F401,F403
