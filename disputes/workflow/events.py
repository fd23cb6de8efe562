"""The audit trail: the one way to write a case event.

Every transition, note, assignment, SLA alert and refund writes an append-only
``CaseEvent`` in the transaction of the change itself (the database refuses
UPDATE and DELETE on the table). A state change also queues the call center's
webhooks (``delivery.webhooks``). ``record_events`` is the same for many events
at once; ``record_event_rows`` writes thousands of events that change no state
(the SLA sweep's alerts) from plain rows, with no model instance per event.
"""
from __future__ import annotations

from django.utils import timezone

from core.bulkinsert import insert_rows
from disputes.delivery.webhooks import STATE_CHANGE_KINDS, webhook_deliveries_for_event
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


EVENT_ROW_FIELDS = ("case_id", "case_version", "kind", "message", "payload")


def record_event_rows(rows: list[tuple], *, actor) -> int:
    """Write events of ``actor`` given as rows ``(case_id, case_version, kind,
    message, payload)`` (the case's version when the event happens), in one
    statement. For events that change no state (those reach the webhooks through
    ``record_events``). Returns how many were written."""
    if any(row[2] in STATE_CHANGE_KINDS for row in rows):
        raise ValueError("state changes are recorded by record_events (they reach the webhooks)")
    user, label, now = actor_user(actor), actor_label(actor), timezone.now()
    actor_id = user.pk if user is not None else None
    return len(insert_rows(
        CaseEvent, [*EVENT_ROW_FIELDS, "actor_id", "actor_label", "transition", "from_state", "to_state", "created_at"],
        [(*row, actor_id, label, "", "", "", now) for row in rows],
    ))
