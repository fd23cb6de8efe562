"""The three matching passes and their tie-breaks (docs/design.md, "Transaction records", Matching)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from tests.transactions.records import MERCHANT, SHANGHAI, TERMINAL, T, debit, minutes, record
from transactions.matching import PASS_MERCHANT, PASS_RRN, PASS_TERMINAL, epoch_microseconds, match_pairs, matching
from transactions.models import LedgerEntry, LedgerKind, SettlementRecord, SettlementStatus

LATER = T + timedelta(days=30)
OTHER_MERCHANT = "308231254110061"
OTHER_TERMINAL = "68325145"


def pairs(as_of: datetime = LATER, **restricted) -> set[tuple[str, str, int]]:
    entries = dict(LedgerEntry.objects.values_list("pk", "entry_id"))
    records = dict(SettlementRecord.objects.values_list("pk", "record_id"))
    return {(entries[p.entry], records[p.record], p.match_pass) for p in match_pairs(as_of=as_of, **restricted)}


# --- pass 1: the same rrn ---------------------------------------------------------------------------


def test_pass_one_pairs_the_same_rrn_whatever_the_amount_and_time(db):
    debit("L1", T, rrn="100000000001", amount="10.00")
    record("S1", T + timedelta(hours=5), rrn="100000000001", amount="99.00", merchant_id=OTHER_MERCHANT)

    assert pairs() == {("L1", "S1", PASS_RRN)}


def test_pass_one_gives_a_record_the_closest_debit(db):
    record("S1", T, rrn="100000000001")
    debit("L1", T - minutes(1), rrn="100000000001", merchant_id=OTHER_MERCHANT)
    debit("L2", T + minutes(0.5), rrn="100000000001", merchant_id=OTHER_MERCHANT)

    assert pairs() == {("L2", "S1", PASS_RRN)}


def test_pass_one_gives_a_debit_the_closest_record_then_the_lowest_record_id(db):
    debit("L1", T, rrn="100000000001")
    record("S9", T + minutes(1), rrn="100000000001", merchant_id=OTHER_MERCHANT)
    record("S5", T - minutes(1), rrn="100000000001", merchant_id=OTHER_MERCHANT)
    record("S7", T - minutes(3), rrn="100000000001", merchant_id=OTHER_MERCHANT)

    assert pairs() == {("L1", "S5", PASS_RRN)}


def test_equally_close_debits_go_lowest_entry_id_first_byte_by_byte(db):
    """'B1' < 'a1' byte by byte (a linguistic collation says otherwise): the order does not depend on the database's locale."""
    record("S1", T, rrn="100000000001")
    debit("a1", T - minutes(1), rrn="100000000001", merchant_id=OTHER_MERCHANT)
    debit("B1", T + minutes(1), rrn="100000000001", merchant_id=OTHER_MERCHANT)

    assert pairs() == {("B1", "S1", PASS_RRN)}


def test_two_debits_of_one_rrn_and_two_records_pair_off_closest_first(db):
    debit("L1", T, rrn="100000000001")
    debit("L2", T + minutes(10), rrn="100000000001")
    record("S1", T + minutes(9), rrn="100000000001")  # closest to L2
    record("S2", T + minutes(2), rrn="100000000001")  # closest to L1

    assert pairs() == {("L1", "S2", PASS_RRN), ("L2", "S1", PASS_RRN)}


# --- pass 2: terminal, stan, amount, local day -----------------------------------------------------------


def test_pass_two_pairs_terminal_stan_and_amount_on_the_same_local_day(db):
    debit("L1", T.replace(hour=9), stan="508225", rrn="100000000001")
    record("S1", T.replace(hour=21), stan="508225", rrn="", merchant_id=OTHER_MERCHANT)

    assert pairs() == {("L1", "S1", PASS_TERMINAL)}


def test_pass_two_needs_the_same_amount_and_stan_and_terminal(db):
    debit("L1", T, stan="508225")
    record("S1", T, stan="508225", amount="10.01", merchant_id=OTHER_MERCHANT)
    record("S2", T, stan="508226", merchant_id=OTHER_MERCHANT)
    record("S3", T, stan="508225", terminal_id=OTHER_TERMINAL, merchant_id=OTHER_MERCHANT)

    assert pairs() == set()


