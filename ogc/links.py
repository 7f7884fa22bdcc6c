"""Service URLs of a layer for the 'Añadir a QGIS' box (registered in layers.hooks by OgcConfig.ready)."""
from __future__ import annotations

from django.urls import reverse


def layer_service_links(layer, request) -> dict:
    root = request.build_absolute_uri(reverse("ogc-landing")).rstrip("/")
    cid = f"capa-{layer.slug}"
    out = {"ogc_features": f"{root}/", "ogc_collection": f"{root}/collections/{cid}",
           "ogc_tiles": f"{root}/collections/{cid}/tiles/WebMercatorQuad",
           "ogc_record": f"{root}/collections/catalogo/items/{cid}",
           "iso19139": f"{root}/collections/catalogo/items/{cid}?f=xml"}
    if layer.kind != "vector":
        del out["ogc_features"]
    return out
