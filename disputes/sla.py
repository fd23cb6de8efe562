"""Deadlines set when a case is filed or enters a stage.

The stage targets are calendar hours for now; the SLA issue replaces them with
editable policies on a business calendar.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from .workflow import State

# How far ahead of the server's clock a reported payment time may be (the
# customer's phone or the POS clock may run a little fast).
CLOCK_SKEW = timedelta(minutes=10)

STAGE_TARGET_HOURS: dict[str, int] = {
    State.SUBMITTED: 24,
    State.VERIFYING: 48,
    State.MERCHANT_CONTACT: 72,
    State.PROCESSOR_INQUIRY: 120,
    State.REFUND_PENDING: 24,
}


def stage_due_at(state: str, entered_at: datetime) -> datetime | None:
    """When the stage ``state`` entered at ``entered_at`` should be done; None when no clock runs."""
    hours = STAGE_TARGET_HOURS.get(state)
    return entered_at + timedelta(hours=hours) if hours else None


def final_due_at(filed_at: datetime) -> datetime:
    """The overall answer deadline of a case filed at ``filed_at``."""
    return filed_at + timedelta(days=settings.DISPUTE_FINAL_DEADLINE_DAYS)