def test_pass_two_days_are_local_days_not_utc_days(db):
    """Asia/Shanghai is UTC+8: 23:58 and 00:03 local are one UTC day but two local days;
    07:30 and 08:30 local are two UTC days but one local day."""
    debit("L1", datetime(2026, 11, 15, 23, 58, tzinfo=SHANGHAI), stan="736622")
    record("S1", datetime(2026, 11, 16, 0, 3, tzinfo=SHANGHAI), stan="736622", merchant_id=OTHER_MERCHANT)
    debit("L2", datetime(2026, 11, 17, 7, 30, tzinfo=SHANGHAI), stan="100001")
    record("S2", datetime(2026, 11, 17, 8, 30, tzinfo=SHANGHAI), stan="100001", merchant_id=OTHER_MERCHANT)

    assert pairs() == {("L2", "S2", PASS_TERMINAL)}


def test_the_local_day_follows_the_configured_time_zone(db, settings):
    settings.TIME_ZONE = "UTC"
    debit("L1", datetime(2026, 11, 15, 23, 58, tzinfo=SHANGHAI), stan="736622")
    record("S1", datetime(2026, 11, 16, 0, 3, tzinfo=SHANGHAI), stan="736622", merchant_id=OTHER_MERCHANT)

    assert pairs() == {("L1", "S1", PASS_TERMINAL)}


def test_pass_two_tie_break_is_the_closest_then_the_lowest_entry_id(db):
    record("S1", T, stan="508225", merchant_id=OTHER_MERCHANT)
    debit("L3", T - minutes(30), stan="508225")
    debit("L2", T + minutes(30), stan="508225")
    debit("L1", T + minutes(31), stan="508225")

    assert pairs() == {("L2", "S1", PASS_TERMINAL)}


# --- pass 3: merchant, amount, 15 minutes ---------------------------------------------------------------------


@pytest.mark.parametrize("gap", [minutes(-15), minutes(15), minutes(0), minutes(-1)])
def test_pass_three_pairs_merchant_and_amount_within_fifteen_minutes_either_side(db, gap):
    debit("L1", T)
    record("S1", T + gap, terminal_id=OTHER_TERMINAL)

    assert pairs() == {("L1", "S1", PASS_MERCHANT)}


@pytest.mark.parametrize("gap", [minutes(-15) - timedelta(seconds=1), minutes(15) + timedelta(seconds=1)])
def test_pass_three_does_not_reach_beyond_fifteen_minutes(db, gap):
    debit("L1", T)
    record("S1", T + gap, terminal_id=OTHER_TERMINAL)

    assert pairs() == set()


def test_pass_three_needs_the_same_amount(db):
    debit("L1", T)
    record("S1", T, amount="10.01", terminal_id=OTHER_TERMINAL)

    assert pairs() == set()


def test_pass_three_tie_break_is_the_closest_then_the_lowest_entry_id(db):
    record("S1", T, terminal_id=OTHER_TERMINAL)
    debit("L9", T - minutes(2))
    debit("L5", T + minutes(2))
    debit("L7", T + minutes(1) + timedelta(seconds=1))

    assert pairs() == {("L7", "S1", PASS_MERCHANT)}
    LedgerEntry.objects.filter(entry_id="L7").delete()
    assert pairs() == {("L5", "S1", PASS_MERCHANT)}


def test_a_record_taken_by_its_best_debit_goes_to_its_next_best_in_a_later_round(db):
    """Greedy, closest pair first: S2 is closest to L1, but L1 is closer still to S1;
    so S2 falls back to L2, which is further from it than L1 is."""
    record("S1", T, terminal_id=OTHER_TERMINAL)
    debit("L1", T + minutes(1))
    record("S2", T + minutes(2.1), terminal_id=OTHER_TERMINAL)
    debit("L2", T + minutes(3.3))
    record("S3", T + minutes(4.6), terminal_id=OTHER_TERMINAL)

    assert pairs() == {("L1", "S1", PASS_MERCHANT), ("L2", "S2", PASS_MERCHANT)}
    with matching(as_of=LATER) as summary, connection.cursor() as cursor:  # the two rounds' pairs both count
        assert (summary.debits, summary.records, summary.pairs_by_pass) == (2, 3, {1: 0, 2: 0, 3: 2})
        cursor.execute("SELECT match_round FROM tx_match_pair ORDER BY match_round")
        assert [row[0] for row in cursor.fetchall()] == [1, 2]  # L1-S1 in round 1, L2-S2 in round 2


