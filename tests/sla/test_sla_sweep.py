"""The SLA sweep (``manage.py sla_sweep [--now]``): reminders and breaches on
time, each once per case, stage entry and kind; the staff e-mails; the automatic
steps (escalation on merchant silence, closing after the quiet period)."""
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from disputes import tasks
from disputes.workflow.casework import case_assign
from disputes.workflow.steps import case_transition
from disputes.models import Case, CaseEvent, Notification, SlaAlert, SlaSettings, StagePolicy
from disputes.sla import sweep as sweep_module
from disputes.sla.sweep import sla_sweep, sla_sweep_parts
from disputes.workflow.names import EventKind, State
from tests.conftest import assert_system_note
from tests.disputes.workflow import bring_to

from .conftest import at, sweep_as_of

pytestmark = pytest.mark.django_db

SLA_KINDS = [EventKind.SLA_REMINDER, EventKind.SLA_BREACH]


def sweep(when: str) -> None:
    sweep_as_of(when)


def alerts(case) -> list[tuple[str, str]]:
    return list(CaseEvent.objects.filter(case=case, kind__in=SLA_KINDS)
                .order_by("id").values_list("kind", "payload__clock"))


def test_the_reminder_and_the_breach_come_on_time_and_once(clock, case):
    # Filed Monday 10:00: "submitted" reminded at 16:30, breached Tuesday 10:00.
    sweep("2026-11-23 16:29")
    assert alerts(case) == []
    sweep("2026-11-23 16:30")
    assert alerts(case) == [("sla_reminder", "stage")]
    sweep("2026-11-23 16:30")
    sweep("2026-11-24 09:59")
    assert alerts(case) == [("sla_reminder", "stage")]
    sweep("2026-11-24 10:00")
    sweep("2026-11-24 10:00")
    sweep("2026-11-24 12:00")
    assert alerts(case) == [("sla_reminder", "stage"), ("sla_breach", "stage")]
    events = CaseEvent.objects.filter(case=case, kind__in=SLA_KINDS)
    assert {e.actor_label for e in events} == {"system"}
    assert SlaAlert.objects.filter(case=case).count() == 2


def test_a_sweep_that_comes_late_raises_the_breach_only(clock, case):
    sweep("2026-11-25 10:00")
    assert alerts(case) == [("sla_breach", "stage")]


def test_the_overall_deadline_is_reminded_and_breached(clock, file_case):
    StagePolicy.objects.exclude(state=State.PROCESSOR_INQUIRY).delete()  # submitted: no stage clock
    case = file_case()
    sweep("2026-12-06 09:59")
    assert alerts(case) == []
    sweep("2026-12-06 10:00")
    sweep("2026-12-08 10:00")
    sweep("2026-12-09 10:00")
    assert alerts(case) == [("sla_reminder", "final"), ("sla_breach", "final")]


def test_a_new_stage_entry_gets_its_own_alerts(clock, case, cast):
    sweep("2026-11-24 10:00")
    clock.set("2026-11-24 11:00")
    case = bring_to(case, State.VERIFYING, cast)  # due Thursday 11:00
    sweep("2026-11-26 11:00")
    sweep("2026-11-26 11:00")
    breaches = SlaAlert.objects.filter(case=case, kind="breach").order_by("entry")
    assert [(a.stage, a.entry) for a in breaches] == [(State.SUBMITTED, 1), (State.VERIFYING, 2)]


def test_a_pause_does_not_raise_a_stage_entrys_alerts_again(clock, case, cast):
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.VERIFYING, cast)  # due Wednesday 11:00, reminded at 09:00
    sweep("2026-11-25 09:00")
    assert alerts(case)[-1] == ("sla_reminder", "stage")
    clock.set("2026-11-25 09:30")
    case = case_transition(case=case, name="request_customer_info", actor=cast["alice"])
    clock.set("2026-11-25 10:00")
    case = case_transition(case=case, name="customer_info_received", actor=cast["customer"])
    assert case.sla_alert_at < case.sla_due_at  # would remind again, but the reminder of this entry exists
    sweep("2026-11-25 10:30")
    assert alerts(case) == [("sla_reminder", "stage")]
    assert SlaAlert.objects.filter(case=case, entry=case.sla_entry, kind="reminder").count() == 1


