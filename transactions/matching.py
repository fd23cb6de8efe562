"""Pairing ledger debits with approved settlement records (docs/design.md,
"Transaction records", Matching), set-based, in SQL.

As of a time T, the debits posted by T and the ``approved`` settlement records
transacted by T are paired in three passes, each over what is still unpaired:

1. the same non-empty ``rrn``;
2. the same ``terminal_id`` + ``stan`` + amount on the same local calendar day
   (``settings.TIME_ZONE``; PostgreSQL's ``AT TIME ZONE``);
3. the same ``merchant_id`` + amount, ``transacted_at`` within 15 minutes
   either side of ``posted_at``.

A record pairs with at most one debit and a debit with at most one record.
Among candidates the closest in time wins, then the lowest ``entry_id``, then
the lowest ``record_id`` (compared byte by byte). Each pass is the greedy
matching over the candidate pairs of that pass sorted that way, computed
without a loop per row: every round pairs each debit and record that are each
other's best candidate (``row_number()`` over both sides), then drops the
candidates of what was paired; a pair that is best for both ends is exactly the
pair the greedy choice would take, so the rounds end where the greedy matching
does, usually after two or three rounds. In passes 1 and 2 candidates share
equal values, so they fall into groups (an rrn; a terminal, STAN, amount and
day) in which every debit is a candidate of every record: a group of one debit
and one record is a pair whatever else there is, paired before the rounds
without sorting (most of pass 1), and a group too large for rounds (an rrn a
faulty terminal writes on every payment) is paired by the same rule in one
sequence (``transactions.matching_groups``).

Pass 1's groups of one debit and one record (in most files nearly every pair)
are found first, straight from the records tables, by counting each rrn's
debits and records (no sort, no copy); over whole tables, into a table of their
own, which the passes' pairs join at the end. Only the debits and records left
over are copied, with the values the passes compare, into the tables the passes work on.

Everything happens in temporary tables of the current connection, inside one
transaction: ``matching()`` is a context manager, and within it the caller may
read the tables (``reconciliation`` does, to find the orphan debits).
Empty ``rrn``, ``terminal_id``, ``stan`` or ``merchant_id`` mean unknown and
never match.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from itertools import groupby

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet

from transactions import matching_groups, sqlite_functions
from transactions.matching_tables import (
    DEBITS_LEFT,
    EDGES,
    LARGE,
    LONE,
    PAIRS,
    RECORDS_LEFT,
    analyze as _analyze,
    drop as _drop,
    serial as _serial,
)
from transactions.models import LedgerEntry, LedgerKind, SettlementRecord, SettlementStatus

PASS_RRN = 1
PASS_TERMINAL = 2
PASS_MERCHANT = 3
PASSES = (PASS_RRN, PASS_TERMINAL, PASS_MERCHANT)
MERCHANT_WINDOW = timedelta(minutes=15)


# How each pass finds its candidates (d: a debit, r: a record, both still unpaired), and,
# where candidates are those with equal values (every debit of a group a candidate of
# every record of it), the debit's values that make the group; {key} is the collation
# that compares text byte by byte.
_CANDIDATES = {
    # Pass 1's groups of one debit and one record are paired before any copy (_load); those
    # it leaves are all larger: none is a pair alone.
    PASS_RRN: ("r.rrn = d.rrn", "d.rrn <> ''", None),
    PASS_TERMINAL: (
        "r.terminal_id = d.terminal_id AND r.stan = d.stan AND r.cents = d.cents AND r.day = d.day",
        "d.terminal_id <> '' AND d.stan <> ''",
        "d.terminal_id {key}, d.stan {key}, d.cents, d.day",
    ),
    PASS_MERCHANT: (
        "r.merchant_id = d.merchant_id AND r.cents = d.cents",
        "d.merchant_id <> '' AND abs(d.at_us - r.at_us) <= %d" % (MERCHANT_WINDOW // timedelta(microseconds=1)),
        None,  # within 15 minutes: not a relation of equal values
    ),
}
# The columns of a group of equal values, in the passes that have them (matching_groups).
_GROUP_COLUMNS = {PASS_RRN: ("rrn",), PASS_TERMINAL: ("terminal_id", "stan", "cents", "day")}
# Per database: the collation that compares ids byte by byte, a time as microseconds since the
# epoch, and its local calendar day in the zone given as a parameter (SQLite: transactions.sqlite_functions).
_SQL = {
    "postgresql": ('COLLATE "C"', "CAST(extract(epoch FROM %s) * 1000000 AS bigint)",
                   "CAST((%s AT TIME ZONE %%s) AS date)"),
    "sqlite": ("", "dd_epoch_us(%s)", "dd_local_day(%s, %%s)"),
}
# Whole cents: exact on PostgreSQL and SQLite alike (SQLite keeps decimals as floats).
AMOUNT_CENTS = "CAST(round(amount * 100) AS bigint)"
_POSTED_AT, _TRANSACTED_AT = "posted_at", "transacted_at"
_DEBIT_ID, _RECORD_ID = "debit_id", "record_id"


@dataclass(frozen=True)
class Pair:
    """A debit (``LedgerEntry`` pk) paired with a settlement record (``SettlementRecord`` pk)."""

    entry: int
    record: int
    match_pass: int


@dataclass(frozen=True)
class MatchSummary:
    as_of: datetime
    debits: int
    records: int
    pairs_by_pass: dict[int, int]

    @property
    def pairs(self) -> int:
        return sum(self.pairs_by_pass.values())


def epoch_microseconds_sql(column: str) -> str:
    """SQL for a time column as microseconds since the epoch (how the matching tables hold times)."""
    return _SQL[connection.vendor][1] % column


def epoch_microseconds(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC: how the matching tables hold times."""
    return (moment - datetime(1970, 1, 1, tzinfo=dt_timezone.utc)) // timedelta(microseconds=1)


