"""Settings of GeoSIG Valle. Every value that differs between machines comes from ``geosig.env``."""
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from geosig.env import BASE_DIR, env

SECRET_KEY = env.str("SECRET_KEY")  # no default: fail closed
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Deployment behind a TLS reverse proxy (README «Desplegar detrás de un proxy inverso») ---------
# GEOSIG_HTTPS=true: cookies only over https, HSTS, http→https redirect, and the proxy's
# X-Forwarded-Proto trusted (the proxy MUST set it, overwriting the client's). Off by default: the
# local demo is served over plain http, where secure cookies would make logging in impossible.
GEOSIG_HTTPS = env.bool("GEOSIG_HTTPS", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = GEOSIG_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if GEOSIG_HTTPS else None
SECURE_HSTS_SECONDS = env.int("GEOSIG_HSTS_SECONDS", default=365 * 24 * 3600) if GEOSIG_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = GEOSIG_HTTPS and env.bool("GEOSIG_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preload lists are a months-long commitment of the whole domain: the owner of the domain opts in.
SECURE_HSTS_PRELOAD = GEOSIG_HTTPS and env.bool("GEOSIG_HSTS_PRELOAD", default=False)
# Django's defaults, stated: the session cookie is invisible to scripts; the CSRF cookie is NOT
# HttpOnly on purpose (geosig/static/geosig/shell.js reads it to send X-CSRFToken).
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI files served locally: the API docs work offline
    "leaflet",
    "geosig",
    "procrastinate.contrib.django",  # the job queue's tables and functions (migrations), see jobs/
    "jobs",
    "territorial",
    "cities",
    "layers",
    "plan",
    "ogc",  # OGC API Features/Tiles/Records over every app above (top of the stack)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "geosig.middleware.DefaultLanguageMiddleware",
    "django.middleware.gzip.GZipMiddleware",  # slow connections: municipal GeoJSON compresses ~4x
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "geosig.urls"
WSGI_APPLICATION = "geosig.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "geosig.context.map_settings",
                "geosig.nav.items",
            ],
        },
    },
]

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default="postgis://postgres@127.0.0.1:5432/geosig"
    )
}
if DATABASES["default"]["ENGINE"] != "django.contrib.gis.db.backends.postgis":
    raise ImproperlyConfigured("DATABASE_URL debe usar el esquema postgis:// (GeoSIG necesita PostGIS).")
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Reuse connections: opening one (plus GeoDjango's PostGIS version probe) costs more than serving
# a cached response. Health checks drop connections the server closed.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared by all server processes, no extra service: holds data versions (geosig.versioned).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "geosig_cache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Español")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Spanish pages format numbers and dates as in Colombia (1.234,5): see geosig/locale_formats/es/formats.py.
# USE_THOUSAND_SEPARATOR stays off: templates print years, ids and versions with {{ }} (and in option
# values) and must not get "2.018"; quantities are formatted on purpose (geosig.numbers, |floatformat:"0g").
FORMAT_MODULE_PATH = ["geosig.locale_formats"]
TIME_ZONE = "America/Bogota"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# npm packages (package.json at the root; installed by setup step 4) served under their own prefix.
STATICFILES_DIRS = [("geoman", BASE_DIR / "node_modules/@geoman-io/leaflet-geoman-free/dist")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "media/"

# Dask for large raster work (layers/distributed.py; README «Dask»). GEOSIG_DASK_SCHEDULER=tcp://host:8786 sends
# tasks to an existing cluster; empty → a LocalCluster sized to this machine. GEOSIG_DASK turns it on for the
# entry points (default: on only when a scheduler is named). GEOSIG_SHARED_DIR must be the same path on every
# worker (inputs reach them as COGs written there).
GEOSIG_DASK_SCHEDULER = env.str("GEOSIG_DASK_SCHEDULER", default="")
GEOSIG_DASK = env.bool("GEOSIG_DASK", default=bool(GEOSIG_DASK_SCHEDULER))
GEOSIG_SHARED_DIR = Path(env.str("GEOSIG_SHARED_DIR", default=str(MEDIA_ROOT / "shared")))

# Where setup copies the real data from (a local mirror of shared/data) and keeps it.
GEOSIG_DATA_MIRROR = Path(env.str("GEOSIG_DATA_MIRROR", default=str(BASE_DIR.parent / "shared" / "data")))
GEOSIG_DATA_BASE_URL = env.str("GEOSIG_DATA_BASE_URL", default="")
GEOSIG_RAW_DIR = BASE_DIR / "data" / "raw"
GEOSIG_PROCESSED_DIR = BASE_DIR / "data" / "processed"

# The department's bounding box plus ~0.5° margin: anything farther is "outside the Valle".
GEOSIG_VALLE_BBOX = (-77.6, 3.0, -75.6, 5.1)
GEOSIG_MEASURE_SRID = 9377  # MAGNA-SIRGAS Origen Nacional: areas and distances

# Base map: none by default (works offline); set e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png
GEOSIG_BASEMAP_URL = env.str("GEOSIG_BASEMAP_URL", default="")
GEOSIG_BASEMAP_ATTRIBUTION = env.str("GEOSIG_BASEMAP_ATTRIBUTION", default="")

LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (3.9, -76.4),
    "DEFAULT_ZOOM": 8,
    "TILES": [(_("Mapa base"), GEOSIG_BASEMAP_URL, {"attribution": GEOSIG_BASEMAP_ATTRIBUTION})]
    if GEOSIG_BASEMAP_URL
    else [],
    "RESET_VIEW": False,
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "geosig.errors.api_exception_handler",
    # Browser sessions only (with CSRF): no HTTP Basic, which would send passwords with every request.
    # Scripts use the management commands on the server (README «Desplegar detrás de un proxy inverso»).
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GeoSIG Valle API",
    "DESCRIPTION": "Sistema de Información Georreferenciado del Valle del Cauca",
    "VERSION": "1",
    # Swagger UI from the sidecar's static files (no CDN); the page loads its init script from
    # /api/v1/docs/?script= (SpectacularSwaggerSplitView), so a "script-src 'self'" policy suffices.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Shared error response, plain-Django tile views and unique operation ids: geosig.openapi.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "geosig.openapi.add_plain_views",
    ],
}

