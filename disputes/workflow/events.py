"""The audit trail: the one way to write a case event.

Every transition, note, assignment, SLA alert and refund writes an append-only
``CaseEvent`` in the transaction of the change itself (the database refuses
UPDATE and DELETE on the table). A state change also queues the call center's
webhooks (``delivery.webhooks``). ``record_events`` is the same for many events
at once (the SLA sweep).
"""
from __future__ import annotations

from disputes.delivery.webhooks import webhook_deliveries_for_event
from disputes.models import Case, CaseEvent
from disputes.workflow.actors import actor_label, actor_user


def new_event(
    case: Case,
    *,
    kind: str,
    actor,
    message: str = "",
    transition: str = "",
    from_state: str = "",
    to_state: str = "",
    payload: dict | None = None,
) -> CaseEvent:
    """An event of ``case`` at its current version, not saved yet (see ``record_events``)."""
    return CaseEvent(
        case=case,
        kind=kind,
        actor=actor_user(actor),
        actor_label=actor_label(actor),
        transition=transition,
        from_state=from_state,
        to_state=to_state,
        message=message,
        payload=payload or {},
        case_version=case.version,
    )


def record_events(events: list[CaseEvent]) -> list[CaseEvent]:
    """Write events made by ``new_event``, in one statement; state changes among
    them reach the call center's webhooks (through the outbox)."""
    saved = CaseEvent.objects.bulk_create(events)
    for event in saved:
        webhook_deliveries_for_event(event)
    return saved


def record_event(case: Case, *, kind: str, actor, **fields) -> CaseEvent:
    """Write one event of ``case`` (the fields of ``new_event``)."""
    return record_events([new_event(case, kind=kind, actor=actor, **fields)])[0]
