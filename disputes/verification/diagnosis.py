"""What the records say about a complaint: a pure reading of the ledger and the
settlement records, nothing written (docs/design.md, "Diagnosis").

The debit the complaint describes is a ledger ``debit`` of the same card (last
4), amount and currency, posted from ``WINDOW_BEFORE`` before to
``WINDOW_AFTER`` after the payment time the customer gave; each slip field the
customer gave (rrn, stan, terminal, merchant) must agree where the ledger row
has it (empty means unknown on either side). Then, by what became of it:

- reversed or refunded in full (``transactions.reconciliation.reversals_for``:
  the orphan query's rule, posted by now) → ``reversed``;
- paired with an approved settlement record (the three matching passes of
  ``transactions.matching``) → ``settled``: the merchant holds the money;
- otherwise → ``orphan``, for what is still outstanding;
- no debit, but an authorisation hold → ``hold_only``; nothing → ``not_found``;
- several candidate debits → ``ambiguous`` (listed, for an agent to choose).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from disputes.models import Case, Outcome
from transactions.matching import match_pairs
from transactions.reconciliation import reversals_for
from transactions.models import LedgerEntry, LedgerKind, SettlementRecord, SettlementStatus

WINDOW_BEFORE = timedelta(hours=24)
WINDOW_AFTER = timedelta(days=3)
# An approved settlement record of the debit is looked for this far around it.
SETTLEMENT_WINDOW = timedelta(days=2)

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


def settlement_of(debit: LedgerEntry, *, as_of: datetime) -> SettlementRecord | None:
    """The approved settlement record the matching rules pair with this debit."""
    ways = Q(pk__in=[])
    if debit.rrn:
        ways |= Q(rrn=debit.rrn)
    if debit.terminal_id and debit.stan:
        ways |= Q(terminal_id=debit.terminal_id, stan=debit.stan)
    if debit.merchant_id:
        ways |= Q(merchant_id=debit.merchant_id)
    near = SettlementRecord.objects.filter(
        ways, status=SettlementStatus.APPROVED, amount=debit.amount, currency=debit.currency,
        transacted_at__gte=debit.posted_at - SETTLEMENT_WINDOW, transacted_at__lte=debit.posted_at + SETTLEMENT_WINDOW,
    )
    if not near.exists():
        return None
    # The rival debits those records could pair with instead compete too: the rules are global.
    rivals = LedgerEntry.objects.filter(
        kind=LedgerKind.DEBIT, amount=debit.amount, currency=debit.currency,
        posted_at__gte=debit.posted_at - SETTLEMENT_WINDOW, posted_at__lte=debit.posted_at + SETTLEMENT_WINDOW,
    )
    for pair in match_pairs(as_of=as_of, debits=rivals, records=near):
        if pair.entry == debit.pk:
            return SettlementRecord.objects.get(pk=pair.record)
    return None


def diagnose(case: Case, *, as_of: datetime | None = None, debit: LedgerEntry | None = None) -> Diagnosis:
    """What the records say about ``case`` as of ``as_of`` (now); ``debit``, when
    an agent chose it, replaces the search."""
    as_of = as_of or timezone.now()
    if debit is None:
        debits = list(candidate_entries(case, kinds=(LedgerKind.DEBIT,)).filter(posted_at__lte=as_of))
        if not debits:
            holds = list(candidate_entries(case, kinds=(LedgerKind.HOLD,)).filter(posted_at__lte=as_of))
            return Diagnosis(outcome=Outcome.HOLD_ONLY if holds else Outcome.NOT_FOUND, debits=holds)
        if len(debits) > 1:
            return Diagnosis(outcome=Outcome.AMBIGUOUS, debits=debits)
        debit = debits[0]
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

