"""The SLA sweep at volume: its statements do not grow with the due cases, and
every due case still gets exactly its alert, event and e-mails (issue 12)."""
from collections import Counter
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disputes.models import Case, CaseEvent, Notification, SlaAlert, StagePolicy
from disputes.sla.sweep import sla_sweep
from disputes.workflow.casework import case_assign
from disputes.workflow.names import EventKind, State

from .conftest import SHANGHAI, at

pytestmark = pytest.mark.django_db

SLA_KINDS = [EventKind.SLA_REMINDER, EventKind.SLA_BREACH]


def statements_of_a_sweep(now) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        result = sla_sweep(now=now)
    return len(queries), result


def test_a_sweep_takes_as_many_statements_for_30_due_cases_as_for_3(clock, file_case, alice, bob):
    few = [file_case(phone=f"+86138001384{i:02d}") for i in range(3)]
    case_assign(case=few[0], actor=alice, assignee=alice)
    count_few, result = statements_of_a_sweep(at("2026-11-24 10:00"))  # a day later: breached
    assert (result.breaches, result.notifications) == (3, 4)  # bob for each, alice for hers

    clock.set("2026-11-25 10:00")
    many = [file_case(phone=f"+86138001385{i:02d}") for i in range(30)]
    case_assign(case=many[0], actor=alice, assignee=alice)
    count_many, result = statements_of_a_sweep(at("2026-11-26 10:00"))
    assert (result.breaches, result.notifications) == (30, 31)

    assert count_many == count_few


def test_every_due_case_gets_exactly_its_alert_event_and_e_mails(clock, file_case, alice, bob, carol):
    StagePolicy.objects.filter(state=State.SUBMITTED).update(notify_emails="duty@bank.example")
    now = at("2026-11-24 12:00")
    cases = [file_case(phone=f"+86138001386{i:02d}") for i in range(12)]
    for case in cases[::3]:
        case_assign(case=case, actor=alice, assignee=alice)
    # Deadlines set here, the oracle's input: case i due at now + (i - 6) h, looked at 3 h before.
    due = {}
    for i, case in enumerate(cases):
        due[case.pk] = now + timedelta(hours=i - 6)
        Case.objects.filter(pk=case.pk).update(sla_due_at=due[case.pk], sla_alert_at=due[case.pk] - timedelta(hours=3))
    versions = dict(Case.objects.values_list("pk", "version"))
    assigned = {c.pk for c in cases[::3]}
    references = dict(Case.objects.values_list("pk", "reference"))

    # The oracle: cases 0-6 are past their deadline (a breach), 7-9 within 3 h of it (a reminder), 10-11 not due.
    events, mails, raised = Counter(), Counter(), Counter()
    for pk, deadline in due.items():
        if deadline - timedelta(hours=3) > now:
            continue
        breach = deadline <= now
        shown = deadline.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        message = (f"超时：“已提交”环节的时效目标已于 {shown} 到期。" if breach
                   else f"提醒：“已提交”环节的时效目标将于 {shown} 到期。")
        kind = EventKind.SLA_BREACH if breach else EventKind.SLA_REMINDER
        events[(pk, kind, message, versions[pk], "system",
                (("clock", "stage"), ("due_at", deadline.astimezone(UTC).isoformat()), ("due_text", shown),
                 ("stage", "submitted")))] += 1
        raised[(pk, "stage", 1, "breach" if breach else "reminder")] += 1
        recipients = ["alice@bank.example"] if pk in assigned else []
        if breach or not recipients:
            recipients += ["bob@bank.example", "carol@bank.example"]
        if breach:
            recipients += ["duty@bank.example"]
        body = f"{message}\n\n工单 {references[pk]}，当前状态：已提交。"
        for address in recipients:
            mails[(pk, address, f"[{references[pk]}] {message}", body, "pending")] += 1
    # 3 assigned breaches x 4 + 4 unassigned x 3, 1 assigned reminder x 1 + 2 unassigned x 2
    assert (sum(raised.values()), sum(mails.values())) == (10, 29)

    before = set(Notification.objects.values_list("pk", flat=True))
    result = sla_sweep(now=now, batch_size=4)  # three batches
    sla_sweep(now=now, batch_size=4)  # a second sweep raises nothing again

    got_events = Counter(
        (e.case_id, e.kind, e.message, e.case_version, e.actor_label, tuple(sorted(e.payload.items())))
        for e in CaseEvent.objects.filter(kind__in=SLA_KINDS, payload__clock="stage")
    )
    assert got_events == events
    assert all(e.actor.username == "system" for e in CaseEvent.objects.filter(kind__in=SLA_KINDS))
    assert Counter(SlaAlert.objects.values_list("case_id", "clock", "entry", "kind")) == raised
    got_mails = Counter(Notification.objects.exclude(pk__in=before)
                        .values_list("case_id", "recipient", "subject", "body", "status"))
    assert got_mails == mails
    assert (result.breaches, result.reminders, result.notifications) == (7, 3, sum(mails.values()))
