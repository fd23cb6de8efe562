"""The clocks a case gets when it is filed and moves on: stage targets on the
business calendar, the overall deadline, pausing while the customer is asked,
and ``case_clocks`` / ``overdue_q`` reading them the same way."""
from datetime import timedelta

import pytest

from disputes.workflow.steps import case_transition
from disputes.models import Case, CaseEvent, SlaSettings, StagePolicy
from disputes.sla import clocks as sla
from disputes.sla.clocks import Clock, ClockStatus, case_clocks, overdue_q
from disputes.workflow.names import EventKind, State
from tests.disputes.workflow import bring_to

from .conftest import at, sweep_as_of

pytestmark = pytest.mark.django_db


def test_a_filed_case_gets_its_stage_target_and_overall_deadline(clock, case):
    # Filed Monday 10:00; "submitted" is due in 1 business day (8.5 h), reminded 2 business hours before.
    assert case.sla_due_at == at("2026-11-24 10:00")
    assert case.sla_alert_at == at("2026-11-23 16:30")
    # 15 calendar days, reminded 2 days before.
    assert case.final_due_at == at("2026-12-08 10:00")
    assert case.final_alert_at == at("2026-12-06 10:00")
    assert case.sla_entry == 1


def test_the_overall_deadline_can_count_working_days(clock, file_case):
    SlaSettings.objects.update_or_create(pk=1, defaults={"final_counting": "working"})
    case = file_case()
    # 15 working days from Monday 23 November 10:00: Monday 14 December 10:00.
    assert case.final_due_at == at("2026-12-14 10:00")


def test_each_stage_starts_its_own_clock(clock, case, cast):
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.VERIFYING, cast)
    assert case.sla_due_at == at("2026-11-25 11:00")  # 2 business days
    assert case.sla_entry == 2
    clock.set("2026-11-25 09:00")
    case = case_transition(case=case, name="confirm_debit", actor=cast["alice"])
    assert case.sla_due_at == at("2026-11-27 17:30")  # 3 business days from an opening: the third day's close
    assert case.sla_entry == 3


def test_stage_targets_may_be_set_in_business_hours(clock, file_case):
    StagePolicy.objects.filter(state=State.SUBMITTED).update(target=4, unit="hours", reminder_lead=timedelta(hours=1))
    sla.invalidate()  # a queryset update sends no signal; the admin saves rows, which does
    clock.set("2026-11-20 15:00")  # a Friday
    case = file_case()
    assert case.sla_due_at == at("2026-11-23 10:30")
    assert case.sla_alert_at == at("2026-11-23 09:30")


def test_a_stage_without_a_target_has_no_stage_clock(clock, file_case):
    StagePolicy.objects.filter(state=State.SUBMITTED).delete()
    case = file_case()
    assert case.sla_due_at is None and case.sla_alert_at is None
    assert case_clocks(case).stage is None
    assert case.final_due_at is not None


def test_waiting_for_the_customer_pauses_both_clocks_and_resumes_with_the_time_used(clock, case, cast):
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.VERIFYING, cast)  # due Wednesday 11:00: 17 business hours
    final_due = case.final_due_at
    clock.set("2026-11-23 15:00")  # 4 business hours used
    case = case_transition(case=case, name="request_customer_info", actor=cast["alice"])
    assert case.sla_due_at is None and case.sla_alert_at is None and case.final_alert_at is None
    clocks = case_clocks(case, now=at("2026-12-20 10:00"))
    assert clocks.status == ClockStatus.PAUSED
    assert clocks.stage.time_left == timedelta(hours=13)
    assert not Case.objects.filter(overdue_q(at("2026-12-20 10:00")), pk=case.pk).exists()

    # Weeks later nothing is raised for a paused case.
    sweep_as_of("2026-12-20 10:00")
    assert not CaseEvent.objects.filter(case=case, kind__in=[EventKind.SLA_REMINDER, EventKind.SLA_BREACH]).exists()

    clock.set("2026-11-26 10:00")  # Thursday: the customer answers
    case = case_transition(case=case, name="customer_info_received", actor=cast["customer"])
    assert case.state == State.VERIFYING
    # 13 business hours left: 7.5 on Thursday, 5.5 on Friday.
    assert case.sla_due_at == at("2026-11-27 14:30")
    assert case.sla_entry == 2  # the same stage entry as before the pause: its alerts are not raised again
    assert case_clocks(case, now=at("2026-11-26 10:00")).stage.time_left == timedelta(hours=13)
    # The overall deadline moved by exactly the time spent waiting.
    assert case.final_due_at == final_due + (at("2026-11-26 10:00") - at("2026-11-23 15:00"))


