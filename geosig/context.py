from django.conf import settings


def map_settings(request):
    """Values every map page needs (read by shell.js from the json_script in base.html)."""
    return {
        "geosig_config": {
            "basemapUrl": settings.GEOSIG_BASEMAP_URL,
            "basemapAttribution": settings.GEOSIG_BASEMAP_ATTRIBUTION,
        }
    }
