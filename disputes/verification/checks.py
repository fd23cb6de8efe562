"""Checking a case against the records, and keeping the answer on the case.

``case_verify`` runs the diagnosis (``verification.diagnosis``), keeps it as a
``Verification`` the case points at, sets the matched ledger entry and
settlement record, writes a ``verification`` event (its payload is the API's
``verification`` object; not for a check of the system that answers what the
last one did) and, when the debit turns out reversed in full, tells
the customer when the money is back. Where the policy allows it
(``DISPUTE_VERIFICATION_AUTO_STEPS``, off by default) a clear answer takes its
step as the system user: ``reversed`` → ``reversal_found``, ``settled`` →
``confirm_debit``. It runs on filing and after every import (Celery, after
commit) and on demand. The single debit found is claimed for the case, or the
case is linked to the case that owns it ("one debit, one case",
``verification.linking``).
"""
from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from disputes.delivery import outbox
from disputes.delivery.notifications import notify_customer
from disputes.delivery.outbox import enqueue_after_commit
from disputes.models import Case, Outcome, Verification
from disputes.models.casefile import SystemNote, event_words
from disputes.verification.diagnosis import Diagnosis, diagnose
from disputes.verification.linking import debit_claim
from disputes.workflow.actors import require_permission, system_user
from disputes.workflow.errors import CaseError
from disputes.workflow.events import record_event
from disputes.workflow.names import SYSTEM_USERNAME, EventKind, State
from disputes.workflow.steps import case_transition
from disputes.workflow.transitions import case_restored_on_failure
from transactions.importing.rules import ID_SHAPE
from transactions.models import LedgerEntry, LedgerKind, OrphanDebit

# What an entry_id can be: the import's own shape, within the column.
_ENTRY_ID = re.compile(ID_SHAPE)
_ENTRY_ID_MAX = LedgerEntry._meta.get_field("entry_id").max_length

AUTO_STEPS = {Outcome.REVERSED: "reversal_found", Outcome.SETTLED: "confirm_debit"}

# What the tracking page tells the customer about each outcome, in plain words.
CUSTOMER_WORDING = {
    Outcome.REVERSED: gettext_lazy("Our records show that the payment was reversed: the money is back on your card "
                            "since %(date)s."),
    Outcome.SETTLED: gettext_lazy("Our records show that the merchant received the payment. We are asking the merchant "
                           "to refund you."),
    Outcome.ORPHAN: gettext_lazy("Our records show that your card was debited but the merchant was not paid. We are "
                          "finding out where the money is."),
    Outcome.HOLD_ONLY: gettext_lazy("Our records show an authorisation hold on your card, not a payment: the hold is "
                             "released without a refund."),
    Outcome.NOT_FOUND: gettext_lazy("We have not found the payment in our records yet. We check again as new records "
                             "arrive."),
    Outcome.AMBIGUOUS: gettext_lazy("We found several payments that could be this one. An agent is checking which."),
}


def customer_wording(verification: Verification | None) -> str:
    """The tracking page's sentence about what the records say ("" before the first check)."""
    if verification is None:
        return ""
    return str(CUSTOMER_WORDING[verification.outcome]) % {"date": verification.money_back_on}


def verification_data(verification: Verification | None) -> dict | None:
    """The API's ``verification`` object (docs/design.md, "Diagnosis"), or None."""
    if verification is None:
        return None
    return {
        "outcome": verification.outcome,
        "ledger_entries": list(verification.ledger_entries),
        "settlement_records": list(verification.settlement_records),
        "outstanding_amount": None if verification.outstanding_amount is None else str(verification.outstanding_amount),
        "checked_at": verification.checked_at.isoformat(),
    }


def case_verify(
    *, case: Case, actor, as_of: datetime | None = None, entry_id: str = "", known_debit: LedgerEntry | None = None,
) -> Verification:
    """Check ``case`` against the records as of ``as_of`` (now). ``entry_id`` is
    the debit an agent chose among the candidates (it must be a debit of the
    same card and amount); the choice is part of the event. ``known_debit`` is
    the debit a case was opened for by the reconciliation (no search needed).
    A single debit found is claimed for the case, or the case is linked to the
    case that already owns it (``verification.linking``)."""
    require_permission(actor, "disputes.work_case" if not actor.has_perm("disputes.act_as_system")
                       else "disputes.act_as_system")
    debit = known_debit
    if entry_id:
        if len(entry_id) > _ENTRY_ID_MAX or not _ENTRY_ID.fullmatch(entry_id):  # a NUL, a space, a lone surrogate
            raise ValidationError({"entry_id": _("Choose a debit of this card for the disputed amount.")})
        debit = LedgerEntry.objects.filter(entry_id=entry_id, kind=LedgerKind.DEBIT, card_last4=case.card.last4,
                                           amount=case.amount, currency=case.currency).first()
        if debit is None:
            raise ValidationError({"entry_id": _("Choose a debit of this card for the disputed amount.")})
    diagnosis = diagnose(case, as_of=as_of, debit=debit)
    previous = case.verification
    # The check is the bank's own annotation, not a change someone made: the case's
    # version (its ETag) stays, so a client's If-Match is not spoiled by a check
    # running in the background (docs/api.md, "Versions").
    with case_restored_on_failure(case), transaction.atomic():
        verification = _keep(case, diagnosis, chosen_by_hand=bool(entry_id))
        Case.objects.filter(pk=case.pk).update(verification=verification, ledger_entry=case.ledger_entry,
                                               settlement_record=case.settlement_record)
        payload = verification_data(verification)
        payload["suggested_step"] = verification.suggested_step
        if verification.probable_duplicate:
            payload["suggested_root_cause"] = verification.suggested_root_cause
        if entry_id:
            payload["chosen_entry_id"] = debit.entry_id
        if not (_by_the_system(actor) and _same_answer(previous, verification)):
            record_event(case, kind=EventKind.VERIFICATION, actor=actor, payload=payload,
                         message=event_words(EventKind.VERIFICATION, payload))
        newly_reversed = verification.outcome == Outcome.REVERSED and (
            previous is None or previous.outcome != Outcome.REVERSED)
        if newly_reversed and case.is_open:
            _tell_money_back(case, verification)
        if case.ledger_entry is not None:
            debit_claim(case=case, entry=case.ledger_entry, actor=actor)
    step = AUTO_STEPS.get(verification.outcome)
    if step and settings.DISPUTE_VERIFICATION_AUTO_STEPS and case.state == State.VERIFYING:
        try:
            case_transition(case=case, name=step, actor=system_user(), note=SystemNote.RECORDS)
        except CaseError:
            pass  # someone moved the case meanwhile: the agent decides
    return verification


