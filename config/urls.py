from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _

from disputes.web import merchant, public as views
from disputes.api.errors import api_not_found

admin.site.site_header = _("Dispute Desk administration")
admin.site.site_title = _("Dispute Desk")
admin.site.index_title = _("Cases, reference data and records")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("complaints/new/", views.complaint_new, name="complaint-new"),
    path("complaints/new/done/", views.complaint_filed, name="complaint-filed"),
    path("complaints/track/", views.complaint_track, name="complaint-track"),
    path("complaints/track/reply/", views.complaint_reply, name="complaint-reply"),
    path("complaints/track/withdraw/", views.complaint_withdraw, name="complaint-withdraw"),
    path("complaints/track/evidence/", views.complaint_evidence, name="complaint-evidence"),
    path("merchant/respond/<str:token>/", merchant.merchant_respond, name="merchant-respond"),
    path("staff/", include("disputes.web.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("disputes.api.urls")),
    re_path(r"^api/", api_not_found),
]

# A request Django cannot read (a body above DATA_UPLOAD_MAX_MEMORY_SIZE, a form
# not in UTF-8): a clear page, or problem details under /api/.
handler400 = "disputes.web.public.bad_request"

# A crash is a 500; the database out of reach is a 503 with Retry-After (and
# problem details under /api/), never a page that needs the database itself.
handler500 = "disputes.web.errors.server_error"
