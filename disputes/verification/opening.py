"""Cases the bank opens itself: one per orphan debit ("charged but not paid")
that has none yet, and the daily reconciliation that finds them
(docs/design.md, "Transaction records" and "Commands").

``orphan_case_open`` is the case opener of ``reconcile --open-cases`` and of
the daily task (``settings.RECONCILE_CASE_OPENER``); the reconciliation claims
the debit (``transactions.OrphanCase``) before calling it, so two runs at once
never open two cases for one debit. The case is filed through ``case_file``
on the ``auto`` channel, so every rule of filing applies and the customer gets
the filing e-mail (worded for a case the bank opened), then checked at once
with its debit known: the ``orphan`` diagnosis is on the case when it commits.
"""
from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from disputes.verification.checks import case_verify
from disputes.verification.linking import debit_owner
from disputes.workflow.actors import system_user
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel
from merchants.models import Merchant
from transactions.models import OrphanDebit
from transactions.reconciliation import (
    DEFAULT_GRACE,
    CaseForOrphan,
    OpenedCases,
    orphan_cases_open,
    reconcile,
)


class NoCustomerForDebit(Exception):
    """The ledger's ``customer_ref`` names no verified customer: no case is opened."""


def orphan_case_open(orphan: OrphanDebit) -> CaseForOrphan:
    """Open an ``auto``-channel case for the orphan debit, for the verified
    customer whose ``bank_ref`` is the debit's ``customer_ref``; or answer the
    open or recent case the debit already has (a customer's complaint). Raises
    ``NoCustomerForDebit`` when no verified customer has that reference."""
    entry = orphan.entry
    owner = debit_owner(entry)
    if owner is not None:
        return CaseForOrphan(reference=owner.reference, opened=False)
    customer = (Customer.objects.filter(bank_ref=entry.customer_ref, verified=True).first()
                if entry.customer_ref else None)
    if customer is None:
        raise NoCustomerForDebit(_("No verified customer has the bank reference “%(ref)s”: set it on the customer "
                                   "(admin → customers) and reconcile again.") % {"ref": entry.customer_ref})
    card = customer.cards.filter(last4=entry.card_last4).order_by("pk").first()
    merchant = Merchant.objects.filter(merchant_id=entry.merchant_id).first() if entry.merchant_id else None
    system = system_user()
    card_details = {"card_scheme": card.scheme, "card_bin": card.bin6} if card else {}
    filed = case_file(
        actor=system, channel=Channel.AUTO,
        customer_name=customer.name, phone=customer.phone, email=customer.email,
        preferred_language=customer.preferred_language, **card_details,
        card_last4=entry.card_last4, amount=entry.amount, currency=entry.currency, transaction_at=entry.posted_at,
        merchant_name=merchant.name if merchant else "", merchant_id=entry.merchant_id,
        terminal_id=entry.terminal_id, rrn=entry.rrn, stan=entry.stan, auth_code=entry.auth_code,
        description=_("Opened by the bank: the reconciliation found debit %(entry)s charged but not paid.")
        % {"entry": entry.entry_id},
    )
    case_verify(case=filed.case, actor=system, known_debit=entry)
    return CaseForOrphan(reference=filed.case.reference, opened=True)


def reconcile_daily(*, now: datetime | None = None) -> str:
    """The daily reconciliation: the orphan debits as of now with the default
    grace, and, when ``DISPUTE_RECONCILE_OPEN_CASES`` allows it, a case for
    each that has none yet. Returns a summary line for the worker's log."""
    run = reconcile(as_of=now or timezone.now(), grace=DEFAULT_GRACE)
    summary = f"reconciliation {run.pk}: {run.orphans} orphans"
    if not settings.DISPUTE_RECONCILE_OPEN_CASES:
        return summary
    result: OpenedCases = orphan_cases_open(run)
    return (f"{summary}; cases {result.opened} opened, {result.already_open} already open, "
            f"{len(result.failed)} failed")
