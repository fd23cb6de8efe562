"""The SLA clocks of a case: computing deadlines, pausing, reading them.

Two clocks run on an open case (docs/sla.md):

* the **stage clock**: the target of the stage the case is in (``StagePolicy``),
  in business hours or business days on the business calendar;
* the **overall clock**: the answer deadline (15 days by default, calendar or
  working days), which a supervisor may extend twice.

While the case waits for the customer (``awaiting_customer``) both stop; they
resume with the time already used. The deadlines live in indexed columns of the
case (``sla_due_at``, ``final_due_at``, and ``sla_alert_at`` / ``final_alert_at``
for the sweep), written only here, from the services.

Reading: ``case_clocks(case, now)`` is the one function the admin, the API and
the staff pages show; ``overdue_q(now)`` is the same rule for querysets.
"""
from __future__ import annotations

import time as _time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from disputes.models import CalendarOverride, SlaSettings, StagePolicy
from disputes.sla.calendar import ZERO, BusinessCalendar
from disputes.workflow.names import OPEN_STATES, State

# How far ahead of the server's clock a reported payment time may be (the
# customer's phone or the POS clock may run a little fast).
CLOCK_SKEW = timedelta(minutes=10)

# Used when a stage has no StagePolicy row yet (the migration creates these rows;
# a flushed test database has none): (target, unit, reminder lead).
DEFAULT_STAGE_TARGETS: dict[str, tuple[int, str, timedelta]] = {
    State.SUBMITTED: (1, "days", timedelta(hours=2)),
    State.VERIFYING: (2, "days", timedelta(hours=2)),
    State.MERCHANT_CONTACT: (3, "days", timedelta(hours=4)),
    State.PROCESSOR_INQUIRY: (5, "days", timedelta(hours=4)),
    State.REFUND_PENDING: (1, "days", timedelta(hours=2)),
}

# Settings and calendar are read from the database at most this often per process
# (and at once after a change in this process); see ``invalidate``.
CACHE_SECONDS = 60
_cache: dict[str, tuple[float, object]] = {}


def invalidate(*args, **kwargs) -> None:
    """Forget the cached settings, policies and calendar (connected to their saves)."""
    _cache.clear()


def _cached(key: str, build):
    hit = _cache.get(key)
    if hit is not None and _time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = build()
    _cache[key] = (_time.monotonic(), value)
    return value


def sla_settings():
    """The SLA settings row, created with its defaults when missing."""
    def build():
        row, _created = SlaSettings.objects.get_or_create(pk=1)
        return row

    return _cached("settings", build)


@dataclass(frozen=True)
class StageTarget:
    state: str
    duration: timedelta  # business time
    reminder_lead: timedelta  # business time
    policy: object | None  # the StagePolicy row, or None for the built-in default


def stage_targets() -> dict[str, StageTarget]:
    def build():
        calendar = business_calendar()
        targets = {}
        rows = {p.state: p for p in StagePolicy.objects.all()}
        for state in OPEN_STATES:
            row = rows.get(state)
            if row is not None:
                amount, unit, lead = row.target, row.unit, row.reminder_lead
            elif state in DEFAULT_STAGE_TARGETS and not rows:
                amount, unit, lead = DEFAULT_STAGE_TARGETS[state]
            else:
                continue
            duration = timedelta(hours=amount) if unit == "hours" else calendar.working_day * amount
            targets[state] = StageTarget(state=state, duration=duration, reminder_lead=lead, policy=row)
        return targets

    return _cached("targets", build)


def business_calendar() -> BusinessCalendar:
    """The business calendar of the SLA settings, with the admin's overrides."""
    def overrides(year: int) -> dict:
        return dict(CalendarOverride.objects.filter(day__year=year).values_list("day", "is_working_day"))

    def build():
        conf = sla_settings()
        return BusinessCalendar(
            time_zone=conf.time_zone, work_starts=conf.work_starts, work_ends=conf.work_ends,
            country=(conf.holiday_country or "").upper(), overrides_loader=overrides,
        )

    return _cached("calendar", build)


# --- computing deadlines ----------------------------------------------------------


def stage_due_at(state: str, entered_at: datetime, *, used: timedelta = ZERO) -> datetime | None:
    """When the stage ``state`` (re)started at ``entered_at``, with ``used`` business
    time already spent in it, is due; None when no clock runs in that stage."""
    target = stage_targets().get(state)
    if target is None:
        return None
    return business_calendar().add(entered_at, max(target.duration - used, ZERO))


