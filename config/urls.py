from django.contrib import admin
from django.urls import include, path, re_path

from disputes import views
from disputes.api_errors import api_not_found

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("disputes.api_urls")),
    re_path(r"^api/", api_not_found),
]
