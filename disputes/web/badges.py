"""How the staff pages show a case's clocks: the status in words and the time
left (or overdue) in short units, read from ``sla.case_clocks`` (the one
reading of the clocks; no query)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from disputes.sla.clocks import CaseClocks, Clock, ClockStatus

SLA_STATUS_LABELS = {
    ClockStatus.ON_TRACK: gettext_lazy("on track"),
    ClockStatus.DUE_SOON: gettext_lazy("due soon"),
    ClockStatus.BREACHED: gettext_lazy("breached"),
    ClockStatus.PAUSED: gettext_lazy("paused"),
}
_SEVERITY = [ClockStatus.BREACHED, ClockStatus.DUE_SOON, ClockStatus.PAUSED, ClockStatus.ON_TRACK]


def duration_text(delta: timedelta, *, business: bool = False) -> str:
    """A length of time in short units: days and hours of the calendar, or
    hours and minutes of business time (a business day is not 24 hours)."""
    minutes = abs(int(delta.total_seconds())) // 60
    hours, minutes = divmod(minutes, 60)
    if not business and hours >= 24:
        days, hours = divmod(hours, 24)
        return _("%(days)sd %(hours)sh") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)sh %(minutes)sm") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)s min") % {"minutes": minutes}


@dataclass(frozen=True)
class Badge:
    status: str
    label: str
    text: str
    due_at: datetime | None = None


def clock_badge(clock: Clock | None, now: datetime) -> Badge | None:
    """One clock: its status and the time left, overdue, or left when it resumes."""
    if clock is None:
        return None
    label = str(SLA_STATUS_LABELS[clock.status])
    if clock.status == ClockStatus.PAUSED:
        text = (_("%(time)s left when it resumes") % {"time": duration_text(clock.time_left, business=clock.business_time)}
                if clock.time_left is not None else label)
    elif clock.status == ClockStatus.BREACHED:
        text = _("overdue by %(time)s") % {"time": duration_text(now - clock.due_at)}
    else:
        text = _("%(time)s left") % {"time": duration_text(clock.time_left, business=clock.business_time)}
    return Badge(status=clock.status, label=label, text=text, due_at=clock.due_at)


def case_badge(clocks: CaseClocks, now: datetime) -> Badge | None:
    """The queue's badge: the clock in the worst state (the nearer deadline on a tie)."""
    candidates = [clock for clock in (clocks.stage, clocks.final) if clock is not None]
    if not candidates:
        return None
    worst = min(candidates, key=lambda clock: (_SEVERITY.index(clock.status),
                                               clock.due_at or datetime.max.replace(tzinfo=now.tzinfo)))
    return clock_badge(worst, now)
