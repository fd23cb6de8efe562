"""Reading a reconciliation: one debit's reversals, the orphans file, terminal
health; and reconcile's refusals (docs/design.md, "Transaction records").

Expected values are worked out by hand from the rows each test makes."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from tests.transactions.records import MERCHANT, TERMINAL, T, debit, entry, minutes, record
from transactions import reconciliation
from transactions.models import LedgerKind, SettlementStatus
from transactions.reconciliation import TerminalHealth, orphan_debits, reconcile

DAY = timedelta(days=1)
AS_OF = T + 2 * DAY


# --- reconcile's refusals and its session ------------------------------------------------------------------


def test_reconcile_refuses_a_naive_time_and_a_negative_grace(db):
    with pytest.raises(ValueError, match=r"^as_of must be an aware datetime$"):
        reconcile(as_of=datetime(2026, 11, 10, 12, 0))
    with pytest.raises(ValueError, match=r"^the grace period cannot be negative$"):
        reconcile(as_of=AS_OF, grace=timedelta(seconds=-1))


def test_reconcile_gives_its_transaction_the_memory_to_match_in(db):
    reconcile(as_of=AS_OF)

    with connection.cursor() as cursor:  # SET LOCAL: until the test's transaction ends
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone()[0] == "256MB"


# --- one debit's reversals -------------------------------------------------------------------------------


def test_a_reversal_without_rrn_names_a_debit_only_by_both_its_terminal_and_its_stan(db):
    first = debit("L1", T, rrn="100000000001", stan="000001")
    entry("R1", T + minutes(1), kind=LedgerKind.REVERSAL, amount="1.00", rrn="", stan="000001",
          terminal_id="99999999")
    entry("R2", T + minutes(2), kind=LedgerKind.REVERSAL, amount="2.00", rrn="", stan="000002")
    no_stan = debit("L2", T, rrn="100000000002", stan="")
    entry("R3", T + minutes(3), kind=LedgerKind.REVERSAL, amount="3.00", rrn="", stan="")

    assert not reconciliation.reversals_for(first, as_of=AS_OF).exists()
    assert not reconciliation.reversals_for(no_stan, as_of=AS_OF).exists()
    assert reconciliation.outstanding_amount(first, as_of=AS_OF) == Decimal("10.00")


def test_one_debits_reversals_come_in_posting_order_then_entry_id(db):
    first = debit("L1", T, rrn="100000000001")
    for entry_id, at in (("R1", T + minutes(9)), ("R3", T + minutes(5)), ("R2", T + minutes(5))):
        entry(entry_id, at, kind=LedgerKind.REFUND, amount="1.00", rrn="100000000001")

    assert [e.entry_id for e in reconciliation.reversals_for(first, as_of=AS_OF)] == ["R2", "R3", "R1"]
    assert reconciliation.outstanding_amount(first, as_of=AS_OF) == Decimal("7.00")


# --- the run's orphans and their file ----------------------------------------------------------------------


def test_orphans_come_oldest_first_then_by_entry_id_with_their_entries(db, django_assert_num_queries):
    for entry_id, at in (("L3", T), ("L1", T + minutes(1)), ("L2", T)):
        debit(entry_id, at)
    run = reconcile(as_of=AS_OF)

    with django_assert_num_queries(1):
        assert [orphan.entry.entry_id for orphan in orphan_debits(run)] == ["L2", "L3", "L1"]


def test_the_orphans_file_is_the_ledger_file_with_each_currencys_decimals(db):
    debit("L1", T, amount="1500", currency="JPY", rrn="100000000001")
    debit("L2", T + minutes(1), amount="10.5", rrn="100000000002", stan="000002", auth_code="A1")
    debit("L3", T + minutes(2), amount="7.25", currency="XTS", rrn="100000000003")  # no decimals known: two
    run = reconcile(as_of=AS_OF)
    out = io.StringIO()

    assert reconciliation.orphans_write_csv(run, out) == 3
    assert out.getvalue() == (
        "entry_id,customer_ref,card_last4,amount,currency,posted_at,kind,rrn,stan,auth_code,merchant_id,terminal_id\n"
        f"L1,C00001,1234,1500,JPY,2026-11-10T12:00:00+08:00,debit,100000000001,,,{MERCHANT},{TERMINAL}\n"
        f"L2,C00001,1234,10.50,CNY,2026-11-10T12:01:00+08:00,debit,100000000002,000002,A1,{MERCHANT},{TERMINAL}\n"
        f"L3,C00001,1234,7.25,XTS,2026-11-10T12:02:00+08:00,debit,100000000003,,,{MERCHANT},{TERMINAL}\n"
    )


# --- terminal health -------------------------------------------------------------------------------------


def health(terminal_id, merchant_id=MERCHANT, records=0, approved=0, declined=0, timeouts=0, orphans=0):
    return TerminalHealth(terminal_id=terminal_id, merchant_id=merchant_id, records=records, approved=approved,
                          declined=declined, timeouts=timeouts, orphans=orphans)


def test_terminal_health_lists_three_incidents_or_more_by_default_most_first_then_by_terminal(db):
    for terminal, count in (("B0000003", 3), ("A0000003", 3), ("C0000002", 2), ("D0000005", 5)):
        for n in range(count):
            record(f"{terminal}-{n}", T + minutes(n), status=SettlementStatus.TIMEOUT, terminal_id=terminal)

    rows = reconciliation.terminal_health(since=T - DAY, until=T + DAY)

    assert rows == [health("D0000005", records=5, timeouts=5), health("A0000003", records=3, timeouts=3),
                    health("B0000003", records=3, timeouts=3)]


def test_terminal_health_counts_only_the_window_and_known_terminals(db):
    since, until = T - DAY, T + DAY
    for n, at in enumerate((since, until - timedelta(microseconds=1), until, since - timedelta(microseconds=1))):
        record(f"W{n}", at, status=SettlementStatus.DECLINED)
    for n in range(3):
        record(f"X{n}", T, status=SettlementStatus.TIMEOUT, terminal_id="")
    for n, at in enumerate((since, until - timedelta(microseconds=1), until, since - timedelta(microseconds=1))):
        debit(f"L{n}", at, terminal_id="ORPHAN01")
    for n in range(3):
        debit(f"E{n}", T, terminal_id="")
    run = reconcile(as_of=until + 2 * DAY)

    rows = reconciliation.terminal_health(since=since, until=until, threshold=1, reconciliation=run)

    assert rows == [health(TERMINAL, records=2, declined=2), health("ORPHAN01", orphans=2)]


def test_terminal_health_counts_one_runs_orphans_and_a_terminal_without_a_merchant(db):
    debit("L1", T, terminal_id="ORPHAN01", merchant_id="")
    record("S1", T, status=SettlementStatus.TIMEOUT, terminal_id="NOMERCH1", merchant_id="")
    first = reconcile(as_of=AS_OF)
    reconcile(as_of=AS_OF)

    rows = reconciliation.terminal_health(since=T - DAY, until=T + DAY, threshold=1, reconciliation=first)

    assert rows == [health("NOMERCH1", merchant_id="", records=1, timeouts=1),
                    health("ORPHAN01", merchant_id="", orphans=1)]


@pytest.mark.parametrize("order", ["later as_of first", "later as_of last"])
def test_terminal_health_reads_the_run_with_the_latest_as_of_by_default(db, order):
    debit("L1", T, terminal_id="ORPHAN01")
    runs = [lambda: reconcile(as_of=AS_OF), lambda: reconcile(as_of=T - DAY)]  # an orphan, then none
    for run in runs if order == "later as_of first" else runs[::-1]:
        run()

    rows = reconciliation.terminal_health(since=T - DAY, until=T + DAY, threshold=1)

    assert rows == [health("ORPHAN01", orphans=1)]


@pytest.mark.parametrize("graces", [(0, 5), (5, 0)])
def test_terminal_health_reads_the_last_of_runs_as_of_the_same_time_by_default(db, graces):
    debit("L1", T, terminal_id="ORPHAN01")
    for days in graces:  # a grace of 5 days: no orphan yet
        reconcile(as_of=AS_OF, grace=days * DAY)

    rows = reconciliation.terminal_health(since=T - DAY, until=T + DAY, threshold=1)

    assert rows == ([] if graces[-1] else [health("ORPHAN01", orphans=1)])


def test_the_terminal_health_file_has_one_line_per_terminal(db):
    rows = [health("A0000001", records=4, approved=1, declined=1, timeouts=2, orphans=1), health("B0000002")]
    out = io.StringIO()

    assert reconciliation.terminal_health_write_csv(rows, out) == 2
    assert out.getvalue() == ("terminal_id,merchant_id,records,approved,declined,timeouts,orphans,incidents\n"
                              f"A0000001,{MERCHANT},4,1,1,2,1,4\nB0000002,{MERCHANT},0,0,0,0,0,0\n")
