"""Admin for the reference data the bank keeps on merchants, their POS
terminals and the payment processors behind them."""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _, ngettext

from core.admin import BigTableAdmin

from .models import Merchant, PaymentProcessor, Terminal


@admin.register(Merchant)
class MerchantAdmin(BigTableAdmin):
    list_display = ("name", "merchant_id", "contact_name", "contact_phone", "contact_email")
    # Searched by the terminal and case autocompletes too.
    search_fields = ("name", "merchant_id__exact")
    search_help_text = _("Part of the name, or the exact merchant id (MID).")
    readonly_fields = ("mid_breakdown", "terminals_link")
    fieldsets = (
        (None, {"fields": ("name", "merchant_id", "mid_breakdown")}),
        (_("Contact"), {"fields": ("contact_name", "contact_phone", "contact_email", "address")}),
        (_("Terminals"), {"fields": ("terminals_link",)}),
    )

    @admin.display(description=_("what the MID encodes"))
    def mid_breakdown(self, obj: Merchant) -> str:
        if not obj.pk or not obj.merchant_id:
            return "-"
        parts = obj.mid_parts
        return _("acquirer %(acquirer_code)s · area %(area_code)s · MCC %(mcc)s · no. %(sequence)s") % parts

    @admin.display(description=_("terminals"))
    def terminals_link(self, obj: Merchant) -> str:
        """A link to the filtered terminal list: a chain may have thousands, too many for an inline."""
        if not obj.pk:
            return "-"
        count = obj.terminals.count()
        url = reverse("admin:merchants_terminal_changelist") + f"?merchant__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, ngettext("%(count)s terminal", "%(count)s terminals", count) % {"count": count})


@admin.register(Terminal)
class TerminalAdmin(BigTableAdmin):
    list_display = ("terminal_id", "merchant", "model", "status")
    list_filter = ("status",)
    list_select_related = ("merchant",)
    search_fields = ("terminal_id__exact", "merchant__merchant_id__exact")
    search_help_text = _("Exact terminal id (TID) or merchant id (MID).")
    autocomplete_fields = ("merchant",)

    def get_queryset(self, request: HttpRequest):
        # __str__ names the merchant: load it with the terminal everywhere.
        return super().get_queryset(request).select_related("merchant")


@admin.register(PaymentProcessor)
class PaymentProcessorAdmin(admin.ModelAdmin):
    list_display = ("name", "licence_number", "licensed", "promised_response_hours", "inquiry_phone")
    list_filter = ("licensed",)
    search_fields = ("name", "licence_number")
    fieldsets = (
        (None, {"fields": ("name", "licence_number", "licensed")}),
        (_("Inquiries"), {"fields": ("inquiry_contact", "inquiry_email", "inquiry_phone", "promised_response_hours")}),
    )