# Uploads: refuse big bodies deliberately (slow links, zip bombs); layers set their own caps.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
GEOSIG_MAX_UPLOAD_BYTES = env.int("GEOSIG_MAX_UPLOAD_BYTES", default=100 * 1024 * 1024)
# Every list a request names (layers, modes, ids…) is de-duplicated and capped at this (geosig.params).
GEOSIG_MAX_LIST_ITEMS = env.int("GEOSIG_MAX_LIST_ITEMS", default=50)
# Layer imports (layers app): archives are checked BEFORE extraction; rasters above the pixel cap are refused.
GEOSIG_LAYERS_MAX_UNZIPPED_BYTES = env.int("GEOSIG_LAYERS_MAX_UNZIPPED_BYTES", default=500 * 1024 * 1024)
GEOSIG_LAYERS_MAX_ZIP_MEMBERS = env.int("GEOSIG_LAYERS_MAX_ZIP_MEMBERS", default=200)
GEOSIG_LAYERS_MAX_ZIP_RATIO = env.int("GEOSIG_LAYERS_MAX_ZIP_RATIO", default=100)
GEOSIG_LAYERS_MAX_RASTER_PIXELS = env.int("GEOSIG_LAYERS_MAX_RASTER_PIXELS", default=50_000_000)
GEOSIG_LAYERS_INVALID_POLICY = env.str("GEOSIG_LAYERS_INVALID_POLICY", default="repair")  # or "reject"

SILENCED_SYSTEM_CHECKS = ["gis.W001"]  # GDAL 3.6 on Debian 12: harmless, see NOTES

LOGIN_URL = "login"
# After logging out, back to the app (not Django admin's "logged out" page).
LOGOUT_REDIRECT_URL = "home"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# --- Browser security headers: Content-Security-Policy (django-csp 4) and friends -------------------
# Every script is a same-origin file and every user string reaches the DOM as text, so the policy can
# forbid inline scripts, eval and plugins. NONCE is only emitted when a view asks for request.csp_nonce:
# django-leaflet's admin map widgets do (their inline <script nonce=…>); the app's own pages never do.
# Styles: no inline <style> or style="" in the app's templates (Leaflet and our scripts set element.style
# from JavaScript, which CSP allows), so style-src stays 'self' too.
from urllib.parse import urlsplit as _urlsplit  # noqa: E402

