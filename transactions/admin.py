"""Admin for the imported transaction records.

Both tables grow to millions of rows: lists search by exact key only (every
searched column is indexed), never count the whole table, and rows are never
deleted here (they come from the bank's files; an ``import_transactions``
command is planned, not built yet: docs/design.md, "Commands").
"""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import BigTableAdmin

from .models import LedgerEntry, SettlementRecord


class ImportedRecordAdmin(BigTableAdmin):
    """Imported records may be corrected, never deleted (the files are the source).

    Listed newest import first, on the primary key: the models' time ordering
    has no index of its own and would sort the whole table.
    """

    ordering = ("-id",)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ImportedRecordAdmin):
    list_display = (
        "entry_id", "kind", "amount", "currency", "card_last4", "posted_at",
        "merchant_id", "terminal_id", "rrn", "stan",
    )
    list_filter = ("kind", "currency")
    # Each an indexed column: PostgreSQL ORs their indexes instead of scanning.
    search_fields = (
        "entry_id__exact", "rrn__exact", "card_last4__exact", "merchant_id__exact", "terminal_id__exact",
    )
    search_help_text = _("Exact entry id, RRN, card last 4, merchant id or terminal id.")
    sortable_by = ("entry_id",)
    fieldsets = (
        (None, {"fields": ("entry_id", "kind", "customer_ref", "card_last4", "amount", "currency", "posted_at")}),
        (_("POS slip"), {"fields": ("merchant_id", "terminal_id", "rrn", "stan", "auth_code")}),
    )


@admin.register(SettlementRecord)
class SettlementRecordAdmin(ImportedRecordAdmin):
    list_display = (
        "record_id", "status", "processor", "amount", "currency", "transacted_at",
        "merchant_id", "terminal_id", "rrn", "stan",
    )
    list_filter = ("status", "currency")
    search_fields = (
        "record_id__exact", "rrn__exact", "merchant_id__exact", "terminal_id__exact",
    )
    search_help_text = _("Exact record id, RRN, merchant id or terminal id.")
    sortable_by = ("record_id",)
    fieldsets = (
        (None, {"fields": ("record_id", "processor", "status", "amount", "currency", "transacted_at")}),
        (_("POS slip"), {"fields": ("merchant_id", "terminal_id", "rrn", "stan", "auth_code")}),
    )
