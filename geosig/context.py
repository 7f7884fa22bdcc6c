from django.conf import settings
from django.utils.translation import gettext as _

# Apps that draw something under every map (territorial: the offline context map) register a
# provider here from their AppConfig.ready(); geosig itself knows none of them (one-way layering).
# A provider is fn(request) -> {"config": {...merged into geosig-config}, "scripts": [urls], "styles": [urls]}.
MAP_CONTEXT_PROVIDERS: list = []


def register_map_context(provider) -> None:
    if provider not in MAP_CONTEXT_PROVIDERS:
        MAP_CONTEXT_PROVIDERS.append(provider)


def map_settings(request):
    """Values every map page needs (read by shell.js from the json_script in base.html)."""
    config = {
        "basemapUrl": settings.GEOSIG_BASEMAP_URL,
        "basemapAttribution": settings.GEOSIG_BASEMAP_ATTRIBUTION,
        "basemapName": _("Mapa base en línea"),
    }
    scripts, styles = [], []
    for provider in MAP_CONTEXT_PROVIDERS:
        extra = provider(request)
        config.update(extra.get("config", {}))
        scripts += extra.get("scripts", [])
        styles += extra.get("styles", [])
    return {"geosig_config": config, "geosig_map_scripts": scripts, "geosig_map_styles": styles}