from csp.constants import NONCE as _NONCE, NONE as _NONE, SELF as _SELF  # noqa: E402


def _tile_source(url):
    """CSP source of a tile URL template: https://{s}.tile.example.org/{z}/… → https://*.tile.example.org."""
    parts = _urlsplit(url)
    labels = parts.netloc.split(".")
    if labels and "{" in labels[0]:
        labels[0] = "*"
    host = ".".join(labels)
    return f"{parts.scheme}://{host}" if parts.scheme in ("http", "https") and "{" not in host else None


_CSP_IMG = [_SELF, "data:", "blob:"] + ([s] if (s := _tile_source(GEOSIG_BASEMAP_URL)) else [])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF, _NONCE],
        "style-src": [_SELF],
        "img-src": _CSP_IMG,
        "font-src": [_SELF],
        "connect-src": [_SELF],
        "object-src": [_NONE],
        "base-uri": [_SELF],
        "form-action": [_SELF],
        "frame-ancestors": [_NONE],
    }
}
INSTALLED_APPS.append("csp")
MIDDLEWARE.append("csp.middleware.CSPMiddleware")
# Django's defaults, stated so a change is deliberate (tests assert them).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Abuse limits: request rates, login lockout, body sizes, cache bounds ------------------------------
# Rates (geosig.throttling): "anon"/"user" for every API request and throttled page, plus scopes for
# heavy work; "<scope>_anon" applies to anonymous clients. Override any with
# GEOSIG_THROTTLE_RATES="reports_anon=5/min,downloads=60/min".
GEOSIG_THROTTLE_ENABLED = env.bool("GEOSIG_THROTTLE_ENABLED", default=True)
GEOSIG_THROTTLE_RATES = {
    "anon": "300/min", "user": "1200/min",
    "reports_anon": "20/min", "reports": "60/min",  # balance computations and PDF/HTML reports
    "overlay_anon": "60/min", "overlay": "240/min",  # overlay summaries, identify
    "conflicts_anon": "20/min", "conflicts": "60/min",  # POT conflict analysis
    "downloads_anon": "30/min", "downloads": "120/min",  # GeoPackage/GeoJSON/CSV/TIF files
    "jobs_anon": "10/min", "jobs": "20/min",  # corridor runs and imports
    "ogc_anon": "120/min", "ogc": "600/min",  # OGC API items and catalogue records (pages of up to 1000/10000)
    **env.dict("GEOSIG_THROTTLE_RATES", default={}),
}
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["geosig.throttling.GeoSIGThrottle"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = GEOSIG_THROTTLE_RATES
# Reverse proxies in front of the app whose X-Forwarded-For is trusted; 0: the client address is
# REMOTE_ADDR (a client cannot choose its own rate bucket or lockout key by sending the header).
REST_FRAMEWORK["NUM_PROXIES"] = env.int("GEOSIG_NUM_PROXIES", default=0)

# Login lockout (django-axes): N failures of one username from one address lock that pair for the
# cool-off period, whatever password comes next; other users and other addresses are unaffected.
INSTALLED_APPS.append("axes")
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "geosig.lockout.client_ip"  # the same address as the rate limits
AXES_LOCKOUT_CALLABLE = "geosig.lockout.lockout_response"  # Spanish page / JSON, 429 + Retry-After
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last, as django-axes asks

# Bodies: refused from Content-Length before any parsing, and cut while streaming (geosig.middleware).
# Multipart uploads to these URL names may reach GEOSIG_MAX_UPLOAD_BYTES; every other body
# DATA_UPLOAD_MAX_MEMORY_SIZE.
GEOSIG_UPLOAD_URL_NAMES = {"api-layers-upload", "layers-upload", "api-pot-import", "api-cities-matrices",
                           "api-cities-functions", "api-cities-attributes", "api-corridors-inputs"}
# after AuthenticationMiddleware (the upload limit is for signed-in users), before any process_view reads a body
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "geosig.middleware.BodySizeLimitMiddleware")

