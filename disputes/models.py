"""Cases, their workflow, and what hangs off them.

The lifecycle is declared once, on ``Case``: a protected django-fsm-2 field and
one ``@transition`` method per transition of docs/design.md ("Transitions"),
with pure conditions and a permission. The methods only change fields of the case; everything else (the
event, the version, e-mails, refunds) is done by ``disputes.workflow.transitions``, which is
the only caller.
"""
from __future__ import annotations

from datetime import time, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE, ConcurrentTransition, ConcurrentTransitionMixin, FSMField, transition

from core.cardguard import ScrubbedCharField, ScrubbedJSONField, ScrubbedTextField
from core.money import AmountField, CurrencyField
from core.slip import (
    PosSlipFields,
    EARLIEST_TRANSACTION_TIME,
    validate_transaction_time,
)

from disputes.workflow.errors import StaleCase
from disputes.workflow.names import (
    TRANSITION_LABELS,
    CASE_PERMISSIONS,
    ENDED_STATES,
    OPEN_STATES,
    WORKING_STAGES,
    Channel,
    EventKind,
    Priority,
    RootCause,
    State,
)


# --- permissions: callables of (case, user) -----------------------------------
# ``user`` is a django User, or a ``disputes.actors`` stand-in for the customer;
# both answer ``has_perm``. Active superusers hold every permission.


def _any_permission(*codenames: str):
    perms = [f"disputes.{codename}" for codename in codenames]

    def check(case: Case, user) -> bool:
        return any(user.has_perm(perm) for perm in perms)

    check.__name__ = "any_of_" + "_or_".join(codenames)
    return check


can_work = _any_permission("work_case")
can_work_or_system = _any_permission("work_case", "act_as_system")
can_reply = _any_permission("work_case", "reply_as_customer")
can_withdraw = _any_permission("withdraw_case")
can_supervise = _any_permission("supervise_case")


def can_approve_refund(case: Case, user) -> bool:
    """A supervisor, and not the one who proposed this refund (four eyes)."""
    return user.has_perm("disputes.supervise_case") and case.refund_proposed_by_id != user.pk


# --- conditions: pure functions of the case ----------------------------------


def has_rejection_reason(case: Case) -> bool:
    return bool((case.rejection_reason or "").strip())


def refund_amount_within_dispute(case: Case) -> bool:
    return case.refund_amount is not None and 0 < case.refund_amount <= case.amount


def within_reopen_window(case: Case) -> bool:
    ended_at = case.ended_at
    return ended_at is not None and timezone.now() - ended_at <= settings.DISPUTE_REOPEN_WINDOW


def _resume_stage(case: Case, *args, **kwargs) -> str:
    return case.resume_state