@contextmanager
def matching(
    *,
    as_of: datetime,
    debits: QuerySet[LedgerEntry] | None = None,
    records: QuerySet[SettlementRecord] | None = None,
) -> Iterator[MatchSummary]:
    """Pair the debits posted by ``as_of`` with the approved records transacted
    by then (optionally only among ``debits`` / ``records``); yields the counts.

    Inside the block the temporary tables hold the result: ``tx_match_pair``
    (``debit_id``, ``record_id``, ``match_pass``, ``match_round``: the round of
    the pass, from 1, that paired them; 0 for a debit and a record that were
    each other's only candidate, paired before the rounds) and
    ``tx_match_debit_left`` / ``tx_match_record_left``: what was left unpaired,
    with ``id``, ``entry_key``/``record_key``, ``at_us``, ``day``, ``cents``
    and the slip fields; debits also ``card_last4``, ``customer_ref`` and ``posted_at``."""
    with transaction.atomic():
        # Created in this transaction, the tables vanish with it if anything fails;
        # otherwise they are dropped here, for a caller whose transaction goes on.
        _drop()
        with connection.cursor() as cursor:
            whole = debits is None and records is None
            alone, debit_count, record_count = _load(cursor, as_of=as_of, debits=debits, records=records, whole=whole)
            pairs_by_pass = {number: _run_pass(cursor, number) for number in PASSES}
            if whole:
                _pairs_joined(cursor, lone=alone, added=sum(pairs_by_pass.values()))
            pairs_by_pass[PASS_RRN] += alone
        yield MatchSummary(as_of=as_of, debits=debit_count, records=record_count, pairs_by_pass=pairs_by_pass)
        _drop()


def match_pairs(
    *,
    as_of: datetime,
    debits: QuerySet[LedgerEntry] | None = None,
    records: QuerySet[SettlementRecord] | None = None,
) -> list[Pair]:
    """The pairs, as a list (for a few records: a case's candidates, a test)."""
    with matching(as_of=as_of, debits=debits, records=records):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT debit_id, record_id, match_pass FROM {PAIRS} ORDER BY match_pass, debit_id")
            return [Pair(entry, record, number) for entry, record, number in cursor.fetchall()]


