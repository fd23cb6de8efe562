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

def record_event(
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
    event = CaseEvent.objects.create(
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
    webhook_deliveries_for_event(event)  # state changes reach the call center's webhook (outbox)
    return event
