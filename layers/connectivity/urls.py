from django.urls import path

from . import api, views

urlpatterns = [
    path("conectividad/", views.page, name="connectivity-page"),
    path("api/v1/connectivity/", api.RunList.as_view(), name="api-connectivity"),
    path("api/v1/connectivity/<int:pk>/", api.RunDetail.as_view(), name="api-connectivity-run"),
    path("api/v1/connectivity/<int:pk>/cancel/", api.RunCancel.as_view(), name="api-connectivity-cancel"),
    path("api/v1/connectivity/<int:pk>/results/", api.RunResults.as_view(), name="api-connectivity-results"),
    path("api/v1/connectivity/<int:pk>/files/<str:name>", api.RunFile.as_view(), name="api-connectivity-file"),
    path("api/v1/connectivity/<int:pk>/tiles/<str:map>/<int:z>/<int:x>/<int:y>.png", api.RunTile.as_view(),
         name="api-connectivity-tile"),
]
