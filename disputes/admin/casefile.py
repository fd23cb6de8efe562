"""Read-only admins of what hangs off a case: events, notes, attachments, refunds, e-mails, SLA alerts."""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from disputes.admin.base import CaseRecordAdmin
from disputes.models import Attachment, CaseEvent, CaseNote, Notification, Refund, SlaAlert

# --- what hangs off a case ---------------------------------------------------------------


@admin.register(CaseEvent)
class CaseEventAdmin(CaseRecordAdmin):
    """The audit trail. The database refuses UPDATE and DELETE on it too."""

    list_display = ("created_at", "case", "kind", "transition", "from_state", "to_state", "actor_label")
    list_filter = ("kind",)
    fields = ("case", "created_at", "kind", "transition", "from_state", "to_state", "actor", "actor_label",
              "message", "payload", "case_version")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("case", "actor")


@admin.register(CaseNote)
class CaseNoteAdmin(CaseRecordAdmin):
    list_display = ("created_at", "case", "author_label", "visibility", "excerpt")
    list_filter = ("visibility",)
    fields = ("case", "created_at", "author", "author_label", "visibility", "body")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("case", "author")

    @admin.display(description=_("note"))
    def excerpt(self, obj: CaseNote) -> str:
        return obj.body if len(obj.body) <= 80 else obj.body[:79] + "…"


@admin.register(Attachment)
class AttachmentAdmin(CaseRecordAdmin):
    list_display = ("uploaded_at", "case", "original_name", "content_type", "size", "uploaded_by")
    list_select_related = ("case", "uploaded_by")
    fields = ("case", "original_name", "file", "content_type", "size", "sha256", "uploaded_by", "uploaded_at")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("case", "uploaded_by")


@admin.register(Refund)
class RefundAdmin(CaseRecordAdmin):
    list_display = ("proposed_at", "case", "amount", "currency", "status", "proposed_by", "decided_by",
                    "executed_at", "execution_reference")
    list_filter = ("status",)
    list_select_related = ("case", "proposed_by", "decided_by")
    fields = ("case", "debit", "amount", "currency", "status", "proposed_by", "proposed_at", "first_approved_by",
              "first_approved_at", "decided_by", "decided_at", "gateway", "attempts", "attempted_at", "last_error",
              "executed_at", "execution_reference", "expected_credit_on")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("case", "debit", "proposed_by", "first_approved_by",
                                                            "decided_by")


@admin.register(Notification)
class NotificationAdmin(CaseRecordAdmin):
    """The e-mail outbox; the periodic sweep re-sends what is pending."""

    list_display = ("created_at", "case", "recipient", "subject", "status", "attempts", "sent_at")
    list_filter = ("status",)
    fields = ("case", "recipient", "subject", "body", "status", "attempts", "last_error", "created_at", "sent_at")

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("case")


@admin.register(SlaAlert)
class SlaAlertAdmin(CaseRecordAdmin):
    """SLA reminders and breaches: part of the case file, read-only."""

    list_display = ("created_at", "case", "clock", "kind", "stage", "due_at")
    list_filter = ("clock", "kind", "stage")
