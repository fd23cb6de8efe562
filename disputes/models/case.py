"""The case and its lifecycle.

The lifecycle is declared once, on ``Case``: a protected django-fsm-2 field and
one ``@transition`` method per step of docs/design.md ("Transitions"), with pure
conditions and a permission. The methods only change fields of the case;
everything else (the event, the version, e-mails, refunds) is done by
``disputes.workflow.transitions``, the only caller.
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE, ConcurrentTransition, ConcurrentTransitionMixin, FSMField, transition

from core.bulkinsert import InsertOrNothingMixin
from core.cardguard import ScrubbedCharField, ScrubbedTextField
from core.money import AmountField, CurrencyField
from core.names import validate_name_line
from core.slip import (
    EARLIEST_TRANSACTION_TIME,
    PosSlipFields,
    validate_transaction_time,
)
from disputes.models.queue import STAFF_WORKSPACE_INDEXES
from disputes.models.rules import (
    approval_target,
    can_approve_refund,
    can_decline_refund,
    can_reply,
    can_supervise,
    can_withdraw,
    can_work,
    can_work_or_system,
    has_rejection_reason,
    refund_amount_within_dispute,
    refund_approvable,
    refund_not_ordered,
    within_reopen_window,
)
from disputes.workflow.errors import StaleCase
from disputes.workflow.names import (
    CASE_PERMISSIONS,
    ENDED_STATES,
    OPEN_STATES,
    WORKING_STAGES,
    Channel,
    Priority,
    RootCause,
    State,
)

def _resume_stage(case: Case, *args, **kwargs) -> str:
    return case.resume_state


class Case(InsertOrNothingMixin, ConcurrentTransitionMixin, PosSlipFields, models.Model):
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
    merchant_name = ScrubbedCharField(_("merchant name"), max_length=200, blank=True, validators=[validate_name_line])
    description = ScrubbedTextField(_("description"), blank=True)

    # What the bank resolved them to.
    resolved_merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("merchant"))
    resolved_terminal = models.ForeignKey("merchants.Terminal", on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("terminal"))
    processor = models.ForeignKey("merchants.PaymentProcessor", on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("payment processor"))
    ledger_entry = models.ForeignKey("transactions.LedgerEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("matched ledger entry"))
    verification = models.ForeignKey("disputes.Verification", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("latest verification"))
    settlement_record = models.ForeignKey("transactions.SettlementRecord", on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("matched settlement record"))
    linked_to = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="linked_cases", verbose_name=_("linked to the case of the same debit"))

    # Work.
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="assigned_cases", verbose_name=_("assignee"))
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    root_cause = models.CharField(_("root cause"), max_length=20, choices=RootCause.choices, blank=True)
    resolution = ScrubbedTextField(_("resolution"), blank=True)
    rejection_reason = ScrubbedTextField(_("rejection reason"), blank=True)
    refund_amount = AmountField(_("refund amount"), null=True, blank=True)
    refund_proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("refund proposed by"))
    # The proposed refund's approvals so far, its first approver, when the gateway
    # confirmed its payment, and the day the customer should see the money.
    refund_approvals = models.PositiveSmallIntegerField(_("refund approvals"), default=0, editable=False)
    refund_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("refund first approved by"))
    refund_paid_at = models.DateTimeField(_("refund paid at"), null=True, blank=True, editable=False)
    refund_credit_on = models.DateField(_("refund expected on the card"), null=True, blank=True, editable=False)
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
            *STAFF_WORKSPACE_INDEXES,
        ]

    def __str__(self) -> str:
        return self.reference

    # --- optimistic locking on top of django-fsm's state check ---------------

    def _update_initial_state(self) -> None:
        # Only what was read (a field read later is remembered then): loading a
        # deferred state or version here built another partial case whose
        # __init__ came back here, for ever (``only()``, a partial reload).
        deferred = self.get_deferred_fields()
        if type(self).state.field.attname not in deferred:
            super()._update_initial_state()
        if "version" not in deferred:
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
        self.state, self.version  # noqa: B018 - a case saved without having read them reads them now
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

    @transition(
        field=state,
        source=State.SUBMITTED,
        target=State.VERIFYING,
        permission=can_work,
        custom={"label": _("Start verification")},
    )
    def start_verification(self) -> None:
        pass

    @transition(
        field=state,
        source=WORKING_STAGES,
        target=State.AWAITING_CUSTOMER,
        permission=can_work,
        custom={"label": _("Ask the customer for information")},
    )
    def request_customer_info(self) -> None:
        self.resume_state = self.state

    @transition(
        field=state,
        source=State.AWAITING_CUSTOMER,
        target=GET_STATE(_resume_stage, states=WORKING_STAGES),
        permission=can_reply,
        custom={"label": _("Customer information received")},
    )
    def customer_info_received(self) -> None:
        pass

    @transition(
        field=state,
        source=State.VERIFYING,
        target=State.MERCHANT_CONTACT,
        permission=can_work,
        custom={"label": _("Debit confirmed: contact the merchant")},
    )
    def confirm_debit(self) -> None:
        pass

    @transition(
        field=state,
        source=State.VERIFYING,
        target=State.RESOLVED,
        permission=can_work_or_system,
        custom={"label": _("Reversal found")},
    )
    def reversal_found(self) -> None:
        pass

    @transition(
        field=state,
        source=State.MERCHANT_CONTACT,
        target=State.RESOLVED,
        permission=can_work_or_system,
        custom={"label": _("Merchant refunded")},
    )
    def merchant_refunded(self) -> None:
        pass

    @transition(
        field=state,
        source=State.MERCHANT_CONTACT,
        target=State.PROCESSOR_INQUIRY,
        permission=can_work_or_system,
        custom={"label": _("Escalate to the payment processor")},
    )
    def escalate_to_processor(self) -> None:
        pass

    @transition(
        field=state,
        source=State.PROCESSOR_INQUIRY,
        target=State.MERCHANT_CONTACT,
        permission=can_work,
        custom={"label": _("Back to the merchant")},
    )
    def back_to_merchant(self) -> None:
        pass

    @transition(
        field=state,
        source=WORKING_STAGES,
        target=State.REFUND_PENDING,
        conditions=[refund_amount_within_dispute],
        permission=can_work,
        custom={"label": _("Propose a refund")},
    )
    def propose_refund(self) -> None:
        self.resume_state = self.state

    @transition(
        field=state,
        source=State.REFUND_PENDING,
        target=GET_STATE(approval_target, states=[State.REFUND_PENDING, State.REFUNDED]),
        conditions=[refund_approvable],
        permission=can_approve_refund,
        custom={"label": _("Approve the refund")},
    )
    def approve_refund(self) -> None:
        if self.refund_paid_at is None:  # a supervisor's approval; afterwards the system's "paid"
            self.refund_approvals += 1

    @transition(
        field=state,
        source=State.REFUND_PENDING,
        target=GET_STATE(_resume_stage, states=WORKING_STAGES),
        conditions=[refund_not_ordered],
        permission=can_decline_refund,
        custom={"label": _("Decline the refund")},
    )
    def decline_refund(self) -> None:
        self.refund_clear()

    @transition(
        field=state,
        source=WORKING_STAGES,
        target=State.REJECTED,
        conditions=[has_rejection_reason],
        permission=can_work,
        custom={"label": _("Reject")},
    )
    def reject(self) -> None:
        pass

    @transition(
        field=state,
        source=OPEN_STATES,
        target=State.WITHDRAWN,
        conditions=[refund_not_ordered],
        permission=can_withdraw,
        custom={"label": _("Withdraw")},
    )
    def withdraw(self) -> None:
        pass

    @transition(
        field=state,
        source=ENDED_STATES,
        target=State.CLOSED,
        permission=can_work_or_system,
        custom={"label": _("Close")},
    )
    def close(self) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=state,
        source=[State.REJECTED, State.CLOSED],
        target=State.VERIFYING,
        conditions=[within_reopen_window],
        permission=can_supervise,
        custom={"label": _("Reopen")},
    )
    def reopen(self) -> None:
        self.ended_at = None
        self.closed_at = None
        self.rejection_reason = ""
        self.refund_clear()

    def refund_clear(self) -> None:
        """Forget the proposed refund (declined, or a reopened case); a paid one stays on its ``Refund`` row."""
        self.refund_amount = None
        self.refund_proposed_by = None
        self.refund_approvals = 0
        self.refund_approved_by = None
        self.refund_paid_at = None


# The steps, read off the state machine, in the order they are declared above
# (the order of the "Transitions" table of docs/design.md), and their labels.
TRANSITION_NAMES: tuple[str, ...] = tuple(
    name for name, member in vars(Case).items() if hasattr(member, "_django_fsm")
)
TRANSITION_LABELS: dict[str, str] = {
    name: next(iter(getattr(Case, name)._django_fsm.transitions.values())).custom["label"]
    for name in TRANSITION_NAMES
}
