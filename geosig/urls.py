"""The project's URLs: each app brings its own pages and API under /api/v1/."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from geosig import openapi

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("cuentas/ingresar/", auth_views.LoginView.as_view(template_name="geosig/login.html"), name="login"),
    path("cuentas/salir/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/schema/", openapi.SchemaView.as_view(), name="schema"),
    # Split view: the init script is a same-origin file, not inline (Content-Security-Policy)
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", title="GeoSIG Valle API",
                                                     template_name="geosig/swagger_ui.html"),
         name="api-docs"),
    path("", include("jobs.urls")),
    path("", include("territorial.urls")),
    path("", include("territorial.pot.urls")),
    path("", include("layers.urls")),
    path("", include("cities.urls")),
    path("", include("plan.urls")),
    path("ogc/", include("ogc.urls")),  # OGC API – Features, Tiles, Records (ogc/)
]

handler403 = "geosig.error_views.permission_denied"
handler404 = "geosig.error_views.page_not_found"
handler500 = "geosig.error_views.server_error"
