"""Admin for the imported transaction records and the history of imports and reconciliations.

Both record tables grow to millions of rows: lists search by exact key only
(every searched column is indexed), never count the whole table, and rows are
never added or deleted here (they come from the bank's files through
``manage.py import_transactions``: docs/design.md, "Commands"); a correction
is logged with the values it replaced. Imports,
reconciliations and their orphan debits are written by their services only:
here they are read.
"""
from __future__ import annotations

from datetime import datetime

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import BigTableAdmin

from .models import ImportRun, LedgerEntry, OrphanDebit, ReconciliationRun, SettlementRecord


class ImportedRecordAdmin(BigTableAdmin):
    """Imported records may be corrected, never added or deleted here (the files
    are the source: a record typed in by hand, a reversal say, would tell a
    customer their money is back). A correction keeps in the record's history
    (Django's admin log) each changed field with its value before and after.

    Listed newest import first, on the primary key: the models' time ordering
    has no index of its own and would sort the whole table.
    """

    ordering = ("-id",)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def construct_change_message(self, request: HttpRequest, form, formsets, add: bool = False):
        if add or not form.changed_data:
            return super().construct_change_message(request, form, formsets, add)
        changes = "; ".join(f"{name}: {_shown(form.initial.get(name))} → {_shown(form.cleaned_data.get(name))}"
                            for name in form.changed_data)
        return gettext("Corrected: %(changes)s.") % {"changes": changes}


def _shown(value) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    return str(value)


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


class HistoryAdmin(BigTableAdmin):
    """What a service recorded: read only, newest first."""

    ordering = ("-id",)
    sortable_by = ()

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ImportRun)
class ImportRunAdmin(HistoryAdmin):
    list_display = ("started_at", "kind", "file_name", "status", "rows_total", "rows_imported",
                    "rows_already_present", "bad_rows", "user")
    list_filter = ("kind", "status")
    list_select_related = ("user",)
    search_fields = ("sha256__exact",)
    search_help_text = _("Exact SHA-256 of a file.")
    fields = ("kind", "file_name", "sha256", "user", "started_at", "finished_at", "status", "rows_total",
              "rows_imported", "rows_already_present", "bad_rows", "bad_lines")
    readonly_fields = fields

    @admin.display(description=_("first bad lines"))
    def bad_lines(self, run: ImportRun):
        return format_html_join(
            mark_safe("<br>"), "{}: {}",
            ((_("line %(line)s") % {"line": error.get("line")},
              "; ".join(": ".join(part for part in problem if part) for problem in error.get("problems", [])))
             for error in run.errors or []),
        ) or "–"


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(HistoryAdmin):
    list_display = ("as_of", "grace", "debits", "approved_records", "pairs_by_rrn", "pairs_by_terminal",
                    "pairs_by_merchant", "orphans", "finished_at")
    fields = ("as_of", "grace", "started_at", "finished_at", "debits", "approved_records", "pairs_by_rrn",
              "pairs_by_terminal", "pairs_by_merchant", "orphans", "orphan_list")
    readonly_fields = fields

    @admin.display(description=_("orphan debits"))
    def orphan_list(self, run: ReconciliationRun):
        url = reverse("admin:transactions_orphandebit_changelist") + f"?reconciliation__id__exact={run.pk}"
        return format_html('<a href="{}">{}</a>', url, _("%(count)s orphan debits") % {"count": run.orphans})


@admin.register(OrphanDebit)
class OrphanDebitAdmin(HistoryAdmin):
    list_display = ("entry", "posted_at", "card_last4", "amount", "outstanding", "probable_duplicate",
                    "terminal_id", "reconciliation")
    list_filter = ("probable_duplicate",)
    list_select_related = ("entry", "reconciliation")
    search_fields = ("entry__entry_id__exact",)
    search_help_text = _("Exact entry id.")
    fields = ("reconciliation", "entry", "outstanding", "probable_duplicate")
    readonly_fields = fields

    @admin.display(description=_("posted at"))
    def posted_at(self, orphan: OrphanDebit):
        return orphan.entry.posted_at

    @admin.display(description=_("card last 4"))
    def card_last4(self, orphan: OrphanDebit):
        return orphan.entry.card_last4

    @admin.display(description=_("amount"))
    def amount(self, orphan: OrphanDebit):
        return orphan.entry.amount

    @admin.display(description=_("terminal id"))
    def terminal_id(self, orphan: OrphanDebit):
        return orphan.entry.terminal_id