# --- what takes part ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [SettlementStatus.DECLINED, SettlementStatus.TIMEOUT, SettlementStatus.REVERSED])
def test_only_approved_records_pair(db, status):
    debit("L1", T, rrn="100000000001", stan="508225")
    record("S1", T, rrn="100000000001", stan="508225", status=status)

    assert pairs() == set()


@pytest.mark.parametrize("kind", [LedgerKind.HOLD, LedgerKind.REVERSAL, LedgerKind.REFUND])
def test_only_debits_pair(db, kind):
    debit("L1", T, rrn="100000000001", kind=kind)
    record("S1", T, rrn="100000000001")

    assert pairs() == set()


def test_empty_fields_are_unknown_and_never_match(db):
    debit("L1", T, rrn="", stan="", terminal_id="", merchant_id="")
    record("S1", T, rrn="", stan="", terminal_id="", merchant_id="")

    assert pairs() == set()


def test_the_passes_run_in_order_each_over_what_is_left(db):
    """S1 goes to L1 by RRN in pass 1, though L2 is closer in time and would match in pass 3."""
    record("S1", T, rrn="100000000001")
    debit("L1", T + minutes(10), rrn="100000000001")
    debit("L2", T)
    record("S2", T + minutes(5), stan="508225", terminal_id=OTHER_TERMINAL)
    debit("L3", T + minutes(5) + timedelta(hours=3), stan="508225", terminal_id=OTHER_TERMINAL)

    assert pairs() == {("L1", "S1", PASS_RRN), ("L3", "S2", PASS_TERMINAL)}


def test_as_of_leaves_out_what_was_posted_or_transacted_later(db):
    debit("L1", T, rrn="100000000001")
    record("S1", T + minutes(1), rrn="100000000001")
    debit("L2", T + minutes(2), rrn="100000000002", merchant_id=OTHER_MERCHANT)
    record("S2", T, rrn="100000000002", merchant_id=OTHER_MERCHANT)

    assert pairs(as_of=T + minutes(1) - timedelta(microseconds=1)) == set()
    assert pairs(as_of=T + minutes(1)) == {("L1", "S1", PASS_RRN)}
    assert pairs(as_of=T + minutes(2)) == {("L1", "S1", PASS_RRN), ("L2", "S2", PASS_RRN)}


def test_matching_can_be_restricted_to_some_debits_and_records(db):
    first = debit("L1", T, rrn="100000000001")
    debit("L2", T, rrn="100000000002")
    record("S1", T, rrn="100000000001")
    record("S2", T, rrn="100000000002")

    found = pairs(debits=LedgerEntry.objects.filter(pk=first.pk),
                  records=SettlementRecord.objects.filter(merchant_id=MERCHANT, terminal_id=TERMINAL))

    assert found == {("L1", "S1", PASS_RRN)}