# --- the temporary tables (transactions.matching_tables) ----------------------------------------

def _restricted(queryset: QuerySet | None) -> tuple[str, list]:
    if queryset is None:
        return "", []
    sql, params = queryset.values("pk").query.sql_with_params()
    return f" AND id IN ({sql})", list(params)


def _load(cursor, *, as_of: datetime, debits: QuerySet | None, records: QuerySet | None,
          whole: bool) -> tuple[int, int, int]:
    """Create the tables; return how many pairs pass 1 found alone in their rrn,
    and how many debits and records are compared."""
    ledger, settlement = LedgerEntry._meta.db_table, SettlementRecord._meta.db_table
    debit_filter, debit_params = _restricted(debits)
    record_filter, record_params = _restricted(records)
    key, at_us, day = _SQL[connection.vendor]
    sqlite_functions.install(connection)
    as_of_param = connection.ops.adapt_datetimefield_value(as_of)
    compared_debits = f"kind = %s AND posted_at <= %s{debit_filter}"
    debit_params = [LedgerKind.DEBIT, as_of_param, *debit_params]
    compared_records = f"status = %s AND transacted_at <= %s{record_filter}"
    record_params = [SettlementStatus.APPROVED, as_of_param, *record_params]
    # Pass 1's groups of one debit and one record (one count of both tables' rows by rrn), in one
    # process when it reads whole tables (_serial). Then they stay in a table of their own with no
    # index until the passes end (two unique indexes over 828,736 pairs took 0.7 s): a debit or a
    # record has one rrn, so it is in one such pair at most. A case's few start the pairs' table.
    lone = LONE if whole else PAIRS
    with _serial(cursor, needed=whole):
        cursor.execute(
            f"CREATE TEMPORARY TABLE {lone} AS"
            f" SELECT max(debit_id) AS debit_id, max(record_id) AS record_id,"
            f" {PASS_RRN} AS match_pass, 0 AS match_round"
            f" FROM (SELECT rrn, id AS debit_id, CAST(NULL AS bigint) AS record_id FROM {ledger}"
            f"   WHERE {compared_debits} AND rrn <> ''"
            f"  UNION ALL SELECT rrn, CAST(NULL AS bigint), id FROM {settlement}"
            f"   WHERE {compared_records} AND rrn <> '') side"
            f" GROUP BY rrn HAVING count(debit_id) = 1 AND count(record_id) = 1",
            [*debit_params, *record_params],
        )
    if whole:
        _analyze(cursor, LONE)
        cursor.execute(f"CREATE TEMPORARY TABLE {PAIRS} (debit_id bigint, record_id bigint, match_pass int,"
                       f" match_round int)")
    # The two unique keys are the rule itself: a debit pairs once, a record pairs once.
    cursor.execute(f"CREATE UNIQUE INDEX {PAIRS}_debit ON {PAIRS} (debit_id)")
    cursor.execute(f"CREATE UNIQUE INDEX {PAIRS}_record ON {PAIRS} (record_id)")
    if not whole:
        _analyze(cursor, PAIRS)
    cursor.execute(
        f"CREATE TEMPORARY TABLE {DEBITS_LEFT} AS"
        f" SELECT id, entry_id {key} AS entry_key, {at_us % _POSTED_AT} AS at_us,"
        f" {day % _POSTED_AT} AS day, {AMOUNT_CENTS} AS cents, rrn, terminal_id, stan, merchant_id,"
        f" card_last4, customer_ref, posted_at"
        f" FROM {ledger} t WHERE {compared_debits}"
        f" AND NOT EXISTS (SELECT 1 FROM {lone} p WHERE p.debit_id = t.id)",
        [settings.TIME_ZONE, *debit_params],
    )
    cursor.execute(
        f"CREATE TEMPORARY TABLE {RECORDS_LEFT} AS"
        f" SELECT id, record_id {key} AS record_key, {at_us % _TRANSACTED_AT} AS at_us,"
        f" {day % _TRANSACTED_AT} AS day, {AMOUNT_CENTS} AS cents, rrn, terminal_id, stan, merchant_id"
        f" FROM {settlement} t WHERE {compared_records}"
        f" AND NOT EXISTS (SELECT 1 FROM {lone} p WHERE p.record_id = t.id)",
        [settings.TIME_ZONE, *record_params],
    )
    cursor.execute(
        f"CREATE TEMPORARY TABLE {EDGES} (debit_id bigint, record_id bigint, gap bigint,"
        f" entry_key text {key}, record_key text {key}, alone boolean)")
    _analyze(cursor, DEBITS_LEFT)
    _analyze(cursor, RECORDS_LEFT)
    cursor.execute(f"SELECT (SELECT count(*) FROM {lone}), (SELECT count(*) FROM {DEBITS_LEFT}),"
                   f" (SELECT count(*) FROM {RECORDS_LEFT})")
    alone, debits_left, records_left = cursor.fetchone()
    return alone, alone + debits_left, alone + records_left


