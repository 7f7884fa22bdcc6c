"""OGC API – Tiles metadata: the WebMercatorQuad TileMatrixSet (definition taken from pygeoapi, which ships
the OGC TMS 2.0 document) and the tileset of each layer of the registry."""
from __future__ import annotations

from django.utils.translation import gettext as _
from pygeoapi.models.provider.base import TileMatrixSetEnum

from geosig.errors import NotFound
from layers.services.tiles import MAX_ZOOM

_WMQ = TileMatrixSetEnum.WEBMERCATORQUAD.value
ID = _WMQ.tileMatrixSet  # "WebMercatorQuad"
URI = _WMQ.tileMatrixSetURI
TITLE = _WMQ.title


def check(tms_id: str) -> None:
    if tms_id != ID:
        raise NotFound(_("Conjunto de matrices de teselas desconocido «%(id)s». Válido: %(valid)s.")
                       % {"id": str(tms_id)[:60], "valid": ID})


def definition() -> dict:
    """The TMS 2.0 JSON document, zoom levels 0–MAX_ZOOM (what the tile endpoints serve)."""
    matrices = [dict(m, tileWidth=m.get("tileWidth", 256), tileHeight=m.get("tileHeight", 256))
                for m in _WMQ.tileMatrices if int(m["id"]) <= MAX_ZOOM]
    return {"id": ID, "title": TITLE, "uri": URI, "crs": _WMQ.crs, "orderedAxes": list(_WMQ.orderedAxes),
            "wellKnownScaleSet": _WMQ.wellKnownScaleSet, "tileMatrices": matrices}


def _media(collection) -> str:
    return "image/png" if collection.layer.kind == "raster" else "application/vnd.mapbox-vector-tile"


def tileset_summary(collection, root: str) -> dict:
    base = f"{root}/collections/{collection.id}/tiles/{ID}"
    return {"title": str(collection.title), "tileMatrixSetURI": URI, "crs": _WMQ.crs,
            "dataType": "map" if collection.layer.kind == "raster" else "vector",
            "links": [{"href": base, "rel": "self", "type": "application/json", "title": str(collection.title)},
                      {"href": f"{root}/tileMatrixSets/{ID}", "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                       "type": "application/json"}]}


def tileset(collection, root: str) -> dict:
    out = tileset_summary(collection, root)
    base = f"{root}/collections/{collection.id}/tiles/{ID}"
    out["links"].append({"href": base + "/{tileMatrix}/{tileRow}/{tileCol}", "rel": "item", "templated": True,
                         "type": _media(collection), "title": _("Teselas (plantilla)")})
    x0, y0, x1, y1 = collection.bbox
    out["boundingBox"] = {"lowerLeft": [x0, y0], "upperRight": [x1, y1],
                          "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
    if collection.layer.kind == "vector":
        out["layers"] = [{"id": collection.layer.slug, "dataType": "vector",
                          "geometryDimension": {"point": 0, "line": 1, "polygon": 2}.get(collection.layer.geometry_type, 2),
                          "propertiesSchema": {"type": "object", "properties": {
                              "id": {"type": "integer"}, "class": {"type": "string"}, "label": {"type": "string"}}}}]
    return out