class Case(ConcurrentTransitionMixin, PosSlipFields, models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    tracking_code_hash = models.CharField(_("tracking code (HMAC)"), max_length=64, editable=False)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    state = FSMField(_("state"), default=State.SUBMITTED, choices=State.choices, protected=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="cases", verbose_name=_("customer"))
    card = models.ForeignKey("customers.Card", on_delete=models.PROTECT, related_name="cases", verbose_name=_("card"))

    # The transaction as the customer reported it.
    amount = AmountField(_("disputed amount"))
    currency = CurrencyField(_("currency"))
    transaction_at = models.DateTimeField(_("transaction time"), validators=[validate_transaction_time])
    merchant_name = ScrubbedCharField(_("merchant name"), max_length=200, blank=True)
    description = ScrubbedTextField(_("description"), blank=True)

    # What the bank resolved them to.
    resolved_merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("merchant"))
    resolved_terminal = models.ForeignKey("merchants.Terminal", on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("terminal"))
    processor = models.ForeignKey("merchants.PaymentProcessor", on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("payment processor"))
    ledger_entry = models.ForeignKey("transactions.LedgerEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("matched ledger entry"))
    settlement_record = models.ForeignKey("transactions.SettlementRecord", on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("matched settlement record"))

    # Work.
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="assigned_cases", verbose_name=_("assignee"))
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    root_cause = models.CharField(_("root cause"), max_length=20, choices=RootCause.choices, blank=True)
    resolution = ScrubbedTextField(_("resolution"), blank=True)
    rejection_reason = ScrubbedTextField(_("rejection reason"), blank=True)
    refund_amount = AmountField(_("refund amount"), null=True, blank=True)
    refund_proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("refund proposed by"))
    resume_state = models.CharField(_("stage to return to"), max_length=20, choices=State.choices, blank=True)

    # Clocks.
    created_at = models.DateTimeField(_("filed at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    stage_entered_at = models.DateTimeField(_("stage entered at"), default=timezone.now)
    sla_due_at = models.DateTimeField(_("stage due at"), null=True, blank=True)
    final_due_at = models.DateTimeField(_("final answer due at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # SLA clocks (disputes/sla.py): the stage entry the stage clock belongs to, the
    # business time it used before a pause, when the clocks were paused, the overall
    # deadline left at the pause, the extensions granted, and when the sweep must
    # next look at each clock (a reminder, then the breach; NULL when nothing is left).
    sla_entry = models.PositiveIntegerField(_("stage entry number"), default=0, editable=False)
    sla_used = models.DurationField(_("stage time used before a pause"), default=timedelta(0), editable=False)
    sla_paused_at = models.DateTimeField(_("clocks paused at"), null=True, blank=True, editable=False)
    final_remaining = models.DurationField(_("overall time left at the pause"), null=True, blank=True, editable=False)
    deadline_extensions = models.PositiveSmallIntegerField(_("deadline extensions"), default=0, editable=False)
    sla_alert_at = models.DateTimeField(_("stage clock next alert at"), null=True, blank=True, editable=False)
    final_alert_at = models.DateTimeField(_("overall clock next alert at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at", "-id"]
        permissions = CASE_PERMISSIONS
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="case_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(refund_amount__isnull=True) | models.Q(refund_amount__gt=0, refund_amount__lte=models.F("amount")),
                name="case_refund_within_amount",
            ),
            models.CheckConstraint(condition=models.Q(state__in=[s.value for s in State]), name="case_state_known"),
            models.CheckConstraint(condition=models.Q(transaction_at__gte=EARLIEST_TRANSACTION_TIME),
                                   name="case_transaction_at_plausible"),
        ]
        indexes = [
            models.Index(fields=["state", "sla_due_at"], name="case_state_sla_due_idx"),
            models.Index(fields=["state", "final_due_at"], name="case_state_final_due_idx"),
            models.Index(fields=["assignee", "state"], name="case_assignee_state_idx"),
            models.Index(fields=["-created_at", "-id"], name="case_created_idx"),
            models.Index(fields=["merchant_id"], name="case_merchant_id_idx"),
            models.Index(fields=["rrn"], name="case_rrn_idx"),
            # The SLA sweep's queries (disputes/sla_actions.py).
            models.Index(fields=["sla_alert_at"], condition=models.Q(sla_alert_at__isnull=False), name="case_sla_alert_idx"),
            models.Index(fields=["final_alert_at"], condition=models.Q(final_alert_at__isnull=False), name="case_final_alert_idx"),
            models.Index(fields=["state", "ended_at"], name="case_state_ended_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    # --- optimistic locking on top of django-fsm's state check ---------------

    def _update_initial_state(self) -> None:
        super()._update_initial_state()
        self._loaded_version = self.version

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        """Reload from the database, the protected state included.

        django-fsm-2's own ``refresh_from_db`` lifts the state field's protection
        on the *field*, shared by every thread of the process, and puts it back
        afterwards: two threads reloading at once re-protect the field under each
        other's feet ("Direct state modification is not allowed", a 500 for the
        losers of a race). Here the protection is left alone: the state is taken
        out of this instance only, which the descriptor then lets be set again.
        """
        if fields is None:
            deferred = self.get_deferred_fields()
            fields = [f.attname for f in self._meta.concrete_fields if f.attname not in deferred]
        fields = list(fields)
        state_name = type(self).state.field.attname
        previous_state = self.__dict__.pop(state_name, None) if state_name in fields else None
        try:
            models.Model.refresh_from_db(self, using=using, fields=fields, from_queryset=from_queryset)
        finally:
            if state_name in fields and state_name not in self.__dict__ and previous_state is not None:
                self.__dict__[state_name] = previous_state
        self._update_initial_state()

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        guarded = base_qs.filter(version=self._loaded_version)
        try:
            updated = super()._do_update(guarded, using, pk_val, values, update_fields, forced_update)
        except ConcurrentTransition as exc:
            raise StaleCase() from exc
        if not updated and base_qs.filter(pk=pk_val).exists():
            raise StaleCase()
        return updated

    # --- reading -------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def is_ended(self) -> bool:
        return self.state in ENDED_STATES

    # --- the workflow (docs/design.md); bodies touch only this row -----------

    @transition(field=state, source=State.SUBMITTED, target=State.VERIFYING, permission=can_work)
    def start_verification(self) -> None:
        pass

    @transition(field=state, source=WORKING_STAGES, target=State.AWAITING_CUSTOMER, permission=can_work)
    def request_customer_info(self) -> None:
        self.resume_state = self.state

    @transition(
        field=state,
        source=State.AWAITING_CUSTOMER,
        target=GET_STATE(_resume_stage, states=WORKING_STAGES),
        permission=can_reply,
    )
    def customer_info_received(self) -> None:
        pass

    @transition(field=state, source=State.VERIFYING, target=State.MERCHANT_CONTACT, permission=can_work)
    def confirm_debit(self) -> None:
        pass

    @transition(field=state, source=State.VERIFYING, target=State.RESOLVED, permission=can_work_or_system)
    def reversal_found(self) -> None:
        pass

    @transition(field=state, source=State.MERCHANT_CONTACT, target=State.RESOLVED, permission=can_work_or_system)
    def merchant_refunded(self) -> None:
        pass

    @transition(field=state, source=State.MERCHANT_CONTACT, target=State.PROCESSOR_INQUIRY, permission=can_work_or_system)
    def escalate_to_processor(self) -> None:
        pass

    @transition(field=state, source=State.PROCESSOR_INQUIRY, target=State.MERCHANT_CONTACT, permission=can_work)
    def back_to_merchant(self) -> None:
        pass

    @transition(
        field=state,
        source=WORKING_STAGES,
        target=State.REFUND_PENDING,
        conditions=[refund_amount_within_dispute],
        permission=can_work,
    )
    def propose_refund(self) -> None:
        self.resume_state = self.state

    @transition(
        field=state,
        source=State.REFUND_PENDING,
        target=State.REFUNDED,
        conditions=[refund_amount_within_dispute],
        permission=can_approve_refund,
    )
    def approve_refund(self) -> None:
        pass

    @transition(
        field=state,
        source=State.REFUND_PENDING,
        target=GET_STATE(_resume_stage, states=WORKING_STAGES),
        permission=can_supervise,
    )
    def decline_refund(self) -> None:
        self.refund_amount = None
        self.refund_proposed_by = None

    @transition(
        field=state,
        source=WORKING_STAGES,
        target=State.REJECTED,
        conditions=[has_rejection_reason],
        permission=can_work,
    )
    def reject(self) -> None:
        pass

    @transition(field=state, source=OPEN_STATES, target=State.WITHDRAWN, permission=can_withdraw)
    def withdraw(self) -> None:
        pass

    @transition(field=state, source=ENDED_STATES, target=State.CLOSED, permission=can_work_or_system)
    def close(self) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=state,
        source=[State.REJECTED, State.CLOSED],
        target=State.VERIFYING,
        conditions=[within_reopen_window],
        permission=can_supervise,
    )
    def reopen(self) -> None:
        self.ended_at = None
        self.closed_at = None
        self.rejection_reason = ""
        self.refund_amount = None
        self.refund_proposed_by = None


# Transition names in the order of the "Transitions" table of docs/design.md.
TRANSITION_NAMES: tuple[str, ...] = (
    "start_verification",
    "request_customer_info",
    "customer_info_received",
    "confirm_debit",
    "reversal_found",
    "merchant_refunded",
    "escalate_to_processor",
    "back_to_merchant",
    "propose_refund",
    "approve_refund",
    "decline_refund",
    "reject",
    "withdraw",
    "close",
    "reopen",
)


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
        indexes = [models.Index(fields=["case", "created_at", "id"], name="caseevent_case_time_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.transition}".strip()


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
    APPROVED = "approved", _("approved, being paid")
    EXECUTED = "executed", _("paid")


class Refund(models.Model):
    """A refund proposed on a case; approved by a second person; then paid once."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("case"))
    amount = AmountField(_("amount"))
    currency = CurrencyField(_("currency"))
    status = models.CharField(_("status"), max_length=8, choices=RefundStatus.choices, default=RefundStatus.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("proposed by"))
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    executed_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    execution_reference = models.CharField(_("payment reference"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["proposed_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=~models.Q(decided_by=models.F("proposed_by")), name="refund_four_eyes"
            ),
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(status__in=["proposed", "approved", "executed"]),
                name="refund_one_live_per_case",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.amount} {self.currency} {self.status}"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class Notification(models.Model):
    """An e-mail to send: written in the same transaction as the change that
    causes it (the outbox), sent by a Celery task after commit, and re-sent by
    the periodic sweep if that task never ran. Sent at most once."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications", verbose_name=_("case"))
    recipient = models.EmailField(_("recipient"))
    subject = ScrubbedCharField(_("subject"), max_length=200)
    body = ScrubbedTextField(_("body"))
    status = models.CharField(_("status"), max_length=8, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = ScrubbedTextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(status="pending"), name="notification_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.subject}"


# --- SLA: policies, calendar overrides, alerts (disputes/sla.py) ----------------


class Recipients(models.Model):
    """Who is told: the assignee, the supervisors, and/or a list of addresses."""

    notify_assignee = models.BooleanField(_("tell the assignee"), default=True)
    notify_supervisors = models.BooleanField(_("tell the supervisors"), default=True)
    notify_emails = models.TextField(
        _("also tell these addresses"), blank=True, help_text=_("One e-mail address per line or separated by commas.")
    )

    class Meta:
        abstract = True

    def email_list(self) -> list[str]:
        return [e.strip() for e in self.notify_emails.replace(",", "\n").splitlines() if e.strip()]

    def recipient_errors(self) -> dict:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        for address in self.email_list():
            try:
                validate_email(address)
            except ValidationError:
                return {"notify_emails": _("“%(address)s” is not an e-mail address.") % {"address": address}}
        return {}

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if errors := self.recipient_errors():
            raise ValidationError(errors)


class TargetUnit(models.TextChoices):
    BUSINESS_HOURS = "hours", _("business hours")
    BUSINESS_DAYS = "days", _("business days")


class DeadlineCounting(models.TextChoices):
    CALENDAR_DAYS = "calendar", _("calendar days")
    WORKING_DAYS = "working", _("working days")


# The first extension takes the overall deadline to this many days (when that is longer).
FIRST_EXTENSION_TO_DAYS = 30


def default_final_days() -> int:
    """The overall deadline of new SLA settings: ``DISPUTE_FINAL_DEADLINE_DAYS``."""
    return settings.DISPUTE_FINAL_DEADLINE_DAYS


def default_first_extension_to_days() -> int:
    """30 days, or the overall deadline when that is longer: an extension never shortens it."""
    return max(FIRST_EXTENSION_TO_DAYS, default_final_days())


class SlaSettings(Recipients):
    """The one row of SLA settings: business calendar, overall deadline, automatic steps.

    Missing, it is created with these defaults on first use (migration 0004
    creates it with the same). Once the row exists, the admin's values decide:
    ``DISPUTE_FINAL_DEADLINE_DAYS`` only gives the overall deadline of new settings."""

    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    work_starts = models.TimeField(_("working day starts"), default=time(9, 0))
    work_ends = models.TimeField(_("working day ends"), default=time(17, 30))
    holiday_country = models.CharField(
        _("public holidays of"), max_length=8, default="CN", blank=True,
        help_text=_("A country code of the holidays package (CN: China); empty for none."),
    )
    final_days = models.PositiveSmallIntegerField(_("overall deadline (days)"), default=default_final_days)
    final_counting = models.CharField(_("days counted as"), max_length=8, choices=DeadlineCounting.choices, default=DeadlineCounting.CALENDAR_DAYS)
    first_extension_to_days = models.PositiveSmallIntegerField(
        _("first extension: up to (days)"), default=default_first_extension_to_days
    )
    second_extension_days = models.PositiveSmallIntegerField(_("second extension: a further (days)"), default=30)
    final_reminder_lead = models.DurationField(_("remind before the overall deadline"), default=timedelta(days=2))
    auto_escalate_merchant_silence = models.BooleanField(
        _("escalate to the processor when the merchant stage breaches"), default=True
    )
    auto_close_after = models.DurationField(
        _("close ended cases after"), null=True, blank=True, default=timedelta(days=7),
        help_text=_("Quiet period after a case ends; empty: never close automatically."),
    )

    class Meta:
        verbose_name = _("SLA settings")
        verbose_name_plural = _("SLA settings")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="sla_settings_single_row")]

    def __str__(self) -> str:
        return str(_("SLA settings"))

    def clean(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from django.core.exceptions import ValidationError

        errors = self.recipient_errors()
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = _("Unknown time zone.")
        if self.work_starts and self.work_ends and self.work_ends <= self.work_starts:
            errors["work_ends"] = _("The working day must end after it starts.")
        if self.final_days < 1:
            errors["final_days"] = _("The overall deadline is at least one day.")
        if self.first_extension_to_days < self.final_days:
            errors["first_extension_to_days"] = _("The first extension cannot shorten the deadline.")
        if self.holiday_country:
            import holidays

            if self.holiday_country.upper() not in holidays.list_supported_countries():
                errors["holiday_country"] = _("The holidays package does not know this country.")
        if errors:
            raise ValidationError(errors)


class StagePolicy(Recipients):
    """The target of one workflow stage; a stage without a policy has no clock."""

    state = models.CharField(_("stage"), max_length=20, choices=State.choices, unique=True)
    target = models.PositiveIntegerField(_("target"))
    unit = models.CharField(_("unit"), max_length=5, choices=TargetUnit.choices, default=TargetUnit.BUSINESS_DAYS)
    reminder_lead = models.DurationField(
        _("remind before the deadline (business time)"), default=timedelta(hours=2)
    )

    class Meta:
        verbose_name = _("stage target")
        verbose_name_plural = _("stage targets")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(target__gt=0), name="stage_policy_target_positive"),
        ]

    def __str__(self) -> str:
        return f"{State(self.state).label}: {self.target} {TargetUnit(self.unit).label}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors = self.recipient_errors()
        if self.state and self.state not in OPEN_STATES or self.state == State.AWAITING_CUSTOMER:
            errors["state"] = _("Only open stages in which the bank works have a target.")
        if errors:
            raise ValidationError(errors)


class CalendarOverride(models.Model):
    """A day the admin declares a working day or a day off, whatever the holiday list says."""

    day = models.DateField(_("day"), unique=True)
    is_working_day = models.BooleanField(_("working day"), help_text=_("Ticked: a working day (e.g. 调休); unticked: a day off."))
    note = ScrubbedCharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'working' if self.is_working_day else 'off'}"


class SlaClock(models.TextChoices):
    STAGE = "stage", _("stage deadline")
    FINAL = "final", _("overall deadline")


class SlaAlertKind(models.TextChoices):
    REMINDER = "reminder", _("reminder")
    BREACH = "breach", _("breach")


class SlaAlert(models.Model):
    """An alert raised by the sweep. At most one per case, clock, entry and kind
    (the database makes sure): ``entry`` is the case's stage entry number for the
    stage clock, and the number of extensions granted for the overall clock."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="sla_alerts", verbose_name=_("case"))
    clock = models.CharField(_("clock"), max_length=5, choices=SlaClock.choices)
    entry = models.PositiveIntegerField(_("entry"))
    kind = models.CharField(_("kind"), max_length=8, choices=SlaAlertKind.choices)
    stage = models.CharField(_("stage"), max_length=20, choices=State.choices)
    due_at = models.DateTimeField(_("deadline"))
    created_at = models.DateTimeField(_("raised at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("SLA alert")
        verbose_name_plural = _("SLA alerts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "clock", "entry", "kind"], name="sla_alert_once"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.clock} {self.kind}"


# --- the REST API: idempotency keys and webhooks (docs/api.md) ------------------


class IdempotencyKey(models.Model):
    """The first response to a POST sent with an ``Idempotency-Key`` header,
    replayed to every retry with the same key by the same user. Written in the
    transaction of the request itself, so a request that fails leaves no key.
    The key itself is not kept (a client may send a card number as one): only
    its SHA-256."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user"))
    key_hash = models.CharField(_("key (SHA-256)"), max_length=64)
    request_fingerprint = models.CharField(_("request fingerprint (SHA-256)"), max_length=64)
    # Set before the request's transaction commits; nobody else ever sees it empty.
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)
    response_headers = models.JSONField(_("response headers"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key_hash"], name="idempotency_key_unique_per_user")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created_idx")]

    def __str__(self) -> str:
        return self.key_hash


