"""Paid twice: a case whose debit the reconciliation flagged a probable
duplicate payment shows ``duplicate_payment`` as the suggested root cause, and
ends with that root cause unless one was set."""
from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from disputes.models import Case, CaseEvent
from disputes.verification.checks import case_verify
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel, EventKind, RootCause
from disputes.workflow.steps import case_transition
from tests.conftest import filing_data
from tests.transactions.records import MERCHANT, TERMINAL, T, debit, minutes, record
from transactions.reconciliation import reconcile

pytestmark = pytest.mark.django_db

FIRST_RRN, SECOND_RRN = "100000000001", "100000000002"


def paid_twice(*, second_after: timedelta = minutes(10)) -> None:
    """An orphan debit, then the same card paying the same merchant again, settled."""
    debit("L1", T, amount="128.50", rrn=FIRST_RRN, stan="000001")
    debit("L2", T + second_after, amount="128.50", rrn=SECOND_RRN, stan="000002")
    record("S2", T + second_after, amount="128.50", rrn=SECOND_RRN, stan="000002")
    reconcile(as_of=T + timedelta(days=2))


@pytest.fixture
def complaint(db):
    return case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(
        transaction_at=T, rrn=FIRST_RRN, stan="000001", merchant_id=MERCHANT, terminal_id=TERMINAL,
        card_last4="1234")).case


def test_the_diagnosis_of_a_debit_paid_twice_suggests_duplicate_payment(complaint, system, dave):
    paid_twice()
    verification = case_verify(case=complaint, actor=system)

    assert verification.probable_duplicate and verification.suggested_root_cause == RootCause.DUPLICATE_PAYMENT
    event = CaseEvent.objects.get(case=complaint, kind=EventKind.VERIFICATION)
    assert event.payload["suggested_root_cause"] == "duplicate_payment"
    api = APIClient()
    api.force_authenticate(dave)
    body = api.get(f"/api/v1/cases/{complaint.reference}/").json()
    assert (body["suggested_root_cause"], body["root_cause"]) == ("duplicate_payment", "")


def test_the_flag_a_later_reconciliation_raises_is_an_event_though_the_records_are_the_same(complaint, system):
    """The system's checks after each import write an event only when the answer
    changed: the paid-twice flag alone is such a change."""
    debit("L1", T, amount="128.50", rrn=FIRST_RRN, stan="000001")
    debit("L2", T + minutes(10), amount="128.50", rrn=SECOND_RRN, stan="000002")
    record("S2", T + minutes(10), amount="128.50", rrn=SECOND_RRN, stan="000002")
    before = case_verify(case=complaint, actor=system)
    reconcile(as_of=T + timedelta(days=2))
    after = case_verify(case=complaint, actor=system)

    assert (before.ledger_entries, before.probable_duplicate) == (after.ledger_entries, False)
    assert after.probable_duplicate
    events = CaseEvent.objects.filter(case=complaint, kind=EventKind.VERIFICATION).order_by("pk")
    assert [event.payload.get("suggested_root_cause") for event in events] == [None, "duplicate_payment"]


def test_a_second_payment_after_the_window_suggests_nothing(complaint, system, dave):
    paid_twice(second_after=minutes(31))
    verification = case_verify(case=complaint, actor=system)

    assert not verification.probable_duplicate and verification.suggested_root_cause == ""
    api = APIClient()
    api.force_authenticate(dave)
    assert api.get(f"/api/v1/cases/{complaint.reference}/").json()["suggested_root_cause"] is None


def test_the_case_page_shows_the_suggestion(client, complaint, system, alice):
    paid_twice()
    case_verify(case=complaint, actor=system)
    client.force_login(alice)
    page = client.get(f"/staff/cases/{complaint.reference}/").content.decode()
    assert 'id="paid-twice" data-root-cause="duplicate_payment"' in page


def test_a_case_of_a_debit_paid_twice_ends_with_that_root_cause(complaint, system, alice):
    paid_twice()
    case_verify(case=complaint, actor=system)
    case_transition(case=complaint, name="start_verification", actor=alice)
    assert Case.objects.get(pk=complaint.pk).root_cause == ""  # only when it ends

    case_transition(case=complaint, name="propose_refund", actor=alice, amount="128.50")
    case_transition(case=complaint, name="withdraw", actor=CUSTOMER)

    assert Case.objects.get(pk=complaint.pk).root_cause == RootCause.DUPLICATE_PAYMENT


def test_a_root_cause_already_set_is_kept(complaint, system, alice):
    paid_twice()
    case_verify(case=complaint, actor=system)
    Case.objects.filter(pk=complaint.pk).update(root_cause=RootCause.TERMINAL_FAULT)  # set in the admin
    complaint.refresh_from_db()
    case_transition(case=complaint, name="withdraw", actor=CUSTOMER)
    assert Case.objects.get(pk=complaint.pk).root_cause == RootCause.TERMINAL_FAULT


def test_a_case_without_the_flag_ends_without_a_root_cause(complaint, system):
    paid_twice(second_after=minutes(31))
    case_verify(case=complaint, actor=system)
    case_transition(case=complaint, name="withdraw", actor=CUSTOMER)
    assert Case.objects.get(pk=complaint.pk).root_cause == ""