def test_case_clocks_tell_on_track_due_soon_and_breached(clock, case):
    assert case_clocks(case, now=at("2026-11-23 10:00")).stage.status == ClockStatus.ON_TRACK
    assert case_clocks(case, now=at("2026-11-23 16:45")).stage.status == ClockStatus.DUE_SOON
    breached = case_clocks(case, now=at("2026-11-24 10:00"))
    assert breached.stage.status == ClockStatus.BREACHED
    assert breached.status == ClockStatus.BREACHED
    assert breached.final.status == ClockStatus.ON_TRACK
    assert breached.stage.time_left == timedelta(0)
    late = case_clocks(case, now=at("2026-11-24 11:00"))
    assert late.stage.time_left == -timedelta(hours=1)
    assert case_clocks(case, now=at("2026-12-07 10:00")).final.status == ClockStatus.DUE_SOON
    assert case_clocks(case, now=at("2026-11-24 10:00")).as_dict()["stage"]["due_at"] == at("2026-11-24 10:00").isoformat()


def test_ended_cases_have_no_running_clock(clock, case, cast):
    case = bring_to(case, State.RESOLVED, cast)
    assert case.sla_due_at is None and case.sla_alert_at is None and case.final_alert_at is None
    clocks = case_clocks(case, now=at("2027-01-01 10:00"))
    assert clocks.stage is None and clocks.final is None and clocks.status is None
    assert not Case.objects.filter(overdue_q(at("2027-01-01 10:00")), pk=case.pk).exists()


@pytest.mark.parametrize("when", ["2026-11-23 10:00", "2026-11-23 17:00", "2026-11-24 10:00", "2026-11-26 10:00",
                                  "2026-12-08 09:59", "2026-12-08 10:00", "2027-02-01 00:00"])
def test_overdue_q_selects_exactly_the_cases_case_clocks_calls_breached(clock, file_case, cast, when):
    cases = [file_case(phone=f"+86138001380{i:02d}") for i in range(5)]
    clock.set("2026-11-23 11:00")
    bring_to(cases[1], State.VERIFYING, cast)
    bring_to(cases[2], State.AWAITING_CUSTOMER, cast)
    bring_to(cases[3], State.RESOLVED, cast)
    bring_to(cases[4], State.MERCHANT_CONTACT, cast)
    now = at(when)
    overdue = set(Case.objects.filter(overdue_q(now)).values_list("pk", flat=True))
    breached = {c.pk for c in Case.objects.all() if case_clocks(c, now=now).status == ClockStatus.BREACHED}
    assert overdue == breached


def test_reading_the_clocks_of_a_page_of_cases_needs_no_query_per_case(clock, file_case, cast, django_assert_num_queries):
    cases = [file_case(phone=f"+86138001384{i:02d}") for i in range(10)]
    bring_to(cases[0], State.AWAITING_CUSTOMER, cast)
    page = list(Case.objects.all())
    case_clocks(page[0])  # settings, targets and calendar are read once, then cached
    with django_assert_num_queries(0):
        statuses = [case_clocks(c, now=at("2026-11-24 10:00")).status for c in page]
    assert statuses.count(ClockStatus.BREACHED) == 9 and statuses.count(ClockStatus.PAUSED) == 1


