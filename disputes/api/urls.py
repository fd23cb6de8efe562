"""URLs of REST API v1, mounted at /api/v1/ (docs/design.md, "REST API v1")."""
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from disputes.api import views as api
from disputes.api import webhooks
from disputes.api.errors import api_not_found

urlpatterns = [
    path("cases/", api.CaseListCreate.as_view(), name="api-cases"),
    path("cases/<str:reference>/", api.CaseDetail.as_view(), name="api-case"),
    path("cases/<str:reference>/events/", api.CaseEventList.as_view(), name="api-case-events"),
    path("cases/<str:reference>/notes/", api.CaseNoteCreate.as_view(), name="api-case-notes"),
    path("cases/<str:reference>/transitions/<str:name>/", api.CaseTransitionCreate.as_view(), name="api-case-transition"),
    path("cases/<str:reference>/refund/retry/", api.CaseRefundRetry.as_view(), name="api-case-refund-retry"),
    path("customers/", api.CustomerLookup.as_view(), name="api-customers"),
    path("merchants/<str:merchant_id>/", api.MerchantDetail.as_view(), name="api-merchant"),
    path("webhooks/", webhooks.WebhookEndpointListCreate.as_view(), name="api-webhooks"),
    path("webhooks/<int:endpoint_id>/", webhooks.WebhookEndpointDetail.as_view(), name="api-webhook"),
    path("webhooks/<int:endpoint_id>/ping/", webhooks.WebhookEndpointPing.as_view(), name="api-webhook-ping"),
    path("webhooks/<int:endpoint_id>/deliveries/", webhooks.WebhookDeliveryList.as_view(), name="api-webhook-deliveries"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]), name="api-schema"),
    # The split view serves its start-up script as a file (?script): no inline script under the CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(
        url_name="api-schema", template_name="disputes/api_docs.html", permission_classes=[], authentication_classes=[],
    ), name="api-docs"),
    re_path(r"^.*$", api_not_found),
]
