"""Reconciliation: the orphan debits as of a time, the probable duplicate
payments among them, terminal health, and the cases opened for orphans
(docs/design.md, "Transaction records").

An **orphan debit** as of T with grace G is a ledger ``debit`` posted at or
before T - G that has no matching ``approved`` settlement record (the matching
of ``transactions.matching`` over what was posted and transacted by T), and
whose reversals and refunds posted by T add up to less than its amount; the
difference is its outstanding amount. A reversal or refund names the debit by
the same ``rrn``, or, when its ``rrn`` is empty, by the same ``terminal_id`` +
``stan``.

``reconcile`` finds them set-based, in one consistent snapshot, and records a
``ReconciliationRun`` with one ``OrphanDebit`` row each; the rest of this
module reads those rows.
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TextIO

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from core import slip
from core.money import CURRENCY_MINOR_UNITS
from transactions.matching import (
    AMOUNT_CENTS,
    DEBITS_LEFT,
    PAIRS,
    PASS_MERCHANT,
    PASS_RRN,
    PASS_TERMINAL,
    epoch_microseconds,
    epoch_microseconds_sql,
    matching,
)
from transactions.models import (
    LEDGER_COLUMNS,
    LedgerEntry,
    LedgerKind,
    OrphanCase,
    OrphanDebit,
    ReconciliationRun,
    SettlementRecord,
    SettlementStatus,
)

DEFAULT_GRACE = timedelta(hours=24)
# "Paid twice": an orphan followed this soon by a settled payment of the same card at the same merchant.
DUPLICATE_WINDOW = timedelta(minutes=30)
TERMINAL_HEALTH_COLUMNS = [
    "terminal_id", "merchant_id", "records", "approved", "declined", "timeouts", "orphans", "incidents",
]


class ReconcileRefused(ValueError):
    """``reconcile`` cannot run as asked; the message says why, in the active language."""


def reconcile(*, as_of: datetime, grace: timedelta = DEFAULT_GRACE) -> ReconciliationRun:
    """Find the orphan debits as of ``as_of``; record and return the run.

    Reads one snapshot of the records (REPEATABLE READ on PostgreSQL when it is
    not called inside a transaction already), so an import committing meanwhile
    is either wholly seen or not at all. Refuses (``ReconcileRefused``, nothing
    recorded) a time before 2000-01-01 or in the future, and a grace period that
    reaches back before the year 1."""
    if timezone.is_naive(as_of):
        raise ValueError("as_of must be an aware datetime")
    if grace < timedelta(0):
        raise ValueError("the grace period cannot be negative")
    # No record is older than the import accepts, and what is still to come is not known yet:
    # a future as-of would count today's debits, which may settle tonight, as orphans.
    if as_of < slip.EARLIEST_TRANSACTION_TIME:
        raise ReconcileRefused(_("Give a time on or after 2000-01-01: no record is older."))
    if as_of > timezone.now():
        raise ReconcileRefused(_("The time is in the future: a reconciliation can only look back."))
    try:
        cutoff = as_of - grace
    except OverflowError:
        raise ReconcileRefused(_("The grace period reaches back before the year 1: give a shorter one or a later time."))
    started = timezone.now()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if outermost:  # nothing read in this transaction yet
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SET LOCAL work_mem = '256MB'")
        run = ReconciliationRun.objects.create(as_of=as_of, grace=grace, started_at=started)
        with matching(as_of=as_of) as summary, connection.cursor() as cursor:
            orphans = _orphans_insert(cursor, run, as_of=as_of, cutoff=cutoff)
        run.debits = summary.debits
        run.approved_records = summary.records
        run.pairs_by_rrn = summary.pairs_by_pass[PASS_RRN]
        run.pairs_by_terminal = summary.pairs_by_pass[PASS_TERMINAL]
        run.pairs_by_merchant = summary.pairs_by_pass[PASS_MERCHANT]
        run.orphans = orphans
        run.finished_at = timezone.now()
        run.save()
    return run


# In whole cents (matching.AMOUNT_CENTS): exact on PostgreSQL and SQLite alike.
_OUTSTANDING_CENTS = "d.cents - coalesce(by_rrn.cents, 0) - coalesce(by_slip.cents, 0)"
_DUPLICATE_WINDOW_US = DUPLICATE_WINDOW // timedelta(microseconds=1)


def _orphans_insert(cursor, run: ReconciliationRun, *, as_of: datetime, cutoff: datetime) -> int:
    """Record the run's orphans, each with its outstanding amount and whether
    it looks paid twice (``_paid_twice``), in one statement."""
    ledger = LedgerEntry._meta.db_table
    undoing = [LedgerKind.REVERSAL, LedgerKind.REFUND]
    posted_by = connection.ops.adapt_datetimefield_value(as_of)
    outstanding = _OUTSTANDING_CENTS
    paid_twice, paid_twice_params = _paid_twice()
    cursor.execute(
        # INSERT first: Python's sqlite3 counts the rows only of a statement that starts with it.
        f"INSERT INTO {OrphanDebit._meta.db_table} (reconciliation_id, entry_id, outstanding, probable_duplicate)"
        f" WITH orphan AS (SELECT d.id, d.at_us, d.posted_at, d.card_last4, d.customer_ref, d.merchant_id,"
        f"  {outstanding} AS cents"
        f"  FROM {DEBITS_LEFT} d"
        f"  LEFT JOIN (SELECT rrn, sum({AMOUNT_CENTS}) AS cents FROM {ledger}"
        f"   WHERE kind IN (%s, %s) AND posted_at <= %s AND rrn <> '' GROUP BY rrn) by_rrn"
        f"   ON by_rrn.rrn = d.rrn"
        f"  LEFT JOIN (SELECT terminal_id, stan, sum({AMOUNT_CENTS}) AS cents FROM {ledger}"
        f"   WHERE kind IN (%s, %s) AND posted_at <= %s AND rrn = '' AND terminal_id <> '' AND stan <> ''"
        f"   GROUP BY terminal_id, stan) by_slip"
        f"   ON by_slip.terminal_id = d.terminal_id AND by_slip.stan = d.stan"
        f"  WHERE d.at_us <= %s AND {outstanding} > 0),"
        f" paid_twice AS ({paid_twice})"
        f" SELECT %s, o.id, o.cents / 100.0, twice.id IS NOT NULL"
        f" FROM orphan o LEFT JOIN paid_twice twice ON twice.id = o.id",
        [*undoing, posted_by, *undoing, posted_by, epoch_microseconds(cutoff), *paid_twice_params, run.pk],
    )
    return cursor.rowcount


def _paid_twice() -> tuple[str, list]:
    """The orphans (``orphan``) paid twice: the same card (card_last4 and
    customer_ref) paid the same merchant again within DUPLICATE_WINDOW after
    the orphan, and that later debit is paired with an approved settlement record.

    Found from the orphans, whose number the planner knows from the matching's
    tables, never by updating the run's rows afterwards: right after the insert
    the planner took 9,808 orphan rows for 42 and compared each with every
    later paid debit, 16.7 million comparisons on the 1M bench, work that grows
    with orphans times paid-twice debits (docs/performance.md, "Paid twice
    found from the orphans")."""
    later_us = epoch_microseconds_sql("later.posted_at")
    window, params = f"{later_us} > o.at_us AND {later_us} <= o.at_us + %s", [_DUPLICATE_WINDOW_US]
    if connection.vendor == "postgresql":
        # The same window again on the column, so that the (card_last4, posted_at) index can find the later debits.
        window += " AND later.posted_at > o.posted_at AND later.posted_at <= o.posted_at + %s"
        params.append(DUPLICATE_WINDOW)
    return (
        f"SELECT DISTINCT o.id FROM orphan o"
        f" JOIN {LedgerEntry._meta.db_table} later ON later.card_last4 = o.card_last4"
        f"  AND later.customer_ref = o.customer_ref AND later.merchant_id = o.merchant_id"
        f" JOIN {PAIRS} p ON p.debit_id = later.id"  # paired: a debit compared, settled
        f" WHERE o.merchant_id <> '' AND {window}",
        params,
    )


# --- one debit ---------------------------------------------------------------------------------

def reversals_for(entry: LedgerEntry, *, as_of: datetime | None) -> QuerySet[LedgerEntry]:
    """The reversals and refunds posted by ``as_of`` (``None``: all the ledger
    holds) that name this debit: by its ``rrn``, or, having none of their own,
    by its ``terminal_id`` + ``stan`` (the rule the orphan query applies to
    every debit at once)."""
    names = Q(pk__in=[])
    if entry.rrn:
        names |= Q(rrn=entry.rrn)
    if entry.terminal_id and entry.stan:
        names |= Q(rrn="", terminal_id=entry.terminal_id, stan=entry.stan)
    posted = Q() if as_of is None else Q(posted_at__lte=as_of)
    return (LedgerEntry.objects.filter(names, posted, kind__in=[LedgerKind.REVERSAL, LedgerKind.REFUND])
            .order_by("posted_at", "entry_id"))


def outstanding_amount(entry: LedgerEntry, *, as_of: datetime) -> Decimal:
    """What of the debit is not reversed or refunded by ``as_of`` (never below zero)."""
    undone = reversals_for(entry, as_of=as_of).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    return max(entry.amount - undone, Decimal(0))


# --- reading a run ----------------------------------------------------------------------------

def orphan_debits(run: ReconciliationRun) -> QuerySet[OrphanDebit]:
    """The run's orphans with their ledger entries, oldest debit first."""
    return (OrphanDebit.objects.filter(reconciliation=run).select_related("entry")
            .order_by("entry__posted_at", "entry__entry_id"))


def probable_duplicates(run: ReconciliationRun) -> list[str]:
    """The entry ids of the run's orphans that look like a payment made twice."""
    return list(orphan_debits(run).filter(probable_duplicate=True).values_list("entry__entry_id", flat=True))


def outstanding_by_currency(run: ReconciliationRun) -> dict[str, Decimal]:
    """The run's outstanding amounts added up per currency."""
    rows = (OrphanDebit.objects.filter(reconciliation=run).values("entry__currency")
            .annotate(total=Sum("outstanding")).order_by("entry__currency"))
    return {row["entry__currency"]: row["total"] for row in rows}


def ledger_csv_row(entry: LedgerEntry) -> list[str]:
    """An entry as a line of the ledger file: what import_transactions reads back."""
    places = CURRENCY_MINOR_UNITS.get(entry.currency, 2)
    local = timezone.localtime(entry.posted_at)
    values = {
        **{name: getattr(entry, name) for name in LEDGER_COLUMNS},
        "amount": f"{entry.amount.quantize(Decimal(1).scaleb(-places))}",
        "posted_at": local.isoformat(),
    }
    return [str(values[name]) for name in LEDGER_COLUMNS]


def orphans_write_csv(run: ReconciliationRun, out: TextIO) -> int:
    """Write the run's orphans to ``out`` with exactly the ledger file's columns; return how many."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LEDGER_COLUMNS)
    count = 0
    for orphan in orphan_debits(run).iterator(chunk_size=2000):
        writer.writerow(ledger_csv_row(orphan.entry))
        count += 1
    return count


# --- terminal health --------------------------------------------------------------------------

@dataclass(frozen=True)
class TerminalHealth:
    terminal_id: str
    merchant_id: str
    records: int
    approved: int
    declined: int
    timeouts: int
    orphans: int

    @property
    def incidents(self) -> int:
        return self.declined + self.timeouts + self.orphans

    def as_row(self) -> list[str]:
        return [self.terminal_id, self.merchant_id, *map(str, (
            self.records, self.approved, self.declined, self.timeouts, self.orphans, self.incidents))]


def latest_reconciliation() -> ReconciliationRun | None:
    """The finished reconciliation of the latest as-of time (the last recorded of equals)."""
    return ReconciliationRun.objects.filter(finished_at__isnull=False).order_by("-as_of", "-id").first()


def terminal_health(
    *,
    since: datetime,
    until: datetime,
    threshold: int = 3,
    reconciliation: ReconciliationRun | None = None,
) -> list[TerminalHealth]:
    """Per terminal, over [since, until): its settlement records, declines and
    timeouts, and the orphan debits of ``reconciliation`` (by default the
    latest finished one) posted there in that window. Only terminals with at
    least ``threshold`` incidents (declines + timeouts + orphans), most first.
    A terminal that keeps timing out is where complaints come from."""
    if reconciliation is None:
        reconciliation = latest_reconciliation()
    counts: dict[str, dict] = {}
    records = (SettlementRecord.objects
               .filter(transacted_at__gte=since, transacted_at__lt=until).exclude(terminal_id="")
               .values("terminal_id")
               .annotate(records=Count("id"), merchant_id=Max("merchant_id"),
                         approved=Count("id", filter=Q(status=SettlementStatus.APPROVED)),
                         declined=Count("id", filter=Q(status=SettlementStatus.DECLINED)),
                         timeouts=Count("id", filter=Q(status=SettlementStatus.TIMEOUT))))
    for row in records:
        counts[row["terminal_id"]] = {**row, "orphans": 0}
    if reconciliation is not None:
        orphans = (OrphanDebit.objects
                   .filter(reconciliation=reconciliation, entry__posted_at__gte=since, entry__posted_at__lt=until)
                   .exclude(entry__terminal_id="")
                   .values("entry__terminal_id")
                   .annotate(orphans=Count("id"), merchant_id=Max("entry__merchant_id")))
        for row in orphans:
            terminal = row["entry__terminal_id"]
            entry = counts.setdefault(terminal, {
                "terminal_id": terminal, "merchant_id": row["merchant_id"], "records": 0,
                "approved": 0, "declined": 0, "timeouts": 0})
            entry["orphans"] = row["orphans"]
    found = [TerminalHealth(**{name: row[name] or ("" if name == "merchant_id" else 0) for name in (
        "terminal_id", "merchant_id", "records", "approved", "declined", "timeouts", "orphans")})
        for row in counts.values()]
    return sorted((health for health in found if health.incidents >= threshold),
                  key=lambda health: (-health.incidents, health.terminal_id))


def terminal_health_write_csv(rows: Iterable[TerminalHealth], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TERMINAL_HEALTH_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(row.as_row())
        count += 1
    return count


# --- cases for orphans --------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseForOrphan:
    """What a case opener did for an orphan: opened a new case, or found the
    case the debit already has (a customer's complaint, from any channel)."""

    reference: str
    opened: bool


CaseOpener = Callable[[OrphanDebit], CaseForOrphan]


class NoCaseOpener(Exception):
    """``settings.RECONCILE_CASE_OPENER`` names no function that opens a case."""


def case_opener() -> CaseOpener:
    """The function that opens a case for an orphan, named by the setting
    ``RECONCILE_CASE_OPENER`` (a dotted path). It takes the ``OrphanDebit``
    (its ``entry`` loaded) and returns a ``CaseForOrphan``: a new
    ``auto``-channel case, or the case the debit already has from any channel;
    it raises when it cannot open one for that debit (the debit is then tried
    again by the next run). It runs inside the transaction that claims the
    debit, so what it writes (the case, the customer's e-mail in the outbox)
    commits with the claim. The disputes side's opener is
    ``disputes.verification.opening.orphan_case_open``."""
    path = getattr(settings, "RECONCILE_CASE_OPENER", "")
    if not path:
        raise NoCaseOpener("RECONCILE_CASE_OPENER is not set")
    return import_string(path)


@dataclass(frozen=True)
class OpenedCases:
    opened: int
    already_open: int
    failed: tuple[tuple[str, str], ...]  # (entry_id, why)


def orphan_cases_open(run: ReconciliationRun, *, opener: CaseOpener | None = None) -> OpenedCases:
    """Open one case per orphan debit of ``run`` that has none yet.

    Each debit is claimed first by inserting its ``OrphanCase`` row (the entry
    is unique): a second run at the same time waits on that row and then
    finds it, so it never opens a second case. A debit whose opener fails is
    left unclaimed (its claim rolls back) and named in ``failed``."""
    opener = opener or case_opener()
    opened = already = 0
    failed: list[tuple[str, str]] = []
    for orphan in orphan_debits(run).iterator(chunk_size=500):
        if OrphanCase.objects.filter(entry_id=orphan.entry_id).exists():
            already += 1
            continue
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        claim = OrphanCase.objects.create(entry_id=orphan.entry_id, reconciliation=run,
                                                          opened_at=timezone.now())
                except IntegrityError:
                    already += 1
                    continue
                result = opener(orphan)
                claim.case_reference = result.reference
                claim.save(update_fields=["case_reference"])
        except Exception as error:  # one debit's failure does not stop the others
            failed.append((orphan.entry.entry_id, str(error) or error.__class__.__name__))
            continue
        if result.opened:
            opened += 1
        else:
            already += 1
    return OpenedCases(opened=opened, already_open=already, failed=tuple(failed))
