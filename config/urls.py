from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from disputes import views

admin.site.site_header = _("Dispute Desk administration")
admin.site.site_title = _("Dispute Desk")
admin.site.index_title = _("Cases, reference data and records")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("staff/", views.staff_queue, name="staff-queue"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