def test_reminders_go_to_the_assignee_and_breaches_to_supervisors_and_listed_addresses(clock, case, cast):
    policy = StagePolicy.objects.get(state=State.SUBMITTED)
    policy.notify_emails = "duty@bank.example, ops@bank.example"
    policy.save()
    case_assign(case=case, actor=cast["alice"], assignee=cast["alice"])
    before = set(Notification.objects.values_list("pk", flat=True))
    sweep("2026-11-23 16:30")
    reminder_mail = Notification.objects.exclude(pk__in=before)
    assert sorted(reminder_mail.values_list("recipient", flat=True)) == ["alice@bank.example"]
    before |= set(reminder_mail.values_list("pk", flat=True))
    sweep("2026-11-24 10:00")
    breach_mail = Notification.objects.exclude(pk__in=before)
    assert sorted(breach_mail.values_list("recipient", flat=True)) == [
        "alice@bank.example", "bob@bank.example", "carol@bank.example", "duty@bank.example", "ops@bank.example"]
    assert all(case.reference in n.subject and n.status == "pending" for n in breach_mail)
    sweep("2026-11-24 11:00")
    assert Notification.objects.exclude(pk__in=before).count() == 5


def test_a_reminder_with_nobody_assigned_goes_to_the_supervisors(clock, case, bob, carol):
    sweep("2026-11-23 16:30")
    mail = Notification.objects.filter(case=case).exclude(recipient=case.customer.email)
    assert sorted(mail.values_list("recipient", flat=True)) == ["bob@bank.example", "carol@bank.example"]
    assert all(n.subject.startswith(f"[{case.reference}]") for n in mail)


def test_a_silent_merchant_sends_the_case_to_the_processor_on_the_breach(clock, case, cast):
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.MERCHANT_CONTACT, cast)  # 3 business days: due Thursday 11:00
    clock.set("2026-11-26 10:59")
    sweep("2026-11-26 10:59")
    case.refresh_from_db()
    assert case.state == State.MERCHANT_CONTACT
    clock.set("2026-11-26 11:00")
    sweep("2026-11-26 11:00")
    case.refresh_from_db()
    assert case.state == State.PROCESSOR_INQUIRY
    step = CaseEvent.objects.get(case=case, transition="escalate_to_processor")
    assert step.actor_label == "system" and step.from_state == State.MERCHANT_CONTACT
    assert_system_note(step, "merchant_silent", "Automatic: the merchant did not answer within the stage target.",
                       "系统自动处理：商户未在本环节时限内答复。")
    breach = CaseEvent.objects.get(case=case, kind=EventKind.SLA_BREACH, payload__stage=State.MERCHANT_CONTACT)
    assert breach.id < step.id
    sweep("2026-11-26 11:00")
    assert CaseEvent.objects.filter(case=case, transition="escalate_to_processor").count() == 1


def test_escalation_can_be_switched_off(clock, case, cast):
    SlaSettings.objects.update_or_create(pk=1, defaults={"auto_escalate_merchant_silence": False})
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.MERCHANT_CONTACT, cast)
    sweep("2026-11-30 11:00")
    case.refresh_from_db()
    assert case.state == State.MERCHANT_CONTACT
    assert alerts(case)[-1] == ("sla_breach", "stage")


def test_ended_cases_close_themselves_after_the_quiet_period(clock, case, cast):
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.RESOLVED, cast)
    clock.set("2026-11-30 10:59")
    sweep("2026-11-30 10:59")
    case.refresh_from_db()
    assert case.state == State.RESOLVED
    clock.set("2026-11-30 11:00")
    sweep("2026-11-30 11:00")
    case.refresh_from_db()
    assert case.state == State.CLOSED
    close = CaseEvent.objects.get(case=case, transition="close")
    assert close.actor_label == "system"
    assert_system_note(close, "quiet", "Automatic: closed after the quiet period.", "系统自动处理：静默期届满，工单已关闭。")


def test_closing_after_a_quiet_period_can_be_switched_off(clock, case, cast):
    SlaSettings.objects.update_or_create(pk=1, defaults={"auto_close_after": None})
    case = bring_to(case, State.REJECTED, cast)
    sweep("2027-06-01 10:00")
    case.refresh_from_db()
    assert case.state == State.REJECTED