def _keep(case: Case, diagnosis: Diagnosis, *, chosen_by_hand: bool) -> Verification:
    debits = [entry for entry in diagnosis.debits if entry.kind in (LedgerKind.DEBIT, LedgerKind.HOLD)]
    verification = Verification.objects.create(
        case=case, outcome=diagnosis.outcome, currency=case.currency,
        ledger_entries=[entry.entry_id for entry in diagnosis.debits],
        settlement_records=[record.record_id for record in diagnosis.records],
        outstanding_amount=diagnosis.outstanding, money_back_on=diagnosis.money_back_on,
        suggested_step=diagnosis.suggested_step, chosen_by_hand=chosen_by_hand, checked_at=timezone.now(),
        probable_duplicate=diagnosis.outcome == Outcome.ORPHAN and _flagged_paid_twice(diagnosis.debits[0]),
    )
    single = diagnosis.outcome in (Outcome.REVERSED, Outcome.SETTLED, Outcome.ORPHAN)
    case.verification = verification
    case.ledger_entry = debits[0] if single else None
    case.settlement_record = diagnosis.records[0] if diagnosis.records else None
    return verification


# What a check answers; checked_at and who chose are not part of it.
_ANSWER = ("outcome", "ledger_entries", "settlement_records", "outstanding_amount", "currency", "money_back_on",
           "suggested_step", "probable_duplicate")


def _same_answer(previous: Verification | None, verification: Verification) -> bool:
    """True when the check answers what the case's last check answered: the
    system's checks after each import then keep their ``Verification`` (the
    API's ``checked_at`` moves on) but write no event, so the timeline tells
    each change of the answer once, not every import that changed nothing."""
    return previous is not None and all(getattr(previous, name) == getattr(verification, name) for name in _ANSWER)


def _by_the_system(actor) -> bool:
    """A check nobody asked for (after filing or an import); an agent's check is always an event."""
    return getattr(actor, "username", None) == SYSTEM_USERNAME


def _flagged_paid_twice(debit: LedgerEntry) -> bool:
    """Whether the latest reconciliation that found this debit an orphan flagged
    it a probable duplicate payment (paid twice)."""
    latest = (OrphanDebit.objects.filter(entry=debit).order_by("-reconciliation__as_of", "-reconciliation_id")
              .values_list("probable_duplicate", flat=True).first())
    return bool(latest)


def _tell_money_back(case: Case, verification: Verification) -> None:
    with translation.override(case.customer.preferred_language):
        notify_customer(
            case, _("The debit was reversed"),
            [_("The bank's records show that the payment of %(amount)s %(currency)s was reversed: "
               "the money is back on your card since %(date)s.")
             % {"amount": case.amount, "currency": case.currency, "date": verification.money_back_on}],
        )


# Outcomes the records of a later import can still change (an agent's choice stays).
OPEN_QUESTIONS = (Outcome.NOT_FOUND, Outcome.HOLD_ONLY, Outcome.ORPHAN, Outcome.AMBIGUOUS)
RECHECK_STATES = (State.SUBMITTED, State.VERIFYING, State.AWAITING_CUSTOMER)


def case_verify_by_id(*, case_id: int) -> Verification | None:
    """``case_verify`` as the system user, for a task that holds only the id."""
    case = Case.objects.select_related("card", "customer", "verification").filter(pk=case_id).first()
    if case is None or not case.is_open or case.verification is not None:
        return None  # checked already (the case opener checks its case at once)
    return case_verify(case=case, actor=system_user())


def cases_verify_open(*, limit: int = 1000) -> int:
    """Check again, as the system user, the open cases without an answer yet (not
    checked, or not found, hold only, orphan, ambiguous); returns how many."""
    system = system_user()
    cases = (Case.objects.filter(state__in=RECHECK_STATES)
             .exclude(verification__chosen_by_hand=True)
             .filter(Q(verification__isnull=True) | Q(verification__outcome__in=OPEN_QUESTIONS))
             .select_related("card", "customer", "verification").order_by("pk")[:limit])
    checked = 0
    for case in cases:
        try:
            case_verify(case=case, actor=system)
        except CaseError:
            continue  # changed meanwhile: the next import looks again
        checked += 1
    return checked


def records_imported(sender, instance, created: bool = False, **kwargs) -> None:
    """post_save of ``transactions.ImportRun``: a successful import that brought
    new rows queues a check of the open cases (after commit)."""
    if instance.status == "succeeded" and instance.rows_imported:
        enqueue_after_commit(outbox.VERIFY_OPEN_CASES)
