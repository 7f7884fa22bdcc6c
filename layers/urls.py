from django.urls import include, path

from layers import api, views

urlpatterns = [
    path("capas/", views.explorer, name="layers-explorer"),
    path("capas/subir/", views.upload, name="layers-upload"),
    path("api/v1/layers/", api.LayerList.as_view(), name="api-layers"),
    path("api/v1/layers/upload/", api.Upload.as_view(), name="api-layers-upload"),
    path("api/v1/layers/<slug:slug>/", api.LayerDetail.as_view(), name="api-layer"),
    path("api/v1/layers/<slug:slug>/tiles/<int:z>/<int:x>/<int:y>.pbf", views.vector_tile_view, name="layer-mvt"),
    path("api/v1/layers/<slug:slug>/tiles/<int:z>/<int:x>/<int:y>.png", views.raster_tile_view, name="layer-png"),
    path("api/v1/layers/<slug:slug>/download.<str:fmt>", api.Download.as_view(), name="api-layer-download"),
    path("api/v1/overlay/", api.Overlay.as_view(), name="api-overlay"),
    path("api/v1/overlay/areas/", api.OverlayAreas.as_view(), name="api-overlay-areas"),
    path("api/v1/identify/", api.Identify.as_view(), name="api-identify"),
    path("", include("layers.corridors.urls")),  # corridors (issue 6)
    path("", include("layers.connectivity.urls")),  # Omniscape (issue 10)
]
