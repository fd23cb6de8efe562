"""What the case admins share: the case file is written only through the services."""
from __future__ import annotations

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import BigTableAdmin
from disputes.models import TRANSITION_LABELS, CaseEvent, Refund

# What each workflow step is called on a button.
# How many events the case page shows; the event list has them all.
CASE_PAGE_EVENTS = 50


def transition_label(name: str) -> str:
    return str(TRANSITION_LABELS.get(name, name))


# --- shared --------------------------------------------------------------------------


class WritesThroughServicesMixin:
    """No add, change or delete in the admin: every write to a case and its
    records goes through the workflow services (the admin's actions call them)."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CaseRecordAdmin(WritesThroughServicesMixin, BigTableAdmin):
    """Read-only admin for the rows a case's services write (events, notes, refunds...).

    Whoever may view cases may view these: a role is granted ``view_case``,
    not one permission per table of the case file.
    """

    list_select_related = ("case",)
    search_fields = ("case__reference__exact",)
    search_help_text = _("Exact case reference.")
    sortable_by = ()
    # Newest first on the primary key: the models' time orderings have no
    # index of their own across cases (only per case).
    ordering = ("-id",)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm("disputes.view_case")


class CaseRecordInline(WritesThroughServicesMixin, admin.TabularInline):
    """A read-only list of one kind of case record on the case page."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm("disputes.view_case")


class LatestEventsFormSet(BaseInlineFormSet):
    """Only the latest events: a long-running case may have hundreds."""

    def get_queryset(self):
        if not hasattr(self, "_latest"):
            self._latest = super().get_queryset()[:CASE_PAGE_EVENTS]
        return self._latest


class CaseEventInline(CaseRecordInline):
    model = CaseEvent
    formset = LatestEventsFormSet
    ordering = ("-created_at", "-id")
    fields = ("created_at", "kind", "transition", "from_state", "to_state", "actor_label", "message", "payload")
    readonly_fields = fields
    verbose_name_plural = _("latest events (newest first)")


class RefundInline(CaseRecordInline):
    model = Refund
    fields = ("proposed_at", "amount", "currency", "status", "proposed_by", "decided_by", "decided_at",
              "executed_at", "execution_reference")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("proposed_by", "decided_by")