def test_a_pause_keeps_the_working_time_left_when_the_deadline_counts_working_days(clock, file_case, cast):
    SlaSettings.objects.update_or_create(pk=1, defaults={"final_counting": "working"})
    case = file_case()
    calendar = sla.business_calendar()
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.VERIFYING, cast)
    clock.set("2026-11-23 15:00")
    left = calendar.between(clock.now, case.final_due_at)
    case = case_transition(case=case, name="request_customer_info", actor=cast["alice"])
    assert case.final_remaining == left
    clock.set("2026-11-28 12:00")  # a Saturday: the clock restarts on Monday morning
    case = case_transition(case=case, name="customer_info_received", actor=cast["customer"])
    assert calendar.between(clock.now, case.final_due_at) == left
    assert case.final_due_at == calendar.add(at("2026-11-30 09:00"), left)


# --- what the API and the pages read -------------------------------------------------------


def test_the_clocks_as_the_api_shows_them_while_they_run(clock, case):
    # Filed Monday 10:00: the stage is due Tuesday 10:00, reminded 2 business hours before.
    now = at("2026-11-23 16:30")  # exactly 2 business hours left: the reminder's own instant
    clocks = case_clocks(case, now=now)
    assert clocks.as_dict() == {
        "status": ClockStatus.DUE_SOON,
        "stage": {"due_at": at("2026-11-24 10:00").isoformat(), "status": ClockStatus.DUE_SOON,
                  "time_left_seconds": 2 * 3600},
        "final": {"due_at": at("2026-12-08 10:00").isoformat(), "status": ClockStatus.ON_TRACK,
                  "time_left_seconds": int((at("2026-12-08 10:00") - now).total_seconds())},
        "deadline_extensions": 0,
    }
    assert (clocks.stage.business_time, clocks.final.business_time) == (True, False)
    assert case_clocks(case, now=at("2026-11-23 16:29")).stage.status == ClockStatus.ON_TRACK


def test_the_clocks_as_the_api_shows_them_while_paused(clock, case, cast):
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.VERIFYING, cast)
    clock.set("2026-11-23 15:00")  # 4 of 17 business hours used
    case = case_transition(case=case, name="request_customer_info", actor=cast["alice"])
    clocks = case_clocks(case, now=at("2026-11-30 10:00"))
    assert clocks.final.time_left == case.final_remaining == at("2026-12-08 10:00") - at("2026-11-23 15:00")
    assert clocks.as_dict() == {
        "status": ClockStatus.PAUSED,
        "stage": {"due_at": None, "status": ClockStatus.PAUSED, "time_left_seconds": 13 * 3600},
        "final": {"due_at": None, "status": ClockStatus.PAUSED,
                  "time_left_seconds": int(case.final_remaining.total_seconds())},
        "deadline_extensions": 0,
    }
    assert (clocks.stage.business_time, clocks.final.business_time) == (True, False)


def test_an_overall_deadline_in_working_days_is_read_in_business_time_running_and_paused(clock, file_case, cast):
    SlaSettings.objects.update_or_create(pk=1, defaults={"final_counting": "working"})
    case = file_case()
    now = at("2026-11-24 10:00")
    running = case_clocks(case, now=now).final
    assert running.business_time is True
    assert running.time_left == sla.business_calendar().between(now, case.final_due_at)
    case = bring_to(case, State.AWAITING_CUSTOMER, cast)
    paused = case_clocks(case, now=now).final
    assert (paused.status, paused.business_time, paused.time_left) == (ClockStatus.PAUSED, True, case.final_remaining)


def test_a_paused_case_whose_stage_has_no_target_shows_only_the_overall_clock(clock, case, cast):
    StagePolicy.objects.filter(state=State.VERIFYING).delete()
    case = bring_to(case, State.AWAITING_CUSTOMER, cast)  # paused in verification
    clocks = case_clocks(case, now=at("2026-11-24 10:00"))
    assert clocks.stage is None
    assert (clocks.status, clocks.final.status) == (ClockStatus.PAUSED, ClockStatus.PAUSED)
    assert clocks.as_dict()["stage"] is None


