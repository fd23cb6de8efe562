"""Reads for the call center's webhook endpoints (the API's /api/v1/webhooks/)."""
from __future__ import annotations

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from disputes.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint


def user_may_view_webhooks(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("disputes.view_webhookendpoint"))


def webhook_endpoint_list(*, user) -> list[WebhookEndpoint]:
    """The endpoints not removed, each with its latest delivery (``last_delivery``)
    and its counts of pending and given-up deliveries; two queries in all.
    ``user`` None is the command line, which sees them all."""
    if user is not None and not user_may_view_webhooks(user):
        return []
    latest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-id")
    endpoints = list(
        WebhookEndpoint.objects.filter(removed_at=None).select_related("created_by")
        .annotate(
            last_delivery_id=Subquery(latest.values("pk")[:1]),
            deliveries_pending=Count("deliveries", filter=Q(deliveries__status=WebhookDeliveryStatus.PENDING)),
            deliveries_failed=Count("deliveries", filter=Q(deliveries__status=WebhookDeliveryStatus.FAILED)),
        )
        .order_by("name", "id")
    )
    last = WebhookDelivery.objects.select_related("event__case").in_bulk(
        [endpoint.last_delivery_id for endpoint in endpoints if endpoint.last_delivery_id])
    for endpoint in endpoints:
        endpoint.last_delivery = last.get(endpoint.last_delivery_id)
    return endpoints


def webhook_endpoint_get(*, user, endpoint_id: int) -> WebhookEndpoint:
    """One endpoint (as ``webhook_endpoint_list`` shows it), or Http404."""
    for endpoint in webhook_endpoint_list(user=user):
        if endpoint.pk == endpoint_id:
            return endpoint
    raise Http404(endpoint_id)


def webhook_deliveries(*, endpoint: WebhookEndpoint, status: str | None = None) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first (pings included)."""
    deliveries = endpoint.deliveries.select_related("event__case").order_by("-created_at", "-id")
    return deliveries.filter(status=status) if status else deliveries


# --- the customer's public pages -------------------------------------------------