def _run_pass(cursor, number: int) -> int:
    """One pass: its candidates among what is unpaired, then rounds of mutual best
    candidates until none is left. Returns how many pairs it made."""
    joined, condition, group = _CANDIDATES[number]
    debits, records = DEBITS_LEFT, RECORDS_LEFT
    large, not_large = _pair_large_groups(cursor, number, condition) if number in _GROUP_COLUMNS else (0, "")
    alone = "false"
    if group:
        alone = f"count(*) OVER (PARTITION BY {group.format(key=_SQL[connection.vendor][0])}) = 1"
    cursor.execute(f"DELETE FROM {EDGES}")
    cursor.execute(
        f"INSERT INTO {EDGES} (debit_id, record_id, gap, entry_key, record_key, alone)"
        f" SELECT d.id, r.id, abs(d.at_us - r.at_us), d.entry_key, r.record_key, {alone}"
        f" FROM {debits} d JOIN {records} r ON {joined}"
        f" WHERE {condition}{not_large}"
    )
    paired = large + (_pair_alone(cursor, number) if group else 0)
    _analyze(cursor, EDGES)
    round_number = 0
    while True:
        round_number += 1
        cursor.execute(
            f"INSERT INTO {PAIRS} (debit_id, record_id, match_pass, match_round)"
            f" SELECT debit_id, record_id, %s, %s FROM ("
            f"  SELECT debit_id, record_id,"
            f"   row_number() OVER (PARTITION BY debit_id ORDER BY gap, record_key) AS debit_rank,"
            f"   row_number() OVER (PARTITION BY record_id ORDER BY gap, entry_key) AS record_rank"
            f"  FROM {EDGES}) ranked"
            f" WHERE debit_rank = 1 AND record_rank = 1",
            [number, round_number],
        )
        if not cursor.rowcount:
            break
        paired += cursor.rowcount
        _analyze(cursor, PAIRS)
        cursor.execute(
            f"DELETE FROM {EDGES} WHERE"
            f" debit_id IN (SELECT debit_id FROM {PAIRS} WHERE match_pass = %s AND match_round = %s)"
            f" OR record_id IN (SELECT record_id FROM {PAIRS} WHERE match_pass = %s AND match_round = %s)",
            [number, round_number, number, round_number],
        )
        if not cursor.rowcount:  # never: it takes at least the edges just paired; a guard against looping
            break
    _leave_unpaired(cursor, number)
    return paired