def test_a_running_stage_clock_whose_policy_was_removed_has_no_reminder_lead(clock, case):
    StagePolicy.objects.filter(state=State.SUBMITTED).delete()
    sla.invalidate()
    # Due Tuesday 10:00 as filed; one business hour before, without a lead it is still on track.
    stage = case_clocks(case, now=at("2026-11-24 09:00")).stage
    assert (stage.due_at, stage.status, stage.time_left) == (at("2026-11-24 10:00"), ClockStatus.ON_TRACK,
                                                             timedelta(hours=1))


def test_an_ended_case_keeps_its_count_of_deadline_extensions(clock, case, cast):
    case = bring_to(case, State.RESOLVED, cast)
    case.deadline_extensions = 2
    assert case_clocks(case, now=at("2026-11-24 10:00")).as_dict() == {
        "status": None, "stage": None, "final": None, "deadline_extensions": 2}


def test_open_cases_carry_their_count_of_deadline_extensions(clock, case, cast):
    case.deadline_extensions = 1
    assert case_clocks(case, now=at("2026-11-24 10:00")).deadline_extensions == 1
    case = bring_to(case, State.AWAITING_CUSTOMER, cast)
    case.deadline_extensions = 2
    assert case_clocks(case, now=at("2026-11-24 10:00")).as_dict()["deadline_extensions"] == 2


def test_a_clock_without_time_left_reads_as_none():
    assert Clock(due_at=None, status=ClockStatus.PAUSED, time_left=None, business_time=False).as_dict() == {
        "due_at": None, "status": ClockStatus.PAUSED, "time_left_seconds": None}


def test_a_running_case_without_an_overall_deadline_shows_only_its_stage_clock(clock, case):
    case.final_due_at = None  # a case filed before the overall deadline existed
    clocks = case_clocks(case, now=at("2026-11-24 10:00"))
    assert clocks.final is None
    assert clocks.status == clocks.stage.status == ClockStatus.BREACHED


def test_pausing_stamps_the_pause_and_resuming_sets_the_reminder_of_the_time_left(clock, case, cast):
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.VERIFYING, cast)
    clock.set("2026-11-23 15:00")
    case = case_transition(case=case, name="request_customer_info", actor=cast["alice"])
    assert case.sla_paused_at == at("2026-11-23 15:00")
    clock.set("2026-11-26 10:00")
    case = case_transition(case=case, name="customer_info_received", actor=cast["customer"])
    # 13 business hours left: due Friday 14:30, reminded 2 business hours before.
    assert (case.sla_due_at, case.sla_alert_at, case.sla_paused_at) == (at("2026-11-27 14:30"),
                                                                        at("2026-11-27 12:30"), None)


def test_a_second_pause_in_the_same_stage_adds_to_the_time_already_used(clock, case, cast):
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.VERIFYING, cast)  # 17 business hours
    clock.set("2026-11-23 13:00")
    case = case_transition(case=case, name="request_customer_info", actor=cast["alice"])  # 2 h used
    clock.set("2026-11-24 09:00")
    case = case_transition(case=case, name="customer_info_received", actor=cast["customer"])
    clock.set("2026-11-24 12:00")
    case = case_transition(case=case, name="request_customer_info", actor=cast["alice"])  # 3 h more
    assert case.sla_used == timedelta(hours=5)
    assert case_clocks(case, now=at("2026-11-30 10:00")).stage.time_left == timedelta(hours=12)


def test_a_case_paused_past_its_overall_deadline_is_due_at_once_when_it_resumes(clock, case, cast):
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.VERIFYING, cast)
    clock.set("2026-12-09 10:00")  # a day after the overall deadline (8 December 10:00)
    case = case_transition(case=case, name="request_customer_info", actor=cast["alice"])
    assert case.final_remaining == -timedelta(days=1)
    clock.set("2026-12-14 10:00")
    case = case_transition(case=case, name="customer_info_received", actor=cast["customer"])
    assert case.final_due_at == at("2026-12-14 10:00")
    assert case_clocks(case, now=at("2026-12-14 10:00")).final.status == ClockStatus.BREACHED