def validate_webhook_url(url: str) -> None:
    """Webhooks carry personal data: HTTPS only, unless DEBUG (local testing)."""
    from django.core.exceptions import ValidationError

    if not settings.DEBUG and not url.lower().startswith("https://"):
        raise ValidationError(_("The endpoint must use HTTPS."), code="https_required")


class WebhookEndpoint(models.Model):
    """Where the call center's software wants to hear of every case state change."""

    name = ScrubbedCharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500, validators=[validate_webhook_url])
    secret = models.CharField(
        _("signing secret"), max_length=128,
        help_text=_("Shared with the receiver, who checks the HMAC-SHA256 signature of every delivery with it."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed, gave up")


class WebhookDelivery(models.Model):
    """One state change to send to one endpoint: written in the transaction of
    the change (the outbox), sent by Celery after commit, retried with back-off.
    ``attempt_log`` keeps every attempt (when, HTTP status or error)."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("endpoint"))
    event = models.ForeignKey(CaseEvent, on_delete=models.PROTECT, related_name="webhook_deliveries", verbose_name=_("case event"))
    payload = models.JSONField(_("body"))
    status = models.CharField(_("status"), max_length=9, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = ScrubbedTextField(_("last error"), blank=True)
    attempt_log = models.JSONField(_("attempts log"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="webhook_delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id} event {self.event_id} {self.status}"