def _stage_alert_at(state: str, started_at: datetime, used: timedelta) -> datetime | None:
    """When the sweep must first look at the stage clock: the reminder instant."""
    target = stage_targets().get(state)
    if target is None:
        return None
    before_reminder = target.duration - used - target.reminder_lead
    return business_calendar().add(started_at, max(before_reminder, ZERO))


def _final_length(days: int) -> tuple[bool, timedelta]:
    """(counted in working days?, length) of ``days`` of the overall deadline."""
    conf = sla_settings()
    if conf.final_counting == "working":
        return True, business_calendar().working_day * days
    return False, timedelta(days=days)


def _final_add(start: datetime, days: int) -> datetime:
    working, length = _final_length(days)
    return business_calendar().add(start, length) if working else start + length


def final_due_at(filed_at: datetime) -> datetime:
    """The overall answer deadline of a case filed at ``filed_at``."""
    return _final_add(filed_at, sla_settings().final_days)


def final_alert_at(due: datetime, now: datetime) -> datetime:
    return max(due - sla_settings().final_reminder_lead, min(now, due))


def _final_left(case, now: datetime) -> timedelta:
    if sla_settings().final_counting == "working":
        return business_calendar().between(now, case.final_due_at)
    return case.final_due_at - now


# --- the hooks the services call ---------------------------------------------------


def case_clocks_start(case, *, now: datetime) -> None:
    """Set the clocks of a case being filed at ``now``."""
    case.sla_entry = 1
    case.sla_used = ZERO
    case.sla_paused_at = None
    case.final_remaining = None
    case.sla_due_at = stage_due_at(case.state, now)
    case.sla_alert_at = _stage_alert_at(case.state, now, ZERO)
    case.final_due_at = final_due_at(now)
    case.final_alert_at = final_alert_at(case.final_due_at, now)


def case_clocks_move(case, *, source: str, target: str, now: datetime) -> None:
    """Update the clocks of ``case`` for a transition from ``source`` to ``target``
    taken at ``now`` (before ``stage_entered_at`` moves to ``now``)."""
    if target == source:
        return
    if target == State.AWAITING_CUSTOMER:  # pause both clocks
        if case.sla_due_at is not None:
            case.sla_used = (case.sla_used or ZERO) + business_calendar().between(case.stage_entered_at, now)
        case.sla_paused_at = now
        case.sla_due_at = None
        case.sla_alert_at = None
        if case.final_due_at is not None:
            case.final_remaining = _final_left(case, now)
            case.final_alert_at = None
        return
    resuming = source == State.AWAITING_CUSTOMER and target in OPEN_STATES
    if resuming:  # the same stage entry goes on with the time it used
        used = case.sla_used or ZERO
        case.sla_due_at = stage_due_at(target, now, used=used)
        case.sla_alert_at = _stage_alert_at(target, now, used)
        if case.final_remaining is not None:
            remaining = case.final_remaining
            if remaining <= ZERO:
                case.final_due_at = now
            elif sla_settings().final_counting == "working":
                case.final_due_at = business_calendar().add(now, remaining)
            else:
                case.final_due_at = now + remaining
            case.final_alert_at = final_alert_at(case.final_due_at, now)
        case.sla_paused_at = None
        case.final_remaining = None
        return
    case.sla_paused_at = None
    case.final_remaining = None
    case.sla_entry = (case.sla_entry or 0) + 1
    case.sla_used = ZERO
    if target in OPEN_STATES:  # a new stage: its clock starts afresh
        case.sla_due_at = stage_due_at(target, now)
        case.sla_alert_at = _stage_alert_at(target, now, ZERO)
        if source not in OPEN_STATES and case.final_due_at is not None:  # reopened
            case.final_alert_at = final_alert_at(case.final_due_at, now)
    else:  # ended or closed: the bank has answered, no clock runs
        case.sla_due_at = None
        case.sla_alert_at = None
        case.final_alert_at = None


def _extension_days(extension: int) -> int:
    conf = sla_settings()
    return conf.first_extension_to_days - conf.final_days if extension == 1 else conf.second_extension_days


