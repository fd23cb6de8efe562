"""Processor inquiries: sent with our reference while the case is in processor
inquiry, due after the processor's promised response time in business days
(48 h → 2 business days) on the Chinese calendar, answered once; the SLA sweep
reminds before the due date and raises the breach at it, each once."""
import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from disputes.models import Case, CaseEvent, ProcessorInquiry, SlaAlert
from disputes.workflow.errors import ActionForbidden, TransitionNotAvailable
from disputes.workflow.names import EventKind, State
from disputes.workflow.processor import processor_inquiry_answer, processor_inquiry_send
from disputes.workflow.steps import case_transition
from merchants.models import PaymentProcessor
from tests.disputes.workflow import bring_to

from .conftest import at, sweep_as_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def processor(db):
    return PaymentProcessor.objects.create(name="银联商务", licence_number="Z2000131000011",
                                           promised_response_hours=48)


def send(case, actor, processor=None, reference="INQ-2026-0001"):
    return processor_inquiry_send(case=case, actor=actor, processor=processor, our_reference=reference,
                                  question="请核实该笔交易的清算状态。")


def inquiry_alerts(case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case, kind__in=[EventKind.SLA_REMINDER, EventKind.SLA_BREACH],
                                         payload__clock="inquiry").order_by("id").values_list("kind", flat=True))


def sweep(when: str) -> None:
    sweep_as_of(when)


@pytest.mark.parametrize(("sent", "hours", "due"), [
    ("2026-11-23 10:00", 48, "2026-11-25 10:00"),   # Monday + 2 business days: Wednesday
    ("2026-11-27 16:00", 24, "2026-11-30 16:00"),   # Friday + 1: Monday (the weekend is off)
    ("2026-11-23 10:00", 36, "2026-11-25 10:00"),   # 36 h rounds up to 2 business days
    # Wednesday 30 September + 2: National Day 1–7 October off: Friday 9 October.
    ("2026-09-30 10:00", 48, "2026-10-09 10:00"),
    # Friday 25 September is the Mid-Autumn Festival, then the weekend: Thursday 24th + 1 is Monday 28th.
    ("2026-09-24 10:00", 24, "2026-09-28 10:00"),
])
def test_the_due_date_is_the_promised_time_in_business_days(clock, cast, case, processor, sent, hours, due):
    processor.promised_response_hours = hours
    processor.save()
    clock.set(sent)
    case = bring_to(case, State.PROCESSOR_INQUIRY, cast)
    inquiry = send(case, cast["alice"], processor)
    assert inquiry.due_at == at(due)


def test_sending_writes_the_event_and_gives_the_case_its_processor(clock, cast, case, processor):
    case = bring_to(case, State.PROCESSOR_INQUIRY, cast)
    assert case.processor is None
    inquiry = send(case, cast["alice"], processor)
    event = CaseEvent.objects.get(case=case, kind=EventKind.PROCESSOR_INQUIRY)
    assert event.actor == cast["alice"] and event.payload["our_reference"] == "INQ-2026-0001"
    assert event.payload["inquiry_id"] == inquiry.pk and event.payload["processor"] == "银联商务"
    assert Case.objects.get(pk=case.pk).processor == processor


def test_one_inquiry_waits_for_its_answer_at_a_time(clock, cast, case, processor):
    case = bring_to(case, State.PROCESSOR_INQUIRY, cast)
    send(case, cast["alice"], processor)
    with pytest.raises(ValidationError):
        send(case, cast["alice"], processor, reference="INQ-2")
    assert ProcessorInquiry.objects.count() == 1
    processor_inquiry_answer(case=case, actor=cast["alice"], answer="Settled to the merchant on 24 Nov.")
    send(case, cast["alice"], processor, reference="INQ-2")  # after the answer a new one may go
    assert ProcessorInquiry.objects.count() == 2


def test_the_answer_is_recorded_once_with_its_event(clock, cast, case, processor):
    case = bring_to(case, State.PROCESSOR_INQUIRY, cast)
    inquiry = send(case, cast["alice"], processor)
    clock.set("2026-11-26 11:00")  # after the due date (Wednesday 10:00)
    processor_inquiry_answer(case=case, actor=cast["bob"], answer="Funds held: unsettled batch.")
    inquiry.refresh_from_db()
    assert inquiry.answer == "Funds held: unsettled batch." and inquiry.answered_by == cast["bob"]
    event = CaseEvent.objects.get(case=case, kind=EventKind.PROCESSOR_RESPONSE)
    assert event.payload["late"] is True and event.message == "Funds held: unsettled batch."
    with pytest.raises(TransitionNotAvailable):
        processor_inquiry_answer(case=case, actor=cast["bob"], answer="again")
    assert CaseEvent.objects.filter(case=case, kind=EventKind.PROCESSOR_RESPONSE).count() == 1


