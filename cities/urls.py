from django.urls import path

from cities import api, views

urlpatterns = [
    path("ciudades/", views.balance_page, name="cities-balance"),
    path("api/v1/cities/balance/", api.Balance.as_view(), name="api-cities-balance"),
    path("api/v1/cities/balance/report.<str:fmt>", api.BalanceDownload.as_view(), name="api-cities-report"),
    path("api/v1/cities/scenarios/", api.Scenarios.as_view(), name="api-cities-scenarios"),
    path("api/v1/cities/scenarios/<slug:name>/", api.ScenarioDetail.as_view(), name="api-cities-scenario"),
    path("api/v1/cities/matrices/", api.Matrices.as_view(), name="api-cities-matrices"),
    path("api/v1/cities/functions/", api.Functions.as_view(), name="api-cities-functions"),
    path("api/v1/cities/attributes/", api.Attributes.as_view(), name="api-cities-attributes"),
    path("api/v1/cities/templates/<str:kind>.csv", api.Template.as_view(), name="api-cities-template"),
]
