"""The queue's SLA filter (``sla.conditions.status_q``) selects exactly the cases
whose clocks ``case_clocks`` reads with that status: on track, due soon,
breached, paused. Checked over a grid of deadlines around working hours,
closing times, a weekend and both clocks."""
from datetime import timedelta

import pytest

from disputes.models import Case
from disputes.sla.clocks import case_clocks
from disputes.sla.conditions import STATUSES, status_q
from disputes.workflow.names import State
from tests.disputes.workflow import bring_to

from .conftest import at

pytestmark = pytest.mark.django_db

# Deadlines relative to "now", in hours: before, at and after the reminder lead
# (2 business hours; the overall clock's lead is 2 days), across closing time
# (17:30) and a weekend.
OFFSETS = [-30, -1, 0, 0.5, 1, 1.5, 2, 2.25, 3, 6, 7.5, 16, 20, 40, 47, 49, 60, 72, 100, 400]


@pytest.fixture
def cases(clock, file_case, cast):
    clock.set("2026-11-27 15:30")  # a Friday: 2 business hours left until closing
    made = []
    for state in (State.SUBMITTED, State.VERIFYING, State.MERCHANT_CONTACT, State.AWAITING_CUSTOMER, State.RESOLVED):
        for stage_hours in OFFSETS:
            case = bring_to(file_case(), state, cast)
            final_hours = OFFSETS[(OFFSETS.index(stage_hours) * 7) % len(OFFSETS)]
            if case.is_open and state != State.AWAITING_CUSTOMER:
                Case.objects.filter(pk=case.pk).update(
                    sla_due_at=clock.now + timedelta(hours=stage_hours),
                    final_due_at=clock.now + timedelta(hours=final_hours),
                )
            made.append(case.pk)
    # Two running cases with one clock only, and one with none.
    first, second, third = made[20:23]
    Case.objects.filter(pk=first).update(sla_due_at=None)
    Case.objects.filter(pk=second).update(final_due_at=None)
    Case.objects.filter(pk=third).update(sla_due_at=None, final_due_at=None)
    return made


@pytest.mark.parametrize("now", ["2026-11-27 15:30", "2026-11-27 17:30", "2026-11-28 12:00", "2026-11-30 08:00"])
def test_each_status_selects_the_cases_the_clocks_read_with_it(clock, cases, now):
    instant = at(now)
    by_status = {status: set() for status in STATUSES}
    for case in Case.objects.filter(pk__in=cases):
        status = case_clocks(case, instant).status
        if status is not None:
            by_status[status].add(case.pk)
    if now == "2026-11-27 15:30":
        assert all(by_status.values()), "the grid covers every status"
    for status in STATUSES:
        selected = set(Case.objects.filter(pk__in=cases).filter(status_q(status, instant)).values_list("pk", flat=True))
        assert selected == by_status[status], status


def test_a_deadline_at_the_next_opening_is_due_soon_when_business_time_ends_at_closing(clock, file_case):
    """2 business hours from Friday 15:30 end at 17:30; nothing is added before
    Monday 09:00, so a deadline then still has 2 business hours left."""
    case = file_case()
    now = at("2026-11-27 15:30")
    Case.objects.filter(pk=case.pk).update(sla_due_at=at("2026-11-30 09:00"), final_due_at=now + timedelta(days=30))
    case.refresh_from_db()
    assert case_clocks(case, now).status == "due_soon"
    assert Case.objects.filter(status_q("due_soon", now), pk=case.pk).exists()
    Case.objects.filter(pk=case.pk).update(sla_due_at=at("2026-11-30 09:01"))
    assert Case.objects.filter(status_q("on_track", now), pk=case.pk).exists()


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError):
        status_q("late")