def test_the_call_center_may_not_send_or_answer(clock, cast, case, processor):
    case = bring_to(case, State.PROCESSOR_INQUIRY, cast)
    with pytest.raises(ActionForbidden):
        send(case, cast["dave"], processor)
    send(case, cast["alice"], processor)
    with pytest.raises(ActionForbidden):
        processor_inquiry_answer(case=case, actor=cast["dave"], answer="x")


def test_an_inquiry_is_sent_only_in_processor_inquiry(clock, cast, case, processor):
    case = bring_to(case, State.MERCHANT_CONTACT, cast)
    with pytest.raises(TransitionNotAvailable):
        send(case, cast["alice"], processor)
    assert not ProcessorInquiry.objects.exists()


def test_without_a_processor_the_inquiry_asks_for_one(clock, cast, case):
    case = bring_to(case, State.PROCESSOR_INQUIRY, cast)
    with pytest.raises(ValidationError) as refused:
        send(case, cast["alice"])
    assert "processor" in refused.value.message_dict


def test_the_sweep_reminds_before_the_due_date_and_breaches_at_it_once_each(clock, cast, case, processor):
    clock.set("2026-09-30 10:00")
    case = bring_to(case, State.PROCESSOR_INQUIRY, cast)
    send(case, cast["alice"], processor)  # due Friday 9 October 10:00; reminder 24 h before
    sweep("2026-10-08 09:59")
    assert inquiry_alerts(case) == []
    sweep("2026-10-08 10:00")
    assert inquiry_alerts(case) == ["sla_reminder"]
    sweep("2026-10-08 10:00")
    sweep("2026-10-09 09:59")
    assert inquiry_alerts(case) == ["sla_reminder"]
    sweep("2026-10-09 10:00")
    assert inquiry_alerts(case) == ["sla_reminder", "sla_breach"]
    sweep("2026-10-09 10:00")
    sweep("2026-10-20 10:00")
    assert inquiry_alerts(case) == ["sla_reminder", "sla_breach"]
    assert SlaAlert.objects.filter(case=case, clock="inquiry").count() == 2
    breach = CaseEvent.objects.get(case=case, kind=EventKind.SLA_BREACH, payload__clock="inquiry")
    assert breach.message == "超时：支付机构对查询 INQ-2026-0001 的答复已于 2026-10-09 10:00 到期。"
    with translation.override("en"):  # as the timeline says it to a reader in English
        assert breach.text == "Breach: the payment processor's answer to inquiry INQ-2026-0001 was due at 2026-10-09 10:00."


def test_a_late_sweep_raises_only_the_breach(clock, cast, case, processor):
    case = bring_to(case, State.PROCESSOR_INQUIRY, cast)
    send(case, cast["alice"], processor)  # due Wednesday 25 November 10:00
    sweep("2026-11-26 10:00")
    assert inquiry_alerts(case) == ["sla_breach"]


def test_an_answered_inquiry_is_never_reminded(clock, cast, case, processor):
    case = bring_to(case, State.PROCESSOR_INQUIRY, cast)
    send(case, cast["alice"], processor)
    processor_inquiry_answer(case=case, actor=cast["alice"], answer="Reversed on 23 Nov.")
    sweep("2026-11-30 10:00")
    assert inquiry_alerts(case) == []


def test_an_ended_case_is_not_chased(clock, cast, case, processor):
    case = bring_to(case, State.PROCESSOR_INQUIRY, cast)
    send(case, cast["alice"], processor)
    case_transition(case=case, name="reject", actor=cast["alice"], reason="Customer error.")
    sweep("2026-11-30 10:00")
    assert inquiry_alerts(case) == []
    assert ProcessorInquiry.objects.get(case=case).alert_at is None


def test_the_case_page_panel_sends_and_answers(client, cast, case, processor):
    case = bring_to(case, State.PROCESSOR_INQUIRY, cast)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(cast["alice"])
    page = client.get(f"/staff/cases/{case.reference}/").content.decode()
    assert 'id="inquiry-form"' in page and 'id="inquiry-answer-form"' not in page
    response = client.post(f"/staff/cases/{case.reference}/inquiries/", {
        "version": case.version, "processor": processor.pk, "our_reference": "INQ-9", "question": "Where is it?"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "INQ-9" in page and 'id="inquiry-answer-form"' in page and 'id="inquiry-form"' not in page
    case.refresh_from_db()
    response = client.post(f"/staff/cases/{case.reference}/inquiries/answer/", {
        "version": case.version, "answer": "Settled on 24 Nov."})
    assert response.status_code == 302
    assert "Settled on 24 Nov." in client.get(response["Location"]).content.decode()
    client.force_login(cast["dave"])
    response = client.post(f"/staff/cases/{case.reference}/inquiries/", {
        "version": case.version, "processor": processor.pk, "our_reference": "INQ-10"})
    assert response.status_code == 403
    assert ProcessorInquiry.objects.count() == 1