def test_a_new_stage_sets_its_reminder_and_leaves_the_overall_reminder_alone(clock, case, cast):
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.VERIFYING, cast)
    # Reminded 2 business hours before: Tuesday at closing time (Wednesday 09:00-11:00 are those 2 hours).
    assert (case.sla_due_at, case.sla_alert_at) == (at("2026-11-25 11:00"), at("2026-11-24 17:30"))
    # The sweep moved the overall reminder on (it was sent); a new stage does not bring it back.
    Case.objects.filter(pk=case.pk).update(final_alert_at=case.final_due_at)
    case = Case.objects.get(pk=case.pk)
    clock.set("2026-11-24 10:00")
    case = case_transition(case=case, name="confirm_debit", actor=cast["alice"])
    assert case.final_alert_at == case.final_due_at


def test_resuming_sets_the_overall_reminder_again(clock, case, cast):
    clock.set("2026-11-23 15:00")
    case = bring_to(case, State.AWAITING_CUSTOMER, cast)
    assert case.final_alert_at is None
    clock.set("2026-11-26 10:00")
    case = case_transition(case=case, name="customer_info_received", actor=cast["customer"])
    assert case.final_alert_at == case.final_due_at - timedelta(days=2)


def test_a_reopened_case_gets_its_overall_reminder_back(clock, case, cast, settings):
    settings.DISPUTE_REOPEN_WINDOW = timedelta(days=30)
    case = bring_to(case, State.REJECTED, cast)
    assert case.final_alert_at is None
    clock.set("2026-11-24 10:00")
    case = case_transition(case=case, name="reopen", actor=cast["bob"])
    assert case.final_alert_at == at("2026-12-06 10:00")  # two days before 8 December 10:00
    assert case.sla_due_at == at("2026-11-26 10:00")  # verification starts afresh: 2 business days


def test_a_case_from_before_the_clocks_counts_its_first_stage_entry_as_one(clock, case, cast):
    Case.objects.filter(pk=case.pk).update(sla_entry=0)
    case = case_transition(case=Case.objects.get(pk=case.pk), name="start_verification", actor=cast["alice"])
    assert case.sla_entry == 1


def test_each_stage_target_names_its_state_and_its_policy(db):
    targets = sla.stage_targets()
    submitted = targets[State.SUBMITTED]
    assert (submitted.state, submitted.policy) == (State.SUBMITTED, StagePolicy.objects.get(state=State.SUBMITTED))
    assert (submitted.duration, submitted.reminder_lead) == (timedelta(hours=8, minutes=30), timedelta(hours=2))


def test_without_any_stage_policy_the_built_in_targets_apply(clock, file_case):
    StagePolicy.objects.all().delete()
    sla.invalidate()
    targets = sla.stage_targets()
    assert set(targets) == set(sla.DEFAULT_STAGE_TARGETS)
    assert targets[State.PROCESSOR_INQUIRY].duration == 5 * timedelta(hours=8, minutes=30)
    assert all(target.policy is None for target in targets.values())
    case = file_case()
    assert (case.sla_due_at, case.sla_alert_at) == (at("2026-11-24 10:00"), at("2026-11-23 16:30"))


class FakeMonotonic:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


def test_the_settings_are_read_again_once_the_cache_is_a_minute_old(db, monkeypatch):
    fake = FakeMonotonic()
    monkeypatch.setattr(sla, "_time", fake)
    assert sla.sla_settings().final_days == 15
    SlaSettings.objects.filter(pk=1).update(final_days=20)  # no signal: the cache does not know
    read_at = fake.now
    fake.now = read_at + sla.CACHE_SECONDS - 0.5
    assert sla.sla_settings().final_days == 15
    fake.now = read_at + sla.CACHE_SECONDS  # exactly a minute after it was read
    assert sla.sla_settings().final_days == 20
