"""OGC API routes, mounted at /ogc/ (paths without trailing slashes, as the OGC specifications write them)."""
from django.urls import path

from ogc import views

urlpatterns = [
    path("", views.landing, name="ogc-landing"),
    path("api", views.api_document, name="ogc-api"),
    path("conformance", views.conformance, name="ogc-conformance"),
    path("collections", views.collections, name="ogc-collections"),
    path("collections/<str:collection_id>", views.collection, name="ogc-collection"),
    path("collections/<str:collection_id>/queryables", views.queryables, name="ogc-queryables"),
    path("collections/<str:collection_id>/items", views.items, name="ogc-items"),
    path("collections/<str:collection_id>/items/<str:item_id>", views.item, name="ogc-item"),
    path("collections/<str:collection_id>/tiles", views.tilesets, name="ogc-tilesets"),
    path("collections/<str:collection_id>/tiles/<str:tms_id>", views.tileset, name="ogc-tileset"),
    path("collections/<str:collection_id>/tiles/<str:tms_id>/<int:z>/<int:row>/<int:col>", views.tile,
         name="ogc-tile"),
    path("tileMatrixSets", views.tile_matrix_sets, name="ogc-tms-list"),
    path("tileMatrixSets/<str:tms_id>", views.tile_matrix_set, name="ogc-tms"),
]
