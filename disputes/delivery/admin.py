"""Admin pages for the call center's webhooks: endpoints, and the delivery log
with a "send again" action. Imported by disputes/admin.py."""
from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from disputes.delivery import webhooks
from disputes.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "active", "created_at", "created_by", "removed_at"]
    list_filter = ["active", ("removed_at", admin.EmptyFieldListFilter)]
    readonly_fields = ["created_by", "removed_at"]
    search_fields = ["name", "url"]
    # A URL typed without a scheme means https: webhooks carry case data.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "endpoint", "event_case", "event_type", "status", "attempts", "replays", "last_status_code",
                    "next_attempt_at", "delivered_at", "created_at"]
    list_filter = ["status", "endpoint"]
    search_fields = ["event__case__reference"]
    list_select_related = ["endpoint", "event__case"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["replay"]

    @admin.display(description=_("case"))
    def event_case(self, delivery: WebhookDelivery) -> str:
        return delivery.event.case.reference if delivery.event_id else "—"  # a ping has no case

    @admin.display(description=_("event"))
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.payload.get("type", "")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Send the selected deliveries again"), permissions=["change"])
    def replay(self, request, queryset):
        count = webhooks.webhook_delivery_replay(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            ngettext("%(n)d delivery will be sent again.", "%(n)d deliveries will be sent again.", count) % {"n": count},
            messages.SUCCESS,
        )