def test_a_bad_now_is_refused_and_changes_nothing(clock, case):
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("sla_sweep", now="next tuesday")
    assert SlaAlert.objects.count() == 0


@pytest.mark.parametrize("when", [
    "2026-11-23T10:01:00.000001+08:00",  # the clock reads 10:00; a minute ahead is a clock running fast
    "2027-11-23T10:00:00+08:00",  # the year mistyped
    "9999-12-31T23:59:59+00:00",
])
def test_a_now_to_come_is_refused_and_changes_nothing(clock, case, cast, file_case, when):
    """As of a time to come the sweep would breach, escalate and close for real,
    and e-mail customers about it, before any deadline passed."""
    ended = bring_to(file_case(), State.REJECTED, cast)
    mails = Notification.objects.count()
    with translation.override("en"), pytest.raises(CommandError, match="in the future"):
        call_command("sla_sweep", now=when)
    ended.refresh_from_db()
    assert (SlaAlert.objects.count(), Notification.objects.count(), ended.state) == (0, mails, State.REJECTED)


@pytest.mark.parametrize("when", ["1999-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00+14:00"])
def test_a_now_before_2000_is_refused(clock, case, when):
    with translation.override("en"), pytest.raises(CommandError, match="on or after 2000-01-01"):
        call_command("sla_sweep", now=when)
    assert SlaAlert.objects.count() == 0


@pytest.mark.parametrize("when", ["2026-11-23T10:01:00+08:00", "2000-01-01T00:00:00+00:00"])
def test_the_bounds_of_now_themselves_are_accepted(clock, case, when):
    call_command("sla_sweep", now=when)  # nothing is due either way
    assert SlaAlert.objects.count() == 0


def test_the_database_refuses_a_second_alert_for_the_same_case_entry_and_kind(clock, case):
    sweep("2026-11-24 10:00")
    alert = SlaAlert.objects.get(case=case)
    with pytest.raises(IntegrityError), transaction.atomic():
        SlaAlert.objects.create(case=case, clock=alert.clock, entry=alert.entry, kind=alert.kind,
                                stage=alert.stage, due_at=alert.due_at)


def test_the_sweep_does_not_query_per_case(clock, file_case, bob, django_assert_max_num_queries):
    for i in range(30):
        file_case(phone=f"+86138001381{i:02d}")
    with django_assert_max_num_queries(20):
        result = sla_sweep(now=at("2026-11-24 10:00"))
    assert (result.reminders, result.breaches, result.notifications) == (0, 30, 30)


def test_the_sweep_works_through_the_due_cases_in_bounded_batches(clock, file_case):
    for i in range(12):
        file_case(phone=f"+86138001382{i:02d}")
    result = sla_sweep(now=at("2026-11-24 10:00"), batch_size=5)
    assert result.breaches == 12
    assert SlaAlert.objects.count() == 12


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_the_same_time_raise_each_alert_once(clock, file_case, bob):
    cases = [file_case(phone=f"+86138001383{i:02d}") for i in range(40)]
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            sla_sweep(now=at("2026-11-24 10:00"), batch_size=3)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert SlaAlert.objects.count() == 40
    assert CaseEvent.objects.filter(kind=EventKind.SLA_BREACH).count() == 40
    assert Notification.objects.filter(recipient="bob@bank.example").count() == 40
    assert {c.pk for c in cases} == set(SlaAlert.objects.values_list("case_id", flat=True))


def test_a_now_without_offset_is_read_in_the_configured_time_zone(clock, case):
    clock.set("2026-11-23 17:00")  # the sweeps run then, as of a little before
    call_command("sla_sweep", now="2026-11-23T16:29")
    assert alerts(case) == []
    call_command("sla_sweep", now="2026-11-23 16:30")
    assert alerts(case) == [("sla_reminder", "stage")]


def test_beat_raises_the_alerts_and_takes_the_automatic_steps_in_two_tasks(clock, case, cast):
    """The worker's processes share them: the sweep task raises the breach, the steps task escalates."""
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.MERCHANT_CONTACT, cast)
    clock.set("2026-11-26 11:00")
    assert tasks.sla_automatic_steps() == "reminders=0 breaches=0 escalated=0 closed=0 notifications=0"
    assert tasks.sla_sweep().startswith("reminders=0 breaches=1 escalated=0 ")
    case.refresh_from_db()
    assert case.state == State.MERCHANT_CONTACT
    assert tasks.sla_automatic_steps() == "reminders=0 breaches=0 escalated=1 closed=0 notifications=0"
    case.refresh_from_db()
    assert case.state == State.PROCESSOR_INQUIRY
    assert tasks.sla_automatic_steps().startswith("reminders=0 breaches=0 escalated=0 ")


