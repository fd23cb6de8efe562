"""Agents record each attempt to reach the merchant (channel, what was asked,
outcome) with the merchant's response deadline in business days; with the
answer link, the merchant's contact address on record is e-mailed a signed
link after commit. The call center and other roles may not; the staff case
page has the panel in merchant contact only."""
from datetime import datetime
from zoneinfo import ZoneInfo

from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from disputes.models import CaseEvent, MerchantContact, Notification
from disputes.workflow.errors import ActionForbidden, TransitionNotAvailable
from disputes.workflow.merchant import merchant_contact_record
from disputes.workflow.names import EventKind, State
from tests.disputes.merchants import (
    MERCHANT_EMAIL,
    case_in_merchant_contact,
    contact_with_link,
    link_from_email,
    merchant_on_record,
)
from tests.disputes.workflow import bring_to

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def cast(alice, bob, carol):
    return {"alice": alice, "bob": bob, "carol": carol}


@pytest.fixture
def merchant(db):
    return merchant_on_record()


@pytest.fixture
def en(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_an_agent_records_a_contact_with_its_deadline_and_event(merchant, file_case, cast, alice):
    case = case_in_merchant_contact(file_case, cast)
    contact = merchant_contact_record(case=case, actor=alice, channel="phone", asked="Did you get the money?",
                                      outcome="Manager will check the settlement report.")
    assert (contact.channel, contact.contacted_by, contact.link_sent_to) == ("phone", alice, "")
    event = CaseEvent.objects.get(case=case, kind=EventKind.MERCHANT_CONTACT)
    assert event.actor == alice and event.message == "Did you get the money?"
    assert event.payload["contact_id"] == contact.pk and event.payload["channel"] == "phone"
    assert not Notification.objects.filter(recipient=MERCHANT_EMAIL).exists()  # no link asked for: no e-mail


@pytest.mark.parametrize(("contacted", "due"), [
    # Monday 10:00 + 3 business days: Thursday 10:00.
    ("2026-11-23 10:00", "2026-11-26 10:00"),
    # Wednesday 30 September 2026 + 3: National Day 1–7 October (and the weekend)
    # are days off, Saturday 10 October is a 调休 working day: Saturday 10 October 10:00.
    ("2026-09-30 10:00", "2026-10-10 10:00"),
])
def test_the_merchant_deadline_is_three_business_days_on_the_chinese_calendar(merchant, file_case, cast, alice,
                                                                               contacted, due):
    now = datetime.fromisoformat(contacted).replace(tzinfo=SHANGHAI)
    with mock.patch.object(timezone, "now", lambda: now):
        case = case_in_merchant_contact(file_case, cast)
        contact = merchant_contact_record(case=case, actor=alice, channel="email", asked="?")
    assert contact.response_due_at == datetime.fromisoformat(due).replace(tzinfo=SHANGHAI)


def test_the_deadline_follows_the_setting(settings, merchant, file_case, cast, alice):
    settings.DISPUTE_MERCHANT_RESPONSE_DAYS = 5
    now = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
    with mock.patch.object(timezone, "now", lambda: now):
        case = case_in_merchant_contact(file_case, cast)
        contact = merchant_contact_record(case=case, actor=alice, channel="email", asked="?")
    assert contact.response_due_at == datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)


def test_the_link_goes_to_the_merchants_address_on_record_after_commit(merchant, file_case, cast, alice,
                                                                       django_capture_on_commit_callbacks):
    case = case_in_merchant_contact(file_case, cast, email="")  # the customer gets no e-mail at all
    with django_capture_on_commit_callbacks() as callbacks:
        contact = contact_with_link(case, alice)
    assert contact.link_sent_to == MERCHANT_EMAIL
    assert len(callbacks) == 1  # the delivery task is queued after commit, not before
    url = link_from_email(contact)
    assert url.startswith("http://") and "/merchant/respond/" in url
    message = mail.outbox[-1]
    assert message.to == [MERCHANT_EMAIL] and case.reference in message.subject
    assert case.customer.name not in message.body and case.customer.phone not in message.body


def test_without_a_contact_address_on_record_the_link_is_refused_and_nothing_is_written(file_case, cast, alice):
    merchant_on_record(contact_email="")
    case = case_in_merchant_contact(file_case, cast)
    with pytest.raises(ValidationError) as refused:
        contact_with_link(case, alice)
    assert "send_link" in refused.value.message_dict
    assert not MerchantContact.objects.exists()
    assert not CaseEvent.objects.filter(kind=EventKind.MERCHANT_CONTACT).exists()


def test_the_call_center_may_not_record_a_contact(merchant, file_case, cast, dave):
    case = case_in_merchant_contact(file_case, cast)
    with pytest.raises(ActionForbidden):
        contact_with_link(case, dave)
    assert not MerchantContact.objects.exists()


def test_a_contact_is_recorded_only_in_merchant_contact(merchant, file_case, cast, alice):
    case = bring_to(file_case(), State.VERIFYING, cast)
    with pytest.raises(TransitionNotAvailable):
        contact_with_link(case, alice)
    assert not MerchantContact.objects.exists()


def test_the_case_page_panel_records_an_attempt_and_lists_it(en, merchant, file_case, cast, alice):
    case = case_in_merchant_contact(file_case, cast)
    en.force_login(alice)
    page = en.get(f"/staff/cases/{case.reference}/").content.decode()
    assert 'id="merchant-contact-form"' in page
    response = en.post(f"/staff/cases/{case.reference}/merchant-contacts/", {
        "version": case.version, "channel": "email", "asked": "Please confirm the settlement.", "outcome": "",
        "send_link": "on"})
    assert response.status_code == 302
    page = en.get(response["Location"]).content.decode()
    assert "Contact recorded; the answer link is sent to the merchant." in page
    assert "Please confirm the settlement." in page and f"link sent to {MERCHANT_EMAIL}" in page
    assert "answer due" in page


def test_the_panel_refuses_an_empty_question_with_a_400_and_keeps_the_form(en, merchant, file_case, cast, alice):
    case = case_in_merchant_contact(file_case, cast)
    en.force_login(alice)
    response = en.post(f"/staff/cases/{case.reference}/merchant-contacts/", {
        "version": case.version, "channel": "email", "asked": "", "outcome": "rang twice"})
    assert response.status_code == 400 and "rang twice" in response.content.decode()
    assert not MerchantContact.objects.exists()


def test_the_call_center_is_refused_the_panel(en, merchant, file_case, cast, dave):
    case = case_in_merchant_contact(file_case, cast)
    en.force_login(dave)
    response = en.post(f"/staff/cases/{case.reference}/merchant-contacts/", {
        "version": case.version, "channel": "email", "asked": "?", "send_link": "on"})
    assert response.status_code == 403
    assert not MerchantContact.objects.exists()


def test_the_panel_is_not_offered_outside_merchant_contact(en, merchant, file_case, cast, alice):
    case = bring_to(file_case(), State.VERIFYING, cast)
    en.force_login(alice)
    assert 'id="merchant-contact-form"' not in en.get(f"/staff/cases/{case.reference}/").content.decode()
    response = en.post(f"/staff/cases/{case.reference}/merchant-contacts/", {
        "version": case.version, "channel": "email", "asked": "?"})
    assert response.status_code == 409
