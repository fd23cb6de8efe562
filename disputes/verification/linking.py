"""One debit, one case (docs/design.md, "Diagnosis").

When a diagnosis finds the single ledger debit a complaint describes, the case
claims that debit (a ``DebitCase`` row, unique per debit). If another case
already owns it and that case is open or recent (ended within the reopen
window, so a supervisor can still reopen it), the new case is linked to it
instead: ``Case.linked_to`` is set and a ``linked`` event is written on both
cases. The linked case is not closed: it stays in its state, marked "linked to
DD-…" in the queue and on the case page, and the agent answers it with the
other case. A debit whose owner ended long ago passes to the new complaint.

Two diagnoses at once compete for the unique row: the second waits for the
first to commit and then sees its owner, so a debit never has two owners.
"""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from disputes.models import Case, DebitCase
from disputes.models.case import within_reopen_window
from disputes.models.casefile import event_words
from disputes.workflow.events import record_event
from disputes.workflow.names import EventKind
from transactions.models import LedgerEntry


def case_is_current(case: Case) -> bool:
    """Open, or ended recently enough to be reopened: a debit's owner that
    another complaint about the same debit joins."""
    return case.is_open or within_reopen_window(case)


def debit_owner(entry: LedgerEntry) -> Case | None:
    """The open or recent case that owns the debit, if any."""
    owned = DebitCase.objects.select_related("case").filter(entry=entry).first()
    if owned is None or not case_is_current(owned.case):
        return None
    return owned.case


def debit_claim(*, case: Case, entry: LedgerEntry, actor) -> Case | None:
    """Make ``case`` the owner of the debit ``entry``, or link it to the open or
    recent case that owns it. Returns the case it is now linked to (None when it
    owns the debit). Runs inside the caller's transaction."""
    with transaction.atomic():
        DebitCase.objects.filter(case=case).exclude(entry=entry).delete()  # its debit was another one
        try:
            with transaction.atomic():
                DebitCase.objects.create(entry=entry, case=case)
            return None
        except IntegrityError:
            pass
        # Waited for the other claim to commit (the unique entry): read its owner now, locked.
        owned = DebitCase.objects.select_for_update().select_related("case").get(entry=entry)
        owner = owned.case
        if owner.pk == case.pk:
            return None
        if not case_is_current(owner) or owner.linked_to_id == case.pk:
            owned.case, owned.since = case, timezone.now()
            owned.save(update_fields=["case", "since"])
            return None
        if case.linked_to_id != owner.pk:
            _link(case, owner, entry=entry, actor=actor)
        return owner


def _link(case: Case, owner: Case, *, entry: LedgerEntry, actor) -> None:
    Case.objects.filter(pk=case.pk).update(linked_to=owner)
    case.linked_to = owner
    for linked, payload in ((case, {"linked_to": owner.reference, "entry_id": entry.entry_id}),
                            (owner, {"joined_by": case.reference, "entry_id": entry.entry_id})):
        record_event(linked, kind=EventKind.LINKED, actor=actor, payload=payload,
                     message=event_words(EventKind.LINKED, payload))