def extension_length(extension: int) -> timedelta:
    """How much extension number ``extension`` (1 or 2) adds: calendar time, or business time when counting working days."""
    return _final_length(_extension_days(extension))[1]


def extended_final_due_at(case, *, extension: int) -> datetime:
    """The overall deadline after extension number ``extension`` (1 or 2)."""
    return _final_add(case.final_due_at, _extension_days(extension))


# --- reading -------------------------------------------------------------------------


class ClockStatus:
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    BREACHED = "breached"
    PAUSED = "paused"


@dataclass(frozen=True)
class Clock:
    due_at: datetime | None
    status: str
    time_left: timedelta | None  # business time for the stage; per the counting for the overall deadline
    business_time: bool

    def as_dict(self) -> dict:
        return {
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "status": self.status,
            "time_left_seconds": int(self.time_left.total_seconds()) if self.time_left is not None else None,
        }


@dataclass(frozen=True)
class CaseClocks:
    stage: Clock | None
    final: Clock | None
    deadline_extensions: int

    @property
    def status(self) -> str | None:
        """The worse of the two clocks."""
        order = [ClockStatus.BREACHED, ClockStatus.DUE_SOON, ClockStatus.PAUSED, ClockStatus.ON_TRACK]
        statuses = [c.status for c in (self.stage, self.final) if c is not None]
        return min(statuses, key=order.index) if statuses else None

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "stage": self.stage.as_dict() if self.stage else None,
            "final": self.final.as_dict() if self.final else None,
            "deadline_extensions": self.deadline_extensions,
        }


def case_clocks(case, now: datetime | None = None) -> CaseClocks:
    """The clocks of ``case`` as of ``now``: stage and overall deadline, status, time left.

    The one reading of the clocks: the admin, the API and the staff pages show
    this, and ``overdue_q`` selects exactly the cases it calls breached."""
    now = now or timezone.now()
    if case.state not in OPEN_STATES:
        return CaseClocks(stage=None, final=None, deadline_extensions=case.deadline_extensions)
    calendar = business_calendar()
    if case.state == State.AWAITING_CUSTOMER:
        stage_target = stage_targets().get(case.resume_state) if case.resume_state else None
        stage = None
        if stage_target is not None:
            stage = Clock(due_at=None, status=ClockStatus.PAUSED,
                          time_left=max(stage_target.duration - (case.sla_used or ZERO), ZERO), business_time=True)
        final = Clock(due_at=None, status=ClockStatus.PAUSED, time_left=case.final_remaining,
                      business_time=sla_settings().final_counting == "working")
        return CaseClocks(stage=stage, final=final, deadline_extensions=case.deadline_extensions)

    stage = None
    if case.sla_due_at is not None:
        target = stage_targets().get(case.state)
        left = calendar.between(now, case.sla_due_at)
        lead = target.reminder_lead if target else ZERO
        stage = Clock(due_at=case.sla_due_at, status=_status(now, case.sla_due_at, left, lead), time_left=left,
                      business_time=True)
    final = None
    if case.final_due_at is not None:
        left = _final_left(case, now)
        lead = sla_settings().final_reminder_lead
        final = Clock(due_at=case.final_due_at, status=_status(now, case.final_due_at, case.final_due_at - now, lead),
                      time_left=left, business_time=sla_settings().final_counting == "working")
    return CaseClocks(stage=stage, final=final, deadline_extensions=case.deadline_extensions)


def _status(now: datetime, due: datetime, left: timedelta, lead: timedelta) -> str:
    if now >= due:
        return ClockStatus.BREACHED
    if left <= lead:
        return ClockStatus.DUE_SOON
    return ClockStatus.ON_TRACK


def overdue_q(now: datetime | None = None) -> Q:
    """Cases ``case_clocks`` calls breached as of ``now``: open, not paused, and past
    the stage or the overall deadline. For ``Case.objects.filter(...)``."""
    now = now or timezone.now()
    running = [s for s in OPEN_STATES if s != State.AWAITING_CUSTOMER]
    return Q(state__in=running) & (Q(sla_due_at__lte=now) | Q(final_due_at__lte=now))


__all__ = [
    "CLOCK_SKEW", "Clock", "CaseClocks", "ClockStatus", "business_calendar", "case_clocks", "case_clocks_move",
    "case_clocks_start", "final_due_at", "invalidate", "overdue_q", "sla_settings", "stage_due_at",
    "stage_targets",
]
