"""Settings of GeoSIG Valle. Every value that differs between machines comes from ``geosig.env``."""
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from geosig.env import BASE_DIR, env

SECRET_KEY = env.str("SECRET_KEY")  # no default: fail closed
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

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
    "leaflet",
    "geosig",
    "territorial",
    "cities",
    "layers",
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
    from django.core.exceptions import ImproperlyConfigured

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
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GeoSIG Valle API",
    "DESCRIPTION": "Sistema de Información Georreferenciado del Valle del Cauca",
    "VERSION": "1",
}

# Uploads: refuse big bodies deliberately (slow links, zip bombs); layers set their own caps.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
GEOSIG_MAX_UPLOAD_BYTES = env.int("GEOSIG_MAX_UPLOAD_BYTES", default=100 * 1024 * 1024)
# Layer imports (layers app): archives are checked BEFORE extraction; rasters above the pixel cap are refused.
GEOSIG_LAYERS_MAX_UNZIPPED_BYTES = env.int("GEOSIG_LAYERS_MAX_UNZIPPED_BYTES", default=500 * 1024 * 1024)
GEOSIG_LAYERS_MAX_ZIP_MEMBERS = env.int("GEOSIG_LAYERS_MAX_ZIP_MEMBERS", default=200)
GEOSIG_LAYERS_MAX_ZIP_RATIO = env.int("GEOSIG_LAYERS_MAX_ZIP_RATIO", default=100)
GEOSIG_LAYERS_MAX_RASTER_PIXELS = env.int("GEOSIG_LAYERS_MAX_RASTER_PIXELS", default=50_000_000)
GEOSIG_LAYERS_INVALID_POLICY = env.str("GEOSIG_LAYERS_INVALID_POLICY", default="repair")  # or "reject"

SILENCED_SYSTEM_CHECKS = ["gis.W001"]  # GDAL 3.6 on Debian 12: harmless, see NOTES

LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
