"""The case file: its audit trail (events), notes, attachments and refunds."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.cardguard import ScrubbedCharField, ScrubbedJSONField, ScrubbedTextField
from core.money import AmountField, CurrencyField
from disputes.models.case import TRANSITION_LABELS, Case
from disputes.models.sla import SlaAlertKind, sla_alert_text, sla_alert_what
from disputes.models.verification import Outcome
from disputes.workflow.names import EventKind, State

SLA_ALERT_KINDS = {EventKind.SLA_REMINDER: SlaAlertKind.REMINDER, EventKind.SLA_BREACH: SlaAlertKind.BREACH}


class SystemNote(models.TextChoices):
    """The notes the system writes on the steps it takes itself (the transition
    event's payload keeps the key as ``system_note``)."""

    RECORDS = "records", _("Automatic: the transaction records say so.")
    REFUND_PAID = "refund_paid", _("The refund is paid.")
    MERCHANT_SILENT = "merchant_silent", _("Automatic: the merchant did not answer within the stage target.")
    QUIET = "quiet", _("Automatic: closed after the quiet period.")


def event_words(kind: str, payload: dict) -> str | None:
    """The words of an event the system words from its payload, in the active
    language: what its writer stores as the message, and what the staff case
    page shows each reader. None for an event whose words are someone's own
    (a note, a reason), or one written before its payload held them."""
    if kind == EventKind.TRANSITION and payload.get("system_note") in SystemNote.values:
        return str(SystemNote(payload["system_note"]).label)
    if kind == EventKind.VERIFICATION and payload.get("outcome") in Outcome.values:
        return str(Outcome(payload["outcome"]).label)
    if kind in SLA_ALERT_KINDS and "due_text" in payload:
        what = sla_alert_what(payload.get("clock", ""), payload.get("stage", ""), payload.get("inquiry_reference"))
        return sla_alert_text(SLA_ALERT_KINDS[kind], what, payload["due_text"])
    if kind == EventKind.LINKED and "linked_to" in payload:
        return gettext("Linked to %(reference)s, the case about the same debit.") % {"reference": payload["linked_to"]}
    if kind == EventKind.LINKED and "joined_by" in payload:
        return gettext("Another complaint about the same debit joined: %(reference)s.") % {
            "reference": payload["joined_by"]}
    if kind == EventKind.REFUND and "execution_reference" in payload:
        return gettext("Refund paid")
    if kind == EventKind.REFUND and "error" in payload:
        return gettext("Refund payment failed: %(error)s") % {"error": payload["error"]}
    if kind == EventKind.REFUND and "attempts" in payload:
        return gettext("Refund payment retried")
    return None


class CaseEvent(models.Model):
    """One line of a case's audit trail. Append-only: the database refuses
    UPDATE and DELETE on this table (trigger in migration 0002)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("actor"))
    actor_label = models.CharField(_("actor"), max_length=150, help_text=_("Who acted, as shown in the trail: a username, 'customer' or 'system'."))
    transition = models.CharField(_("transition"), max_length=32, blank=True, choices=list(TRANSITION_LABELS.items()))
    from_state = models.CharField(_("from"), max_length=20, blank=True, choices=State.choices)
    to_state = models.CharField(_("to"), max_length=20, blank=True, choices=State.choices)
    message = ScrubbedTextField(_("message"), blank=True)
    payload = ScrubbedJSONField(_("payload"), default=dict, blank=True)
    case_version = models.PositiveIntegerField(_("case version"))
    created_at = models.DateTimeField(_("at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at", "id"], name="caseevent_case_time_idx"),
            # The dashboard's stage entries in a date range (disputes/selectors/dashboard.py).
            models.Index(fields=["created_at"], include=["to_state"], condition=models.Q(kind__in=["filed", "transition"]),
                         name="caseevent_dash_steps_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.transition}".strip()

    @property
    def text(self) -> str:
        """The message in the reader's language where the system wrote it from its
        payload (``event_words``: the worker writes in the site's language); else
        as it was written."""
        return event_words(self.kind, self.payload if isinstance(self.payload, dict) else {}) or self.message


class NoteVisibility(models.TextChoices):
    INTERNAL = "internal", _("internal")
    CUSTOMER = "customer", _("visible to the customer")


class CaseNote(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes", verbose_name=_("case"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("author"))
    author_label = models.CharField(_("author"), max_length=150)
    body = ScrubbedTextField(_("note"))
    visibility = models.CharField(_("visibility"), max_length=8, choices=NoteVisibility.choices, default=NoteVisibility.INTERNAL)
    created_at = models.DateTimeField(_("at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.body[:40]}"


def _attachment_path(instance: Attachment, filename: str) -> str:
    # ``filename`` is built by the service from the content hash, never the client's name.
    return f"cases/{instance.case.reference}/{filename}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments", verbose_name=_("case"))
    file = models.FileField(_("file"), upload_to=_attachment_path)
    original_name = ScrubbedCharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class RefundStatus(models.TextChoices):
    PROPOSED = "proposed", _("proposed")
    DECLINED = "declined", _("declined")
    APPROVED = "approved", _("approved, to be paid")
    PAYING = "paying", _("being paid")
    FAILED = "failed", _("payment failed")
    EXECUTED = "executed", _("paid")


# A refund that counts against what is outstanding: every one but a declined one.
REFUND_LIVE_STATUSES = ("proposed", "approved", "paying", "failed", "executed")
# Not yet paid nor declined: at most one per case.
REFUND_OPEN_STATUSES = ("proposed", "approved", "paying", "failed")


class Refund(models.Model):
    """A refund proposed on a case; approved by one supervisor (two above
    ``DISPUTE_REFUND_SECOND_APPROVAL_ABOVE``), never its proposer; then paid once
    through the refund gateway (``disputes.refunds``). The total of the refunds
    of one debit never exceeds what is outstanding of it: a trigger checks it
    (migration ``disputes/0013``), under a lock of the debit's ledger row."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("case"))
    debit = models.ForeignKey("transactions.LedgerEntry", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="case_refunds", verbose_name=_("debit refunded"))
    amount = AmountField(_("amount"))
    currency = CurrencyField(_("currency"))
    status = models.CharField(_("status"), max_length=8, choices=RefundStatus.choices, default=RefundStatus.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("proposed by"))
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    first_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                          verbose_name=_("first approved by"))
    first_approved_at = models.DateTimeField(_("first approved at"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    gateway = models.CharField(_("gateway"), max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(_("payment attempts"), default=0)
    attempted_at = models.DateTimeField(_("last payment attempt"), null=True, blank=True)
    last_error = ScrubbedTextField(_("last payment error"), blank=True)
    executed_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    execution_reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    expected_credit_on = models.DateField(_("expected on the card"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["proposed_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=~models.Q(decided_by=models.F("proposed_by")), name="refund_four_eyes"
            ),
            models.CheckConstraint(
                condition=~models.Q(first_approved_by=models.F("proposed_by"))
                & ~models.Q(first_approved_by=models.F("decided_by")),
                name="refund_six_eyes",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="executed") | ~models.Q(execution_reference=""), name="refund_paid_has_reference"
            ),
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(status__in=REFUND_OPEN_STATUSES),
                name="refund_one_open_per_case",
            ),
        ]
        indexes = [
            # The dashboard: refunds paid in a date range, refunds not paid yet.
            models.Index(fields=["executed_at"], condition=models.Q(status="executed"), name="refund_dash_paid_idx"),
            models.Index(fields=["status"], condition=models.Q(status__in=["proposed", "approved"]),
                         name="refund_dash_unpaid_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.amount} {self.currency} {self.status}"

    @property
    def idempotency_key(self) -> str:
        """The payment's key at the gateway: the same for every attempt of this refund."""
        return f"dispute-desk-refund-{self.pk}"

    @property
    def ledger_entry_id(self) -> str:
        """The ``entry_id`` of the ledger's ``refund`` entry paying this refund (the ledger gateway)."""
        return f"DDRF{self.pk:012d}"
