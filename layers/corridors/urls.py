from django.urls import path

from . import api, views

urlpatterns = [
    path("corredores/", views.page, name="corridors-page"),
    path("api/v1/corridors/", api.RunList.as_view(), name="api-corridors"),
    path("api/v1/corridors/options/", api.Options.as_view(), name="api-corridors-options"),
    path("api/v1/corridors/inputs/", api.InputUpload.as_view(), name="api-corridors-inputs"),
    path("corredores/circuitscape/", views.circuitscape_page, name="circuitscape-page"),
    path("api/v1/corridors/circuitscape/", api.CircuitscapeList.as_view(), name="api-circuitscape"),
    path("api/v1/corridors/circuitscape/<int:pk>/", api.CircuitscapeDetail.as_view(), name="api-circuitscape-run"),
    path("api/v1/corridors/circuitscape/<int:pk>/cancel/", api.CircuitscapeCancel.as_view(),
         name="api-circuitscape-cancel"),
    path("api/v1/corridors/circuitscape/<int:pk>/files/<str:name>", api.CircuitscapeFile.as_view(),
         name="api-circuitscape-file"),
    path("api/v1/corridors/<int:pk>/", api.RunDetail.as_view(), name="api-corridor-run"),
    path("api/v1/corridors/<int:pk>/cancel/", api.RunCancel.as_view(), name="api-corridor-cancel"),
    path("api/v1/corridors/<int:pk>/results/", api.RunResults.as_view(), name="api-corridor-results"),
    path("api/v1/corridors/<int:pk>/files/<str:name>", api.RunFile.as_view(), name="api-corridor-file"),
]
