from django.urls import path

from territorial import api, context_views, views

urlpatterns = [
    path("", views.explorer, name="home"),
    path("fichas/municipio/<str:code>/", views.factsheet, {"kind": "municipio"}, name="factsheet-municipality"),
    path("fichas/subregion/<str:code>/", views.factsheet, {"kind": "subregion"}, name="factsheet-subregion"),
    path("api/v1/municipalities/", api.MunicipalityList.as_view(), name="api-municipalities"),
    path("api/v1/municipalities/search/", api.MunicipalitySearch.as_view(), name="api-municipality-search"),
    path("api/v1/municipalities/<str:divipola>/", api.MunicipalityDetail.as_view(), name="api-municipality"),
    path("api/v1/subregions/", api.SubregionList.as_view(), name="api-subregions"),
    path("api/v1/indicators/", api.IndicatorValues.as_view(), name="api-indicators"),
    path("api/v1/locate/", api.Locate.as_view(), name="api-locate"),
    path("api/v1/factsheets/batch/", api.FactSheetBatch.as_view(), name="api-factsheet-batch"),
    path("api/v1/factsheets/batch/<int:pk>/download/", api.FactSheetBatchDownload.as_view(),
         name="api-factsheet-batch-download"),
    path("api/v1/factsheets/<str:kind>/<str:code>/", api.FactSheet.as_view(), name="api-factsheet"),
    path("api/v1/downloads/<str:dataset>.<str:fmt>", api.Download.as_view(), name="api-download"),
    path("api/v1/context/tiles/<int:z>/<int:x>/<int:y>.pbf", context_views.context_tile_view, name="context-tiles"),
    path("api/v1/context/relief/<int:z>/<int:x>/<int:y>.png", context_views.relief_tile_view, name="context-relief"),
]
