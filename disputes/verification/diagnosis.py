"""What the records say about a complaint: a pure reading of the ledger and the
settlement records, nothing written (docs/design.md, "Diagnosis").

The debit the complaint describes is a ledger ``debit`` of the same card (last
4), amount and currency, posted from ``WINDOW_BEFORE`` before to
``WINDOW_AFTER`` after the payment time the customer gave; each slip field the
customer gave (rrn, stan, terminal, merchant) must agree where the ledger row
has it (empty means unknown on either side). Then, by what became of it:

- reversed or refunded in full (``transactions.reconciliation.reversals_for``:
  the orphan query's rule, posted by now) → ``reversed``;
- paired with an approved settlement record → ``settled``: the merchant holds
  the money. The pairing is reconciliation's own (``transactions.matching``,
  three passes over all the records): it is computed over the debits and
  records linked to this debit by candidate pairs (``connected``), which the
  matching pairs among themselves as it does among everything;
- otherwise → ``orphan``, for what is still outstanding;
- no debit, but an authorisation hold → ``hold_only``; nothing → ``not_found``;
- several candidate debits → ``ambiguous`` (listed, for an agent to choose).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from disputes.models import Case, Outcome
from transactions.matching import MERCHANT_WINDOW, PAIRS, match_pairs, matching
from transactions.models import LedgerEntry, LedgerKind, SettlementRecord, SettlementStatus
from transactions.reconciliation import reversals_for

WINDOW_BEFORE = timedelta(hours=24)
WINDOW_AFTER = timedelta(days=3)
# The most rows the diagnosis reads around a debit before it runs the whole matching instead.
PART_LIMIT = 2000

SUGGESTED_STEP = {
    Outcome.REVERSED: "reversal_found",
    Outcome.SETTLED: "confirm_debit",
    Outcome.ORPHAN: "propose_refund",
}


@dataclass(frozen=True)
class Diagnosis:
    outcome: str
    debits: list[LedgerEntry] = field(default_factory=list)
    records: list[SettlementRecord] = field(default_factory=list)
    outstanding: Decimal | None = None
    money_back_on: date | None = None

    @property
    def suggested_step(self) -> str:
        return SUGGESTED_STEP.get(self.outcome, "")


def _agrees(field_name: str, value: str) -> Q:
    """The ledger row has this slip field as given, or does not know it."""
    return Q(**{field_name: value}) | Q(**{field_name: ""}) if value else Q()


def candidate_entries(case: Case, *, kinds: tuple[str, ...]) -> QuerySet[LedgerEntry]:
    """Ledger rows of these kinds that the complaint could describe."""
    condition = Q(kind__in=kinds, card_last4=case.card.last4, amount=case.amount, currency=case.currency,
                  posted_at__gte=case.transaction_at - WINDOW_BEFORE, posted_at__lte=case.transaction_at + WINDOW_AFTER)
    for name in ("rrn", "stan", "terminal_id", "merchant_id"):
        condition &= _agrees(name, getattr(case, name))
    return LedgerEntry.objects.filter(condition).order_by("posted_at", "entry_id")


def _candidates_of(rows: list, *, at: str, other_at: str) -> Q:
    """The rows of the other side linked to one of ``rows`` (debits: ``at`` is
    ``posted_at``; records: ``transacted_at``): the same rrn; the same terminal
    and stan (on any day, of any amount: more than the terminal pass pairs, which
    only makes the part read larger); the same merchant and amount within
    ``MERCHANT_WINDOW``. Every pair a matching pass could make is among them."""
    condition = Q(pk__in=[])
    for row in rows:
        if row.rrn:
            condition |= Q(rrn=row.rrn)
        if row.terminal_id and row.stan:
            condition |= Q(terminal_id=row.terminal_id, stan=row.stan)
        if row.merchant_id:
            moment = getattr(row, at)
            condition |= Q(merchant_id=row.merchant_id, amount=row.amount,
                           **{f"{other_at}__gte": moment - MERCHANT_WINDOW, f"{other_at}__lte": moment + MERCHANT_WINDOW})
    return condition


def connected(debit: LedgerEntry, *, as_of: datetime) -> tuple[dict[int, LedgerEntry], dict[int, SettlementRecord]] | None:
    """The debits and approved records, posted or transacted by ``as_of``, linked
    to ``debit`` by a chain of ``_candidates_of`` links: ({pk: debit}, {pk: record});
    None when they are more than ``PART_LIMIT`` rows (records with one rrn over
    and over, say: then only the whole matching answers, see ``settlement_of``).

    Nothing outside them is a candidate of anything inside, so the matching pairs
    them among themselves exactly as it does among all the records: the debit's
    fate is decided here as reconciliation decides it, without reading the rest."""
    debits, records = {debit.pk: debit}, {}
    new_debits = [debit]
    while new_debits:
        new_records = list(SettlementRecord.objects.filter(
            _candidates_of(new_debits, at="posted_at", other_at="transacted_at"),
            status=SettlementStatus.APPROVED, transacted_at__lte=as_of).exclude(pk__in=records))
        records.update((record.pk, record) for record in new_records)
        new_debits = list(LedgerEntry.objects.filter(
            _candidates_of(new_records, at="transacted_at", other_at="posted_at"),
            kind=LedgerKind.DEBIT, posted_at__lte=as_of).exclude(pk__in=debits))
        debits.update((entry.pk, entry) for entry in new_debits)
        if len(debits) + len(records) > PART_LIMIT:
            return None
    return debits, records


def settlement_of(debit: LedgerEntry, *, as_of: datetime) -> SettlementRecord | None:
    """The approved settlement record the matching pairs with this debit, as of ``as_of``."""
    part = connected(debit, as_of=as_of)
    if part is None:
        with matching(as_of=as_of), connection.cursor() as cursor:
            cursor.execute(f"SELECT record_id FROM {PAIRS} WHERE debit_id = %s", [debit.pk])
            found = cursor.fetchone()
        return SettlementRecord.objects.get(pk=found[0]) if found else None
    debits, records = part
    if not records:
        return None
    for pair in match_pairs(as_of=as_of, debits=LedgerEntry.objects.filter(pk__in=debits),
                            records=SettlementRecord.objects.filter(pk__in=records)):
        if pair.entry == debit.pk:
            return records[pair.record]
    return None


def diagnose(case: Case, *, as_of: datetime | None = None, debit: LedgerEntry | None = None) -> Diagnosis:
    """What the records say about ``case`` as of ``as_of`` (now); ``debit``, when
    an agent chose it, replaces the search."""
    as_of = as_of or timezone.now()
    if debit is None:
        # Debits and holds in one read: holds count only when there is no debit.
        found = list(candidate_entries(case, kinds=(LedgerKind.DEBIT, LedgerKind.HOLD)).filter(posted_at__lte=as_of))
        debits = [entry for entry in found if entry.kind == LedgerKind.DEBIT]
        if not debits:
            holds = [entry for entry in found if entry.kind == LedgerKind.HOLD]
            return Diagnosis(outcome=Outcome.HOLD_ONLY if holds else Outcome.NOT_FOUND, debits=holds)
        if len(debits) > 1:
            return Diagnosis(outcome=Outcome.AMBIGUOUS, debits=debits)
        debit = debits[0]
    return diagnose_debit(debit, as_of=as_of)


def diagnose_debit(debit: LedgerEntry, *, as_of: datetime) -> Diagnosis:
    """What became of this debit as of ``as_of``: reversed, settled or orphan."""
    undone = list(reversals_for(debit, as_of=as_of))
    undone_total = sum((entry.amount for entry in undone), Decimal("0"))
    outstanding = max(debit.amount - undone_total, Decimal("0"))
    if outstanding == 0:
        back_on = timezone.localtime(undone[-1].posted_at).date()
        return Diagnosis(outcome=Outcome.REVERSED, debits=[debit, *undone], outstanding=outstanding,
                         money_back_on=back_on)
    record = settlement_of(debit, as_of=as_of)
    if record is not None:
        return Diagnosis(outcome=Outcome.SETTLED, debits=[debit, *undone], records=[record], outstanding=outstanding)
    return Diagnosis(outcome=Outcome.ORPHAN, debits=[debit, *undone], outstanding=outstanding)

