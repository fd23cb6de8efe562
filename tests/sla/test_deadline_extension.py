"""Extending the overall deadline: a supervisor with a reason, to 30 days for a
complex case, then a further 30 with another supervisor's approval; recorded as
a ``deadline_extended`` event and told to the customer in their language."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from disputes.workflow.steps import case_transition
from disputes.workflow.errors import ActionForbidden, StaleCase, TransitionNotAvailable
from disputes.models import CaseEvent, Notification, SlaAlert, SlaSettings
from disputes.sla.extensions import case_extend_deadline
from disputes.workflow.names import EventKind, State
from tests.disputes.workflow import bring_to

from .conftest import at, sweep_as_of

pytestmark = pytest.mark.django_db


def test_a_supervisor_extends_the_deadline_to_thirty_days_with_a_reason(clock, case, bob):
    case = case_extend_deadline(case=case, actor=bob, reason="商户需要调取监控录像")
    assert case.final_due_at == at("2026-12-23 10:00")  # filed 23 Nov: 30 days
    assert case.deadline_extensions == 1
    event = CaseEvent.objects.get(case=case, kind=EventKind.DEADLINE_EXTENDED)
    assert event.actor == bob and event.message == "商户需要调取监控录像"
    assert event.payload["extension"] == 1 and event.payload["to"] == at("2026-12-23 10:00").isoformat()
    mail = Notification.objects.filter(case=case, recipient=case.customer.email).latest("id")
    assert "2026-12-23" in mail.body and "商户需要调取监控录像" in mail.body


def test_the_second_extension_adds_thirty_more_days_approved_by_another_supervisor(clock, case, bob, carol):
    case = case_extend_deadline(case=case, actor=bob, reason="Complex: two processors involved.")
    with pytest.raises(ActionForbidden):
        case_extend_deadline(case=case, actor=bob, reason="Still waiting.")
    case = case_extend_deadline(case=case, actor=carol, reason="Processor investigation ongoing.")
    assert case.final_due_at == at("2027-01-22 10:00")
    assert case.deadline_extensions == 2
    with pytest.raises(TransitionNotAvailable):
        case_extend_deadline(case=case, actor=bob, reason="Once more?")
    assert CaseEvent.objects.filter(case=case, kind=EventKind.DEADLINE_EXTENDED).count() == 2


@pytest.mark.parametrize("who", ["alice", "dave", "erin", "mallory"])
def test_only_a_supervisor_may_extend(clock, case, cast, who):
    with pytest.raises(ActionForbidden):
        case_extend_deadline(case=case, actor=cast[who], reason="Complex case.")
    case.refresh_from_db()
    assert case.deadline_extensions == 0 and case.final_due_at == at("2026-12-08 10:00")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_reason_is_required_and_nothing_changes_without_one(clock, case, bob, language):
    with translation.override(language), pytest.raises(ValidationError) as error:
        case_extend_deadline(case=case, actor=bob, reason="   ")
    assert "reason" in error.value.message_dict
    case.refresh_from_db()
    assert case.deadline_extensions == 0 and case.version == 1
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.DEADLINE_EXTENDED).exists()


def test_an_ended_case_cannot_be_extended(clock, case, cast):
    case = bring_to(case, State.RESOLVED, cast)
    with pytest.raises(TransitionNotAvailable):
        case_extend_deadline(case=case, actor=cast["bob"], reason="Too late.")


def test_a_stale_copy_is_refused(clock, case, bob):
    with pytest.raises(StaleCase):
        case_extend_deadline(case=case, actor=bob, reason="Complex.", expected_version=case.version - 1 or 99)


def test_the_extended_deadline_gets_its_own_reminder_and_breach(clock, case, bob):
    sweep_at = sweep_as_of
    sweep_at("2026-12-08 10:00")  # the first deadline breached
    case.refresh_from_db()
    case = case_extend_deadline(case=case, actor=bob, reason="Complex.")
    sweep_at("2026-12-21 10:00")
    sweep_at("2026-12-23 10:00")
    final = SlaAlert.objects.filter(case=case, clock="final").order_by("entry", "kind")
    assert [(a.entry, a.kind) for a in final] == [(0, "breach"), (1, "breach"), (1, "reminder")]


def test_extensions_while_paused_lengthen_the_time_left(clock, case, cast):
    clock.set("2026-11-23 11:00")
    case = bring_to(case, State.AWAITING_CUSTOMER, cast)
    left = case.final_remaining
    case = case_extend_deadline(case=case, actor=cast["bob"], reason="Complex.")
    assert case.final_remaining == left + timedelta(days=15)
    clock.set("2026-11-30 11:00")
    case = case_transition(case=case, name="customer_info_received", actor=cast["customer"])
    assert case.final_due_at == at("2026-11-30 11:00") + left + timedelta(days=15)


def test_extensions_count_working_days_when_the_deadline_does(clock, file_case, bob):
    SlaSettings.objects.update_or_create(pk=1, defaults={"final_counting": "working"})
    case = file_case()
    assert case.final_due_at == at("2026-12-14 10:00")  # 15 working days
    case = case_extend_deadline(case=case, actor=bob, reason="Complex.")
    assert case.final_due_at == at("2027-01-05 10:00")  # 15 more working days (1 January off)