def _due(file_case, count: int) -> list:
    cases = [file_case() for _ in range(count)]
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(sla_alert_at=at("2026-11-23 10:30"))
    return cases


@pytest.mark.parametrize(("due", "most", "parts"), [(0, 2, 1), (2, 2, 1), (3, 2, 2), (4, 3, 2), (5, 3, 3), (9, 3, 3),
                                                    (9, 1, 1), (9, 0, 1)])
def test_the_sweep_is_shared_by_one_part_per_batch_due_at_most_the_setting(clock, file_case, settings, due, most,
                                                                            parts):
    settings.DISPUTE_SLA_SWEEP_PARTS = most
    _due(file_case, due)
    with CaptureQueriesContext(connection) as queries:
        assert sla_sweep_parts(now=at("2026-11-23 10:30"), batch_size=2) == parts
    # One count on the two alert indexes; ordered by the model's default (newest first) it walked a whole index
    # on a million cases when none was due (1.6 s a minute in make bench).
    assert len(queries) == 1 and "ORDER BY" not in queries[0]["sql"]
    assert sla_sweep_parts(now=at("2026-11-23 10:29"), batch_size=2) == 1  # not due yet


def test_the_parts_of_a_sweep_share_its_instant_and_raise_each_alert_once(clock, file_case, settings, monkeypatch):
    """The beat task sends the other parts to the worker (recorded here instead of the broker), then sweeps;
    a part run afterwards, as another worker process would, finds nothing left, and nothing is raised twice."""
    settings.DISPUTE_SLA_SWEEP_PARTS = 3
    monkeypatch.setattr(sweep_module, "BATCH_SIZE", 2)
    cases = _due(file_case, 5)
    sent = []
    monkeypatch.setattr(tasks.sla_sweep_part, "apply_async", lambda args, expires: sent.append((args, expires)))
    clock.set("2026-11-23 10:30")
    assert tasks.sla_sweep().startswith("reminders=5 breaches=0 ")
    assert sent == [([at("2026-11-23 10:30").isoformat()], 55)] * 2
    assert tasks.sla_sweep_part(*sent[0][0]).startswith("reminders=0 breaches=0 ")
    assert sorted(SlaAlert.objects.values_list("case_id", flat=True)) == sorted(c.pk for c in cases)


def test_the_timeline_says_a_reminder_and_a_breach_in_its_readers_language(clock, case, bob, client):
    """The worker writes them in the site's language (Chinese), as the e-mails
    go out: an agent reading the case in English read them in Chinese."""
    sweep("2026-11-23 16:30")
    sweep("2026-11-24 10:00")
    stored = list(CaseEvent.objects.filter(case=case, kind__in=SLA_KINDS).order_by("id").values_list("message", flat=True))
    assert stored == ["提醒：“已提交”环节的时效目标将于 2026-11-24 10:00 到期。",
                      "超时：“已提交”环节的时效目标已于 2026-11-24 10:00 到期。"]
    client.force_login(bob)
    page = f"/staff/cases/{case.reference}/"

    english = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode().split('id="timeline"')[1]
    chinese = client.get(page, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode().split('id="timeline"')[1]

    assert "<p>Reminder: the target of stage “submitted” is due at 2026-11-24 10:00.</p>" in english
    assert "<p>Breach: the target of stage “submitted” was due at 2026-11-24 10:00.</p>" in english
    assert "到期" not in english
    assert all(f"<p>{message}</p>" in chinese for message in stored)


def test_an_alert_of_a_stage_no_longer_known_is_still_worded():
    """A stage renamed in a later version leaves its name in old events' payloads:
    the case page words the alert with the name as written instead of failing."""
    event = CaseEvent(kind=EventKind.SLA_BREACH,
                      payload={"clock": "stage", "stage": "old_stage", "due_text": "2026-11-24 10:00"})
    with translation.override("en"):
        assert event.text == "Breach: the target of stage “old_stage” was due at 2026-11-24 10:00."
