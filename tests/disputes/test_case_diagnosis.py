"""The diagnosis read straight from the records (``diagnose``): which debit the
complaint describes, which settlement record pairs with it, what is left.

The oracle is the rule as docs/design.md states it ("Diagnosis", "Matching"):
the same card, amount and currency within the window; a record pairs by the
debit's rrn whatever its other fields, else by terminal + stan + amount on the
same local day in Shanghai, else by merchant + amount within 15 minutes; the
pairing is global, so a rival debit paired elsewhere frees a record."""
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from disputes.models import Outcome
from disputes.verification import diagnosis as diagnosis_module
from disputes.verification.diagnosis import connected, diagnose, diagnose_debit
from transactions.models import LedgerEntry, SettlementRecord

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAID_AT = timezone.now().replace(microsecond=0) - timedelta(days=2)
LATER = PAID_AT + timedelta(days=10)
SLIP = dict(merchant_id="103287654110281", terminal_id="41082857", rrn="100000000347", stan="508225")
NONE_OF_IT = dict(merchant_id="999999999999999", terminal_id="99999999", rrn="999999999999", stan="999999")


def ledger(entry_id, *, kind="debit", at=PAID_AT, amount="128.50", currency="CNY", card_last4="1234", **slip):
    return LedgerEntry.objects.create(entry_id=entry_id, customer_ref="C1", card_last4=card_last4, amount=Decimal(amount),
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


@pytest.mark.parametrize("record", [
    {"amount": "128.49"},
    {"currency": "USD"},
    {"at": PAID_AT - timedelta(days=5)},
    {"at": LATER},
])
def test_a_record_with_the_debits_rrn_settles_it_whatever_its_amount_currency_and_time(complaint, record):
    ledger("L1")
    settlement("S1", **{**NONE_OF_IT, "rrn": SLIP["rrn"], **record})  # the first pass pairs by the rrn alone
    assert _read(complaint)[:3] == (Outcome.SETTLED, ["L1"], ["S1"])


def test_a_record_transacted_after_the_as_of_time_settles_nothing_yet(complaint):
    ledger("L1")
    settlement("S1", at=LATER + timedelta(microseconds=1))
    assert _read(complaint)[:3] == (Outcome.ORPHAN, ["L1"], [])


def _local_midnight(moment, days_later=0):
    day = timezone.localtime(moment, SHANGHAI).date() + timedelta(days=days_later)
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(("at", "amount", "settles"), [
    (_local_midnight(PAID_AT), "128.50", True),
    (_local_midnight(PAID_AT, 1) - TICK, "128.50", True),
    (_local_midnight(PAID_AT) - TICK, "128.50", False),
    (_local_midnight(PAID_AT, 1), "128.50", False),
    (PAID_AT, "128.49", False),
    (PAID_AT, "128.51", False),
])
def test_by_terminal_and_stan_a_record_of_the_same_amount_on_the_same_day_in_shanghai_settles(complaint, at, amount,
                                                                                                settles):
    ledger("L1")
    settlement("S1", at=at, amount=amount, **{**NONE_OF_IT, "terminal_id": SLIP["terminal_id"], "stan": SLIP["stan"]})
    assert _read(complaint)[:3] == ((Outcome.SETTLED, ["L1"], ["S1"]) if settles else (Outcome.ORPHAN, ["L1"], []))


@pytest.mark.parametrize(("gap", "amount", "settles"), [
    (timedelta(minutes=15), "128.50", True),
    (-timedelta(minutes=15), "128.50", True),
    (timedelta(minutes=15) + TICK, "128.50", False),
    (-timedelta(minutes=15) - TICK, "128.50", False),
    (timedelta(0), "128.49", False),
])
def test_by_merchant_a_record_of_the_same_amount_within_15_minutes_settles(complaint, gap, amount, settles):
    ledger("L1")
    settlement("S1", at=PAID_AT + gap, amount=amount, **{**NONE_OF_IT, "merchant_id": SLIP["merchant_id"]})
    assert _read(complaint)[:3] == ((Outcome.SETTLED, ["L1"], ["S1"]) if settles else (Outcome.ORPHAN, ["L1"], []))


def test_a_rival_debit_paired_elsewhere_leaves_the_record_to_the_complaints_debit(file_case):
    """Matching is global: the rival debit, closer to S1, is paired first by its rrn with S2 (at another merchant,
    two days away), so S1 is left to the complaint's debit. Reading only the records near the complaint's debit
    would have given S1 to the rival and called the complaint's debit an orphan."""
    case = file_case(transaction_at=PAID_AT, rrn="", stan="")
    ledger("L1", rrn="", stan="", terminal_id="")
    ledger("L2", at=PAID_AT + timedelta(minutes=2), rrn="200000000001", stan="", terminal_id="", card_last4="9999")
    settlement("S1", at=PAID_AT + timedelta(minutes=2), rrn="", stan="", terminal_id="")
    settlement("S2", at=PAID_AT + timedelta(days=2), **{**NONE_OF_IT, "rrn": "200000000001"})
    assert _read(case)[:3] == (Outcome.SETTLED, ["L1"], ["S1"])
    assert _read_debit("L2")[:3] == (Outcome.SETTLED, ["L2"], ["S2"])


def test_a_rival_debit_closer_to_the_only_record_takes_it(file_case):
    case = file_case(transaction_at=PAID_AT, rrn="", stan="")
    ledger("L1", rrn="", stan="", terminal_id="")
    ledger("L2", at=PAID_AT + timedelta(minutes=2), rrn="", stan="", terminal_id="", card_last4="9999")
    settlement("S1", at=PAID_AT + timedelta(minutes=2), rrn="", stan="", terminal_id="")
    assert _read(case)[:3] == (Outcome.ORPHAN, ["L1"], [])
    assert _read_debit("L2")[:3] == (Outcome.SETTLED, ["L2"], ["S1"])


def _read_debit(entry_id):
    diagnosis = diagnose_debit(LedgerEntry.objects.get(entry_id=entry_id), as_of=LATER)
    return (diagnosis.outcome, [entry.entry_id for entry in diagnosis.debits],
            [record.record_id for record in diagnosis.records], diagnosis.outstanding)


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


def _part(entry_id, as_of=LATER):
    debits, records = connected(LedgerEntry.objects.get(entry_id=entry_id), as_of=as_of)
    return sorted(entry.entry_id for entry in debits.values()), sorted(record.record_id for record in records.values())


MERCHANT_M = "103287654110281"
OTHER = {"merchant_id": "999999999999999", "terminal_id": "99999999", "rrn": "", "stan": "999999"}


def test_the_records_read_for_a_debit_are_those_linked_to_it_by_a_chain_of_candidates():
    """By hand: links are the same rrn, the same terminal and stan, or the same merchant and amount within
    15 minutes; the part grows from the debit through records and debits alike, and stops at near misses."""
    ledger("L1", rrn="", terminal_id="T0000001", stan="000001", merchant_id=MERCHANT_M)
    # Linked to L1: by terminal and stan (any amount, another day), by merchant at the window's edges.
    settlement("S1", at=PAID_AT - timedelta(days=1), amount="99.00", rrn="", terminal_id="T0000001", stan="000001",
               merchant_id=OTHER["merchant_id"])
    settlement("S2", at=PAID_AT + timedelta(minutes=15), rrn="300000000002", terminal_id="T0000002", stan="000002",
               merchant_id=MERCHANT_M)
    settlement("S3", at=PAID_AT - timedelta(minutes=15), **{**OTHER, "merchant_id": MERCHANT_M,
                                                            "terminal_id": "T0000005", "stan": ""})
    # Near misses: 15 minutes and a microsecond either side; another amount; another stan; not approved.
    settlement("X1", at=PAID_AT - timedelta(minutes=15, microseconds=1), **{**OTHER, "merchant_id": MERCHANT_M})
    settlement("X2", at=PAID_AT + timedelta(minutes=15, microseconds=1), **{**OTHER, "merchant_id": MERCHANT_M})
    settlement("X3", amount="128.51", **{**OTHER, "merchant_id": MERCHANT_M})
    settlement("X4", **{**OTHER, "terminal_id": "T0000001", "stan": "000009"})
    settlement("X5", **{**OTHER, "merchant_id": MERCHANT_M})
    SettlementRecord.objects.filter(record_id="X5").update(status="declined")
    # Debits no link reaches: the same terminal without a stan as S3 (a terminal alone links nothing), the same
    # stan as L1 at another terminal.
    ledger("X6", rrn="", terminal_id="T0000005", stan="", merchant_id=OTHER["merchant_id"], card_last4="0006")
    ledger("X7", rrn="", terminal_id="T0000009", stan="000001", merchant_id=OTHER["merchant_id"], card_last4="0007")
    # One link further: S1's terminal and stan reach L2 (days later, another amount); S2's rrn reaches L3,
    # whose terminal and stan reach S4.
    ledger("L2", at=PAID_AT + timedelta(days=5), amount="7.00", rrn="", terminal_id="T0000001", stan="000001",
           merchant_id=OTHER["merchant_id"], card_last4="0002")
    ledger("L3", at=PAID_AT + timedelta(hours=3), rrn="300000000002", terminal_id="T0000003", stan="000003",
           merchant_id=MERCHANT_M, card_last4="0003")
    settlement("S4", at=PAID_AT + timedelta(days=4), amount="1.00", **{**OTHER, "terminal_id": "T0000003",
                                                                       "stan": "000003"})
    # Not debits, or posted after the as-of time: never in the part.
    ledger("H1", kind="hold", rrn="", terminal_id="T0000001", stan="000001", merchant_id=MERCHANT_M,
           card_last4="0004")
    ledger("L9", at=LATER + timedelta(seconds=1), rrn="", terminal_id="T0000001", stan="000001",
           merchant_id=OTHER["merchant_id"], card_last4="0009")
    assert _part("L1") == (["L1", "L2", "L3"], ["S1", "S2", "S3", "S4"])
    # As of a minute after L1: S2, L2 and all beyond them are not there yet.
    assert _part("L1", as_of=PAID_AT + timedelta(minutes=1)) == (["L1"], ["S1", "S3"])


@pytest.mark.parametrize("limit", [2, 3, 4, 100])
def test_a_part_too_large_to_read_is_decided_by_the_whole_matching(file_case, monkeypatch, limit):
    """Above PART_LIMIT rows (records sharing one rrn over and over, say) the diagnosis runs the whole matching:
    the same answers as the rival test above, whichever way it goes (the part here is 4 rows)."""
    monkeypatch.setattr(diagnosis_module, "PART_LIMIT", limit)
    case = file_case(transaction_at=PAID_AT, rrn="", stan="")
    ledger("L1", rrn="", stan="", terminal_id="")
    ledger("L2", at=PAID_AT + timedelta(minutes=2), rrn="200000000001", stan="", terminal_id="", card_last4="9999")
    settlement("S1", at=PAID_AT + timedelta(minutes=2), rrn="", stan="", terminal_id="")
    settlement("S2", at=PAID_AT + timedelta(days=2), **{**NONE_OF_IT, "rrn": "200000000001"})
    ledger("L3", at=PAID_AT + timedelta(days=1), rrn="", stan="", terminal_id="", card_last4="8888")  # no record
    assert (connected(LedgerEntry.objects.get(entry_id="L1"), as_of=LATER) is None) == (limit < 4)
    assert _read(case)[:3] == (Outcome.SETTLED, ["L1"], ["S1"])
    assert _read_debit("L2")[:3] == (Outcome.SETTLED, ["L2"], ["S2"])
    assert _read_debit("L3")[:3] == (Outcome.ORPHAN, ["L3"], [])


def test_the_whole_matching_also_says_when_a_debit_is_left_unpaired(file_case, monkeypatch):
    monkeypatch.setattr(diagnosis_module, "PART_LIMIT", 2)
    case = file_case(transaction_at=PAID_AT, rrn="", stan="")
    ledger("L1", rrn="", stan="", terminal_id="")
    ledger("L2", at=PAID_AT + timedelta(minutes=2), rrn="", stan="", terminal_id="", card_last4="9999")
    settlement("S1", at=PAID_AT + timedelta(minutes=2), rrn="", stan="", terminal_id="")
    assert connected(LedgerEntry.objects.get(entry_id="L1"), as_of=LATER) is None
    assert _read(case)[:3] == (Outcome.ORPHAN, ["L1"], [])
