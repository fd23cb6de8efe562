"""What a refund's payment sends and leaves behind, without committing (fast:
`make mutation` runs these against the mutants of disputes/refunds/payment.py).

The oracles are literals: the ledger rows the tests create, the stub bank's
error text, the messages as the customer and the staff read them."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from config.celery import app as celery_app
from disputes.models import Case, CaseEvent, Notification, Refund, RefundStatus
from disputes.refunds.payment import refund_execute, refund_payment, refund_retry
from disputes.workflow.errors import TransitionNotAvailable
from disputes.workflow.names import EventKind, State
from disputes.workflow.steps import case_transition
from transactions.models import LedgerEntry, LedgerKind

BANK_ERROR = "the payment system answered HTTP 500"
# The slip the customer typed (tests.conftest.filing_data) and a debit of the ledger that differs in every field.
TYPED = {"merchant_id": "103287654110281", "terminal_id": "41082857", "rrn": "100000000347", "stan": "508225",
         "auth_code": "340191"}
OTHER_SLIP = {"merchant_id": "999999999999999", "terminal_id": "99999999", "rrn": "900000000009", "stan": "900009",
              "auth_code": "900900"}


@pytest.fixture
def approve(file_case, alice, bob):
    """approve(phone=…) -> the approved refund of 100.00 CNY of a new case (no debit matched)."""

    def _approve(**overrides):
        case = case_transition(case=file_case(preferred_language="en", **overrides), name="start_verification",
                               actor=alice)
        case = case_transition(case=case, name="propose_refund", actor=alice, amount="100.00")
        case = case_transition(case=case, name="approve_refund", actor=bob)
        return Refund.objects.get(case=case)

    return _approve


def _debit(entry_id: str, *, customer_ref: str, card_last4: str, **slip) -> LedgerEntry:
    return LedgerEntry.objects.create(
        entry_id=entry_id, customer_ref=customer_ref, card_last4=card_last4, amount=Decimal("128.50"), currency="CNY",
        posted_at=timezone.now() - timedelta(days=2), kind=LedgerKind.DEBIT, **slip)


def _sent(refund: Refund) -> dict:
    payment = refund_payment(Refund.objects.get(pk=refund.pk))
    return {"customer_ref": payment.customer_ref, "card_last4": payment.card_last4, "merchant_id": payment.merchant_id,
            "terminal_id": payment.terminal_id, "rrn": payment.rrn, "stan": payment.stan,
            "auth_code": payment.auth_code}


def test_the_payment_names_the_refunds_debit_else_the_cases_matched_debit_else_the_slip_typed(approve):
    refund = approve()
    case = refund.case
    payment = refund_payment(refund)
    assert (payment.refund_id, payment.case_reference, payment.amount, payment.currency) == (
        refund.pk, case.reference, Decimal("100.00"), "CNY")
    # Nothing matched: the slip the customer typed, the card of the complaint, no customer reference.
    assert _sent(refund) == {"customer_ref": "", "card_last4": "1234", **TYPED}

    other = _debit("D9", customer_ref="C9", card_last4="5678", **OTHER_SLIP)
    Case.objects.filter(pk=case.pk).update(ledger_entry=other)  # matched after the refund was decided
    assert _sent(refund) == {"customer_ref": "C9", "card_last4": "5678", **OTHER_SLIP}

    Case.objects.filter(pk=case.pk).update(ledger_entry=None)
    Refund.objects.filter(pk=refund.pk).update(debit=other)  # the refund's own debit
    assert _sent(refund) == {"customer_ref": "C9", "card_last4": "5678", **OTHER_SLIP}

    matched_later = _debit("D8", customer_ref="C8", card_last4="4321", merchant_id="888888888888888",
                           terminal_id="88888888", rrn="800000000008", stan="800008", auth_code="800800")
    Case.objects.filter(pk=case.pk).update(ledger_entry=matched_later)
    assert _sent(refund) == {"customer_ref": "C9", "card_last4": "5678", **OTHER_SLIP}  # the refund's debit wins


def test_a_task_pays_its_own_refund_not_another_left_being_paid(approve):
    left = approve(phone="+8613800138099")
    Refund.objects.filter(pk=left.pk).update(status=RefundStatus.PAYING, attempts=1)  # a worker died paying it
    refund = approve()
    assert refund_execute(refund_id=refund.pk) is True
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.EXECUTED
    assert Refund.objects.filter(pk=left.pk).values_list("status", "attempts").get() == (RefundStatus.PAYING, 1)


def test_a_failure_is_recorded_on_its_refund_and_a_supervisors_retry_of_that_case_pays_it(
        http_gateway, approve, bob, django_capture_on_commit_callbacks):
    left = approve(phone="+8613800138099")
    Refund.objects.filter(pk=left.pk).update(status=RefundStatus.PAYING, attempts=1)  # a worker died paying it
    refund = approve()
    case = refund.case
    http_gateway.fail_next = 1
    assert refund_execute(refund_id=refund.pk) is False

    assert Refund.objects.filter(pk=refund.pk).values_list("status", "attempts", "last_error").get() == (
        RefundStatus.FAILED, 1, BANK_ERROR)
    assert Refund.objects.filter(pk=left.pk).values_list("status", "last_error").get() == (RefundStatus.PAYING, "")
    failed = CaseEvent.objects.filter(case=case, kind=EventKind.REFUND).latest("id")
    assert (failed.actor_label, failed.message, failed.payload) == (
        "system", f"Refund payment failed: {BANK_ERROR}", {"refund_id": refund.pk, "error": BANK_ERROR, "attempts": 1})
    with translation.override("zh-hans"):  # as the case page words it for a reader in Chinese
        assert failed.text == f"退款付款失败：{BANK_ERROR}"
    assert Case.objects.get(pk=case.pk).state == State.REFUND_PENDING

    # The other case's refund is being paid, not failed: nothing to retry there (this case's failure stays).
    with pytest.raises(TransitionNotAvailable) as refused:
        refund_retry(case=left.case, actor=bob)
    assert str(refused.value) == "This case has no failed refund payment to retry."
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.FAILED

    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            refund_retry(case=case, actor=bob)
    finally:
        celery_app.conf.task_always_eager = False
    retried = CaseEvent.objects.filter(case=case, kind=EventKind.REFUND, actor_label="bob").get()
    assert (retried.message, retried.payload) == ("Refund payment retried", {"refund_id": refund.pk, "attempts": 1})

    refund.refresh_from_db()
    assert (refund.status, refund.attempts, refund.last_error, refund.execution_reference) == (
        RefundStatus.EXECUTED, 2, "", "BANK00000001")
    assert http_gateway.paid == 1
    assert Refund.objects.filter(pk=left.pk).values_list("status", "attempts").get() == (RefundStatus.PAYING, 1)
    paid = CaseEvent.objects.filter(case=case, kind=EventKind.TRANSITION).latest("id")
    assert (paid.transition, paid.actor_label, paid.to_state, paid.message) == (
        "approve_refund", "system", State.REFUNDED, "The refund is paid.")
    mail = Notification.objects.filter(case=case).latest("id")
    assert (f"We have refunded 100.00 CNY to your card ending 1234. You should see the money on your card by "
            f"{refund.expected_credit_on.isoformat()}.") in mail.body