def test_matching_restricted_to_some_records_only_pairs_among_them(db):
    debit("L1", T, rrn="100000000001")
    record("S1", T, rrn="100000000001")
    record("S2", T + minutes(5), rrn="100000000001")

    assert pairs() == {("L1", "S1", PASS_RRN)}
    assert pairs(records=SettlementRecord.objects.filter(record_id="S2")) == {("L1", "S2", PASS_RRN)}


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(1970, 1, 1, tzinfo=UTC), 0),
    (datetime(1970, 1, 1, 8, 0, 0, 1, tzinfo=SHANGHAI), 1),
    (datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), -1),
    # 253402300800 s is 10000-01-01T00:00:00Z; beyond 2**53 a float would lose the last microseconds.
    (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), 253402300800 * 10**6 - 1),
])
def test_epoch_microseconds_are_exact_integers(moment, expected):
    value = epoch_microseconds(moment)

    assert type(value) is int and value == expected


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_matching_tables_are_analyzed_for_the_planner(db):
    """Temporary tables get no autovacuum: without ANALYZE PostgreSQL knows no row count (-1) and plans blind."""
    debit("L1", T, rrn="100000000001")
    debit("L2", T, rrn="100000000002", merchant_id=OTHER_MERCHANT)
    record("S1", T, rrn="100000000001")

    with matching(as_of=LATER), connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid IN (%s::regclass, %s::regclass, %s::regclass)"
                       " ORDER BY relname", ["tx_match_debit_left", "tx_match_pair", "tx_match_record_left"])
        assert [row[0] for row in cursor.fetchall()] == [1, 1, 0]  # L2 left; L1-S1 paired; no record left


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_pass_one_counts_by_rrn_in_one_process_and_then_restores_the_setting(db):
    """PostgreSQL plans the count by rrn over a UNION ALL for 200 groups; in parallel it then sorts every
    partial group (5.5-6.0 s against 3.4 s for a million rows a side, docs/performance.md). Only that
    statement runs without parallel workers: the transaction's own setting comes back after it."""
    debit("L1", T, rrn="100000000001")
    record("S1", T, rrn="100000000001")
    seen = {}

    def watch(execute, sql, params, many, context):
        if sql.startswith("CREATE TEMPORARY TABLE tx_match_lone AS"):
            with connection.cursor() as cursor:
                cursor.execute("SHOW max_parallel_workers_per_gather")
                seen["during"] = cursor.fetchone()[0]
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 3")
    with connection.execute_wrapper(watch), matching(as_of=LATER), connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        seen["after"] = cursor.fetchone()[0]

    assert seen == {"during": "0", "after": "3"}


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_look_up_of_large_groups_counts_both_sides_at_once_without_a_join(db):
    """Passes 1 and 2 first look for a group too large for the rounds. Written as a join of each side's
    counts under LIMIT 1, PostgreSQL planned it as a nested loop over every pair of groups: 191 s for
    what a million-row reconciliation leaves (82,037 debits and 90,994 records), where one count of both
    sides takes 0.2 s (docs/performance.md). The look-up must read each side once and join nothing."""
    for n in range(40):  # groups that passes 1 and 2 both look at: two debits for one record
        rrn = f"2000000{n:05d}"
        debit(f"LA{n}", T, rrn=rrn, stan=f"{n:06d}")
        debit(f"LB{n}", T + minutes(1), rrn=rrn, stan=f"{n:06d}")
        record(f"S{n}", T, rrn=rrn, stan=f"{n:06d}")
    plans = []

    def explain(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("SELECT 1 FROM") and sql.endswith("LIMIT 1"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + sql, params)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        return result

    with connection.execute_wrapper(explain), matching(as_of=LATER) as summary:
        pass

    assert summary.pairs_by_pass[PASS_RRN] == 40
    assert len(plans) == 2  # passes 1 and 2
    assert not [plan for plan in plans if "Join" in plan or "Nested Loop" in plan], plans


def test_a_case_s_few_rows_are_matched_in_few_statements(db, django_assert_max_num_queries):
    """A case's check matches a handful of rows, as often as cases are filed: its cost is statements.
    What only a whole reconciliation needs (the lone pairs kept apart, one process for the count)
    is not paid here, and the temporary tables go in one DROP each time on PostgreSQL."""
    first = debit("L1", T, rrn="100000000001")
    second = debit("L2", T + minutes(1), rrn="100000000001")
    paid = record("S1", T, rrn="100000000001")
    budget = 39 if connection.vendor == "postgresql" else 42

    with django_assert_max_num_queries(budget):
        found = match_pairs(as_of=LATER, debits=LedgerEntry.objects.filter(pk__in=[first.pk, second.pk]),
                            records=SettlementRecord.objects.filter(pk__in=[paid.pk]))

    assert [(pair.entry, pair.record, pair.match_pass) for pair in found] == [(first.pk, paid.pk, PASS_RRN)]
