"""The project's URLs: each app brings its own pages and API under /api/v1/."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("cuentas/ingresar/", auth_views.LoginView.as_view(template_name="geosig/login.html"), name="login"),
    path("cuentas/salir/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("territorial.urls")),
    path("", include("territorial.pot.urls")),
    path("", include("layers.urls")),
    path("", include("cities.urls")),
]
