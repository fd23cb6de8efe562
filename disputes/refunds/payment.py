"""Paying an approved refund through the gateway, exactly once.

``refund_execute`` (the ``execute_refund`` task) moves a refund
``approved`` → ``paying`` and commits that attempt first; then, holding the
refund's row lock, calls the gateway and, in the same transaction, records
the payment: ``executed`` with the gateway's reference and the expected credit
date, the ``refund`` event, and the system's last ``approve_refund`` step to
``refunded`` with the customer's e-mail. A gateway failure leaves the case in
``refund_pending`` and the refund ``failed``, with the error on the refund and
in a ``refund`` event; a supervisor retries it (``refund_retry``).

Never twice: the row lock (``skip_locked``) keeps two tasks of one refund from
paying at once; a task that finds it no longer ``approved``/``paying`` does
nothing; and every attempt sends the same idempotency key, so a payment made
just before a worker died (or before its transaction could commit) is answered
by the gateway with the first payment's reference, not paid again. A refund
left ``paying`` by a dead worker is sent again by the outbox sweep.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from disputes.delivery import outbox
from disputes.delivery.outbox import enqueue_after_commit
from disputes.models import Case, Refund, RefundStatus
from disputes.models.casefile import SystemNote, event_words
from disputes.refunds.gateways import (
    GatewayError,
    Receipt,
    RefundGateway,
    RefundPayment,
    refund_gateway,
)
from disputes.sla.clocks import business_calendar
from disputes.workflow.actors import require_permission, system_user
from disputes.workflow.errors import TransitionNotAvailable
from disputes.workflow.events import record_event
from disputes.workflow.names import EventKind, State
from disputes.workflow.transitions import take_step

ERROR_MAX_LENGTH = 500


def expected_credit_on(paid_at: datetime, settlement_days: int) -> date:
    """The day the customer should see the money: ``settlement_days`` working
    days of the business calendar after the (local) day of the payment."""
    calendar = business_calendar()
    day = calendar.local(paid_at).date()
    added = 0
    while added < settlement_days:
        day += timedelta(days=1)
        added += calendar.is_working_day(day)
    return day


def refund_payment(refund: Refund) -> RefundPayment:
    """What the gateway is asked to pay: the case's matched debit names the
    transaction (else the slip fields the customer gave)."""
    case = refund.case
    source = refund.debit or case.ledger_entry
    slip = source if source is not None else case
    return RefundPayment(
        refund_id=refund.pk, idempotency_key=refund.idempotency_key, ledger_entry_id=refund.ledger_entry_id,
        case_reference=case.reference, amount=refund.amount, currency=refund.currency,
        customer_ref=getattr(source, "customer_ref", ""), card_last4=getattr(source, "card_last4", case.card.last4),
        merchant_id=slip.merchant_id, terminal_id=slip.terminal_id, rrn=slip.rrn, stan=slip.stan,
        auth_code=slip.auth_code,
    )


def refund_execute(*, refund_id: int) -> bool:
    """Pay the refund if it is approved (or left being paid); returns whether it was paid now."""
    with transaction.atomic():
        refund = (Refund.objects.select_for_update(skip_locked=True)
                  .filter(pk=refund_id, status__in=[RefundStatus.APPROVED, RefundStatus.PAYING]).first())
        if refund is None:
            return False
        refund.status, refund.attempts, refund.attempted_at = RefundStatus.PAYING, refund.attempts + 1, timezone.now()
        refund.save(update_fields=["status", "attempts", "attempted_at"])
    try:
        with transaction.atomic():
            refund = (Refund.objects.select_for_update(skip_locked=True, of=("self",))
                      .select_related("case__card", "debit").filter(pk=refund_id, status=RefundStatus.PAYING).first())
            if refund is None:
                return False
            gateway = refund_gateway()
            receipt = gateway.pay(refund_payment(refund))
            _record_payment(refund, gateway, receipt)
    except GatewayError as exc:
        _record_failure(refund_id, str(exc))
        return False
    return True


def _record_payment(refund: Refund, gateway: RefundGateway, receipt: Receipt) -> None:
    now = timezone.now()
    refund.status, refund.executed_at, refund.execution_reference = RefundStatus.EXECUTED, now, receipt.reference
    refund.gateway, refund.last_error = gateway.name, ""
    refund.expected_credit_on = expected_credit_on(now, gateway.settlement_days)
    refund.save()
    case = Case.objects.select_for_update(of=("self",)).select_related("customer", "card").get(pk=refund.case_id)
    system = system_user()
    paid = {"refund_id": refund.pk, "amount": str(refund.amount), "currency": refund.currency,
            "execution_reference": refund.execution_reference, "gateway": gateway.name,
            "expected_credit_on": refund.expected_credit_on.isoformat()}
    record_event(case, kind=EventKind.REFUND, actor=system, message=event_words(EventKind.REFUND, paid), payload=paid)
    if case.state != State.REFUND_PENDING:
        return  # approved by an earlier version that ended the case at approval
    case.refund_paid_at, case.refund_credit_on = now, refund.expected_credit_on

    def tell(case: Case) -> list[str]:
        return [_("We have refunded %(amount)s %(currency)s to your card ending %(last4)s. You should see the "
                  "money on your card by %(date)s.")
                % {"amount": refund.amount, "currency": refund.currency, "last4": case.card.last4,
                   "date": refund.expected_credit_on.isoformat()}]

    take_step(case=case, name="approve_refund", actor=system, note=SystemNote.REFUND_PAID, customer_lines=tell)


def _record_failure(refund_id: int, error: str) -> None:
    with transaction.atomic():
        refund = (Refund.objects.select_for_update(of=("self",)).select_related("case")
                  .filter(pk=refund_id, status=RefundStatus.PAYING).first())
        if refund is None:
            return
        refund.status, refund.last_error = RefundStatus.FAILED, error[:ERROR_MAX_LENGTH]
        refund.save(update_fields=["status", "last_error"])
        failed = {"refund_id": refund.pk, "error": refund.last_error, "attempts": refund.attempts}
        record_event(refund.case, kind=EventKind.REFUND, actor=system_user(), payload=failed,
                     message=event_words(EventKind.REFUND, failed))


def refund_retry(*, case: Case, actor) -> Refund:
    """A supervisor has the failed payment of the case's refund tried again (the
    same idempotency key: a payment the gateway did make is not made twice)."""
    require_permission(actor, "disputes.supervise_case")
    with transaction.atomic():
        refund = Refund.objects.select_for_update().filter(case=case, status=RefundStatus.FAILED).first()
        if refund is None:
            raise TransitionNotAvailable(_("This case has no failed refund payment to retry."))
        refund.status = RefundStatus.APPROVED
        refund.save(update_fields=["status"])
        retried = {"refund_id": refund.pk, "attempts": refund.attempts}
        record_event(case, kind=EventKind.REFUND, actor=actor, message=event_words(EventKind.REFUND, retried),
                     payload=retried)
        enqueue_after_commit(outbox.EXECUTE_REFUND, refund.pk)
    return refund
