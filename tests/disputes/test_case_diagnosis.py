"""The diagnosis read straight from the records (``diagnose``): which debit the
complaint describes, which settlement record pairs with it, what is left.

The oracle is the rule as docs/design.md states it ("Diagnosis", "Matching"):
the same card, amount and currency within the window; a record pairs by the
debit's rrn whatever its other fields, else by terminal + stan + amount on the
same day; only approved records of the debit's amount and currency within two
days of it settle it."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from disputes.models import Outcome
from disputes.verification.diagnosis import diagnose
from transactions.models import LedgerEntry, SettlementRecord

pytestmark = pytest.mark.django_db

PAID_AT = timezone.now().replace(microsecond=0) - timedelta(days=2)
LATER = PAID_AT + timedelta(days=10)
SLIP = dict(merchant_id="103287654110281", terminal_id="41082857", rrn="100000000347", stan="508225")
NONE_OF_IT = dict(merchant_id="999999999999999", terminal_id="99999999", rrn="999999999999", stan="999999")


def ledger(entry_id, *, kind="debit", at=PAID_AT, amount="128.50", currency="CNY", **slip):
    return LedgerEntry.objects.create(entry_id=entry_id, customer_ref="C1", card_last4="1234", amount=Decimal(amount),
                                      currency=currency, posted_at=at, kind=kind, auth_code="340191",
                                      **{**SLIP, **slip})


def settlement(record_id, *, at=PAID_AT, amount="128.50", currency="CNY", **slip):
    return SettlementRecord.objects.create(record_id=record_id, processor="银联商务", amount=Decimal(amount),
                                           currency=currency, transacted_at=at, status="approved",
                                           auth_code="340191", **{**SLIP, **slip})


@pytest.fixture
def complaint(file_case):
    return file_case(transaction_at=PAID_AT)


def _read(case):
    diagnosis = diagnose(case, as_of=LATER)
    return (diagnosis.outcome, [entry.entry_id for entry in diagnosis.debits],
            [record.record_id for record in diagnosis.records], diagnosis.outstanding)


def test_a_record_with_the_debits_rrn_settles_it_whatever_its_terminal_stan_and_merchant(complaint):
    ledger("L1")
    settlement("S1", **{**NONE_OF_IT, "rrn": SLIP["rrn"]})
    assert _read(complaint) == (Outcome.SETTLED, ["L1"], ["S1"], Decimal("128.50"))


def test_a_record_with_the_debits_terminal_and_stan_on_its_day_settles_it_whatever_its_rrn_and_merchant(complaint):
    ledger("L1")
    settlement("S1", **{**NONE_OF_IT, "terminal_id": SLIP["terminal_id"], "stan": SLIP["stan"]})
    assert _read(complaint) == (Outcome.SETTLED, ["L1"], ["S1"], Decimal("128.50"))


@pytest.mark.parametrize(("record", "settles"), [
    ({"amount": "128.49"}, False),
    ({"currency": "USD"}, False),
    ({"at": PAID_AT - timedelta(days=2, seconds=1)}, False),
    ({"at": PAID_AT - timedelta(days=2)}, True),
    ({"at": PAID_AT + timedelta(days=2)}, True),
    ({"at": PAID_AT + timedelta(days=2, seconds=1)}, False),
])
def test_only_a_record_of_the_debits_amount_and_currency_within_two_days_of_it_settles_it(complaint, record, settles):
    ledger("L1")
    settlement("S1", **record)  # the debit's rrn: the first matching pass alone would pair them
    outcome, _debits, records, _outstanding = _read(complaint)
    assert (outcome, records) == ((Outcome.SETTLED, ["S1"]) if settles else (Outcome.ORPHAN, []))


@pytest.mark.parametrize("debit", [{"amount": "128.49"}, {"amount": "128.51"}, {"currency": "USD"}])
def test_a_debit_of_another_amount_or_currency_is_not_the_complaints(complaint, debit):
    ledger("L1", **debit)
    assert _read(complaint) == (Outcome.NOT_FOUND, [], [], None)


def test_candidate_debits_are_listed_by_time_then_entry_id(complaint):
    ledger("L3", at=PAID_AT - timedelta(hours=1))
    ledger("L2", at=PAID_AT)
    ledger("L1", at=PAID_AT)
    assert _read(complaint) == (Outcome.AMBIGUOUS, ["L3", "L1", "L2"], [], None)


def test_a_slip_field_the_customer_left_empty_rules_no_debit_out(file_case):
    case = file_case(transaction_at=PAID_AT, stan="", rrn="")
    ledger("L1")
    assert _read(case) == (Outcome.ORPHAN, ["L1"], [], Decimal("128.50"))


def test_a_debit_reversed_in_full_has_nothing_outstanding(complaint):
    ledger("L1")
    ledger("R1", kind="reversal", at=PAID_AT + timedelta(hours=2), rrn=SLIP["rrn"])
    assert _read(complaint) == (Outcome.REVERSED, ["L1", "R1"], [], Decimal("0"))
