from django.conf import settings


def map_settings(request):
    """Values every map page needs, so templates never hard-code them."""
    return {
        "GEOSIG_BASEMAP_URL": settings.GEOSIG_BASEMAP_URL,
        "GEOSIG_BASEMAP_ATTRIBUTION": settings.GEOSIG_BASEMAP_ATTRIBUTION,
    }
