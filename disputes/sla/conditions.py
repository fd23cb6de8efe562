"""The SLA status of ``clocks.case_clocks`` as a queryset condition.

The staff queue filters by SLA status (on track, due soon, breached, paused)
in the database; these conditions select exactly the cases whose clocks
``case_clocks`` reads with that status, so the filter and the badge on each row
never disagree (tests/sla/test_status_conditions.py compares them).

``case_clocks`` calls a case's status the worse of its two clocks:

* paused — the case waits for the customer (both clocks stop);
* breached — running, and a deadline has passed (``clocks.overdue_q``);
* due soon — not breached, and the stage's business time left is at most its
  reminder lead, or the overall deadline is at most its reminder lead away;
* on track — running, with a clock, and neither of those.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from disputes.sla import clocks
from disputes.sla.calendar import ZERO
from disputes.workflow.names import OPEN_STATES, State

STATUSES = (clocks.ClockStatus.ON_TRACK, clocks.ClockStatus.DUE_SOON, clocks.ClockStatus.BREACHED,
            clocks.ClockStatus.PAUSED)
RUNNING_STATES = tuple(state for state in OPEN_STATES if state != State.AWAITING_CUSTOMER)
_TICK = timedelta(microseconds=1)


def _latest_due_within(now: datetime, lead: timedelta) -> datetime:
    """The latest deadline whose business time left, seen from ``now``, is at
    most ``lead``: ``lead`` of business time later, and past the non-working
    hours that follow when that falls on a closing time (business time does
    not grow again before the next opening)."""
    calendar = clocks.business_calendar()
    reached = calendar.add(now, lead)
    return calendar.add(reached, _TICK) - _TICK


def _due_soon_q(now: datetime) -> Q:
    targets = clocks.stage_targets()
    stage = Q()
    for state in RUNNING_STATES:
        lead = targets[state].reminder_lead if state in targets else ZERO
        stage |= Q(state=state, sla_due_at__lte=_latest_due_within(now, lead))
    final = Q(final_due_at__lte=now + clocks.sla_settings().final_reminder_lead)
    return Q(state__in=RUNNING_STATES) & (stage | final) & ~clocks.overdue_q(now)


def status_q(status: str, now: datetime | None = None) -> Q:
    """The cases whose ``case_clocks(case, now).status`` is ``status``."""
    now = now or timezone.now()
    if status == clocks.ClockStatus.PAUSED:
        return Q(state=State.AWAITING_CUSTOMER)
    if status == clocks.ClockStatus.BREACHED:
        return clocks.overdue_q(now)
    due_soon = _due_soon_q(now)
    if status == clocks.ClockStatus.DUE_SOON:
        return due_soon
    if status == clocks.ClockStatus.ON_TRACK:
        has_clock = Q(sla_due_at__isnull=False) | Q(final_due_at__isnull=False)
        return Q(state__in=RUNNING_STATES) & has_clock & ~clocks.overdue_q(now) & ~due_soon
    raise ValueError(f"unknown SLA status {status!r}")
