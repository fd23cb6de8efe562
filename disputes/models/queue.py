"""The staff workspace's orderings of cases and the indexes named for its
queries (migration 0010): one expression for the query and for the index that
serves it, so that a queue page is read in index order (disputes/selectors/
queue.py) and the dashboard's open-case figure from an index
(disputes/selectors/dashboard.py)."""
from __future__ import annotations

from datetime import UTC, datetime

from django.db import models
from django.db.models.functions import Coalesce, Least

from disputes.workflow.names import ENDED_STATES, OPEN_STATES, State

# Sorts after every real deadline: a case with neither clock running (paused, ended).
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)


def next_deadline() -> Least:
    """The nearer of the stage and the overall deadline; ``NO_DEADLINE`` when neither runs."""
    never = models.Value(NO_DEADLINE, output_field=models.DateTimeField())
    return Least(Coalesce("sla_due_at", "final_due_at", never), Coalesce("final_due_at", "sla_due_at", never),
                 output_field=models.DateTimeField())


def ended_or_filed() -> Coalesce:
    """When an ended or closed case ended (its filing time if it has none)."""
    return Coalesce("ended_at", "created_at", output_field=models.DateTimeField())


_OPEN = models.Q(state__in=[s.value for s in OPEN_STATES])
_ENDED_OR_CLOSED = models.Q(state__in=[s.value for s in (*ENDED_STATES, State.CLOSED)])

STAFF_WORKSPACE_INDEXES = [
    # The queue's tabs: my cases, unassigned, all open (nearest deadline first), ended (latest first).
    models.Index(next_deadline(), "id", condition=_OPEN, name="case_queue_open_idx"),
    models.Index("assignee", next_deadline(), "id", condition=_OPEN, name="case_queue_mine_idx"),
    models.Index(next_deadline(), "id", condition=_OPEN & models.Q(assignee__isnull=True),
                 name="case_queue_unassigned_idx"),
    models.Index(ended_or_filed().desc(), models.F("id").desc(), condition=_ENDED_OR_CLOSED,
                 name="case_queue_ended_idx"),
    # The dashboard's open cases by state and age.
    models.Index("state", "created_at", condition=_OPEN, name="case_dash_open_age_idx"),
]
