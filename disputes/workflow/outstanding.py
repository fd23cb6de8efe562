"""What may still be refunded on a case (docs/design.md, "Refunds").

The disputed amount (at most the matched debit's amount), less the reversals
and refunds the ledger has posted for the case's matched debit, less every
refund not declined on this case or on any other case of the same debit. A
ledger ``refund`` entry that pays one of our refunds (its ``entry_id`` is that
refund's payment reference) is counted once, as the refund.

The service checks it for a clear message; the database checks the same rule
per debit under a lock of the debit's row (the trigger of migration
``disputes/0013``), so two proposals at once cannot both pass.
"""
from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, Sum

from disputes.models import REFUND_LIVE_STATUSES, Case, Refund
from transactions.reconciliation import reversals_for

ZERO = Decimal(0)


def refund_outstanding(case: Case, *, besides: Refund | None = None) -> Decimal:
    """The most a new refund on ``case`` may be (never below zero); with
    ``besides``, the most that refund may be, all others counted."""
    debit = case.ledger_entry
    refunds = Refund.objects.filter(status__in=REFUND_LIVE_STATUSES)
    if besides is not None:
        refunds = refunds.exclude(pk=besides.pk)
    refunds = refunds.filter(Q(case=case) | Q(debit=debit)) if debit is not None else refunds.filter(case=case)
    refunded = refunds.aggregate(total=Sum("amount"))["total"] or ZERO
    if debit is None:
        return max(case.amount - refunded, ZERO)
    ours = refunds.exclude(execution_reference="").values("execution_reference")
    # Every reversal the ledger holds, one dated ahead too: a refund must not exceed what is outstanding
    # once it posts, and the database's trigger (refund_within_outstanding) counts them all.
    undone = (reversals_for(debit, as_of=None).exclude(entry_id__in=ours)
              .aggregate(total=Sum("amount"))["total"] or ZERO)
    return max(min(case.amount, debit.amount) - undone - refunded, ZERO)