def _pair_large_groups(cursor, number: int, condition: str) -> tuple[int, str]:
    """Pair the pass's groups of more than ``LARGE_GROUP_PAIRS`` candidate pairs in
    one sequence each (``matching_groups``), as round 1. Returns how many pairs,
    and the condition that keeps those groups out of the candidates' table."""
    columns = _GROUP_COLUMNS[number]
    listed = ", ".join(columns)
    # One count of both sides: no join for the planner to get wrong (two counts joined under
    # LIMIT 1 made a nested loop: 191 s on the million-row bench).
    large = (f" FROM (SELECT {listed}, 1 AS debit, 0 AS record FROM {DEBITS_LEFT} d WHERE {condition}"
             f" UNION ALL SELECT {listed}, 0, 1 FROM {RECORDS_LEFT}) side"
             f" GROUP BY {listed} HAVING sum(debit) * sum(record) > %s")
    cursor.execute(f"SELECT 1{large} LIMIT 1", [matching_groups.LARGE_GROUP_PAIRS])
    if cursor.fetchone() is None:  # nearly always: one statement, no table
        return 0, ""
    cursor.execute(f"DROP TABLE IF EXISTS {LARGE}")
    cursor.execute(f"CREATE TEMPORARY TABLE {LARGE} AS SELECT row_number() OVER () AS grp, {listed}{large}",
                   [matching_groups.LARGE_GROUP_PAIRS])

    def same(alias: str) -> str:
        return " AND ".join(f"g.{column} = {alias}.{column}" for column in columns)

    cursor.execute(f"SELECT g.grp, 0, t.id, t.entry_key, t.at_us FROM {LARGE} g JOIN {DEBITS_LEFT} t ON {same('t')}"
                   f" UNION ALL SELECT g.grp, 1, t.id, t.record_key, t.at_us FROM {LARGE} g"
                   f" JOIN {RECORDS_LEFT} t ON {same('t')} ORDER BY 1")
    pairs = []
    for _group, rows in groupby(cursor.fetchall(), key=lambda row: row[0]):
        sides: tuple[list, list] = ([], [])
        for _grp, side, pk, key, at_us in rows:
            sides[side].append((pk, key, at_us))
        pairs += matching_groups.greedy_pairs(*sides)
    for start in range(0, len(pairs), 1000):
        chunk = pairs[start:start + 1000]
        cursor.execute(f"INSERT INTO {PAIRS} (debit_id, record_id, match_pass, match_round) VALUES "
                       + ", ".join(["(%s, %s, %s, 1)"] * len(chunk)), [v for pair in chunk for v in (*pair, number)])
    return len(pairs), f" AND NOT EXISTS (SELECT 1 FROM {LARGE} g WHERE {same('d')})"


def _pair_alone(cursor, number: int) -> int:
    """Pair each debit and record that are each other's only candidate (a group of one debit and
    one record), as round 0: round 1 would pair them, after sorting every candidate twice. Returns how many."""
    cursor.execute(
        f"INSERT INTO {PAIRS} (debit_id, record_id, match_pass, match_round)"
        f" SELECT debit_id, record_id, %s, 0 FROM {EDGES} WHERE alone",
        [number],
    )
    paired = cursor.rowcount
    if paired:
        cursor.execute(f"DELETE FROM {EDGES} WHERE alone")
        _analyze(cursor, PAIRS)
    return paired


def _leave_unpaired(cursor, number: int) -> None:
    """Take what pass ``number`` paired out of the tables of what is left (pass 1's
    round 0, paired before the copy, was never in them)."""
    first_round = 1 if number == PASS_RRN else 0
    for left, key in ((DEBITS_LEFT, _DEBIT_ID), (RECORDS_LEFT, _RECORD_ID)):
        cursor.execute(f"DELETE FROM {left} WHERE id IN"
                       f" (SELECT {key} FROM {PAIRS} WHERE match_pass = %s AND match_round >= %s)",
                       [number, first_round])


def _pairs_joined(cursor, *, lone: int, added: int) -> None:
    """All the pairs in ``tx_match_pair``: the passes' ``added`` pairs put with pass 1's ``lone``
    pairs, whose table takes the name (no debit or record is in both: the passes read what they left)."""
    if added:
        cursor.execute(f"INSERT INTO {LONE} (debit_id, record_id, match_pass, match_round)"
                       f" SELECT debit_id, record_id, match_pass, match_round FROM {PAIRS}")
    cursor.execute(f"DROP TABLE {PAIRS}")
    cursor.execute(f"ALTER TABLE {LONE} RENAME TO {PAIRS}")
    if added > lone:  # the statistics of the lone pairs alone would be off by more than half
        _analyze(cursor, PAIRS)
