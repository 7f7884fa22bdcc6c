# Before anything else in any process: GDAL configuration that every GDAL in the process reads when it
# registers its drivers (see geosig/gdal_hardening.py). Importing ``geosig.<anything>`` runs this first.
from geosig import gdal_hardening  # noqa: F401