# Caches keyed by request parameters are bounded (least recently used / oldest evicted first).
GEOSIG_MEMO_MAX_ENTRIES = env.int("GEOSIG_MEMO_MAX_ENTRIES", default=256)  # per namespace and process
GEOSIG_MEMO_MAX_BYTES = env.int("GEOSIG_MEMO_MAX_BYTES", default=32 * 1024 * 1024)  # (map tiles: many small)
POT_CONFLICT_CACHE_MAX_ENTRIES = env.int("POT_CONFLICT_CACHE_MAX_ENTRIES", default=500)  # per mode
POT_CONFLICT_CACHE_MAX_BYTES = env.int("POT_CONFLICT_CACHE_MAX_BYTES", default=256 * 1024 * 1024)
# Expensive knobs: anonymous visitors get a lower cap of the Theil permutation test (cities).
CITIES_MAX_PERMUTATIONS_ANON = env.int("CITIES_MAX_PERMUTATIONS_ANON", default=999)

# --- Background jobs (jobs/, Procrastinate on this PostgreSQL) -----------------------------------------
# A worker sends a heartbeat every JOBS_HEARTBEAT_SECONDS; a worker silent for JOBS_STALE_SECONDS is dead
# and another worker re-queues (or fails) its jobs. Transient failures retry after 5, 10, 20… seconds.
JOBS_HEARTBEAT_SECONDS = env.float("JOBS_HEARTBEAT_SECONDS", default=10)
JOBS_STALE_SECONDS = env.float("JOBS_STALE_SECONDS", default=60)
JOBS_RETRY_BASE_SECONDS = env.float("JOBS_RETRY_BASE_SECONDS", default=5)
JOBS_CONCURRENCY = env.int("JOBS_CONCURRENCY", default=1)
JOBS_POLL_SECONDS = env.float("JOBS_POLL_SECONDS", default=1)  # bounds a missed NOTIFY wake-up
# An uploaded layer file above this size is imported by a worker (a job), not inside the request.
GEOSIG_IMPORT_JOB_BYTES = env.int("GEOSIG_IMPORT_JOB_BYTES", default=20 * 1024 * 1024)
# Uploaded corridor/connectivity input files (MEDIA_ROOT/corridors/inputs/) older than this and read by no queued
# or running job are removed by the workers' cleanup: the store would otherwise only grow.
CORRIDOR_INPUTS_RETENTION_HOURS = env.float("CORRIDOR_INPUTS_RETENTION_HOURS", default=48)
# Cap on a corridor run's analysis grid (and on an uploaded Circuitscape grid): a bigger one is a 400 naming
# the cell size that would fit.
CORRIDORS_MAX_CELLS = env.int("CORRIDORS_MAX_CELLS", default=20_000_000)
# Corridor and Circuitscape runs computing at once (they share the machine's cores); one more is a 409.
CORRIDORS_MAX_ACTIVE = env.int("CORRIDORS_MAX_ACTIVE", default=2)
# A corridor run without a live job still «running» after this many minutes lost its process: marked failed.
CORRIDORS_STALE_MINUTES = env.int("CORRIDORS_STALE_MINUTES", default=60)
# Department-wide POT conflict jobs queued or running at once: each parameter set is its own job, so without a cap
# anonymous requests could fill the queue; one more is a 409.
POT_DEPARTMENT_MAX_ACTIVE = env.int("POT_DEPARTMENT_MAX_ACTIVE", default=3)

# --- Omnidirectional connectivity (Omniscape, layers/connectivity/) -------------------------------------
# Cap on the analysed grid: the cost grows with cells × window; a bigger request is a 400 naming the cell size
# that would fit (checked at the request, from a raster's header, and again in the job).
CONNECTIVITY_MAX_CELLS = env.int("CONNECTIVITY_MAX_CELLS", default=4_000_000)
# Threads a connectivity job solves windows with (the machine's cores; the worker runs one job at a time).
CONNECTIVITY_THREADS = env.int("CONNECTIVITY_THREADS", default=2)
# How often a running job reads its cancel flag (s); 0 = before every target block (one indexed read).
CONNECTIVITY_CANCEL_POLL_SECONDS = env.float("CONNECTIVITY_CANCEL_POLL_SECONDS", default=0.0)

# --- OGC API Features (ogc/) ---------------------------------------------------------------------------
# Largest page of items: a larger ``limit`` is capped, not refused (OGC); visitors without a session get less.
OGC_MAX_LIMIT = env.int("OGC_MAX_LIMIT", default=10000)
OGC_MAX_LIMIT_ANON = env.int("OGC_MAX_LIMIT_ANON", default=1000)
