"""Knowing someone's phone number gives nothing: a complaint filed on the public
form never changes, nor joins, an existing customer's record, so the victim's
e-mails never go to a stranger. Staff channels identify the caller and join the
verified record of that phone."""
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import Customer
from disputes.workflow.casework import case_add_note
from disputes.workflow.filing import case_file
from disputes.workflow.steps import case_transition
from disputes.workflow.actors import CUSTOMER
from disputes.models import Case, Notification, NoteVisibility
from disputes.workflow.names import Channel
from tests.conftest import filing_data

pytestmark = pytest.mark.django_db

VICTIM_PHONE = "+8613800138000"


@pytest.fixture
def victim_case(dave):
    """The victim called the bank: the call center filed their complaint."""
    return case_file(actor=dave, channel=Channel.API, **filing_data(
        customer_name="李四", phone=VICTIM_PHONE, email="victim@example.com")).case


def _stranger_files(**overrides):
    data = filing_data(customer_name="Mallory", phone="138 0013 8000", email="stranger@evil.example")
    data.update(overrides)
    return case_file(actor=CUSTOMER, channel=Channel.WEB, **data).case


def test_a_public_filing_with_a_known_phone_neither_changes_nor_joins_the_customer(victim_case):
    before = Customer.objects.values().get(pk=victim_case.customer_id)

    stranger_case = _stranger_files()

    assert Customer.objects.values().get(pk=victim_case.customer_id) == before
    assert stranger_case.customer_id != victim_case.customer_id
    stranger = stranger_case.customer
    assert (stranger.name, stranger.email, stranger.phone, stranger.verified) == (
        "Mallory", "stranger@evil.example", VICTIM_PHONE, False)
    assert list(Case.objects.filter(customer_id=victim_case.customer_id)) == [victim_case]


def test_a_public_filing_does_not_give_a_customer_without_e_mail_the_strangers_address(dave):
    victim_case = case_file(actor=dave, channel=Channel.API,
                                     **filing_data(phone=VICTIM_PHONE, email="")).case
    _stranger_files()

    victim = Customer.objects.get(pk=victim_case.customer_id)
    assert victim.email == ""


def test_the_victims_updates_never_reach_the_stranger(victim_case, alice):
    _stranger_files()
    Notification.objects.all().delete()

    case_transition(case=victim_case, name="start_verification", actor=alice)
    case_add_note(case=victim_case, actor=alice, body="我们已联系商户。", visibility=NoteVisibility.CUSTOMER)

    recipients = set(Notification.objects.filter(case=victim_case).values_list("recipient", flat=True))
    assert recipients == {"victim@example.com"}
    assert not Notification.objects.filter(recipient="stranger@evil.example").exclude(
        case__customer__email="stranger@evil.example").exists()
    assert "李四" not in "".join(Notification.objects.filter(recipient="stranger@evil.example")
                                 .values_list("body", flat=True))


def test_the_strangers_own_confirmation_goes_to_the_stranger_by_their_own_name(victim_case):
    stranger_case = _stranger_files()

    confirmation = Notification.objects.get(case=stranger_case)
    assert confirmation.recipient == "stranger@evil.example"
    assert "Mallory" in confirmation.body and "李四" not in confirmation.body


def test_two_public_filings_from_one_phone_share_nothing():
    first = _stranger_files(email="one@example.com")
    second = _stranger_files(email="two@example.com")

    assert first.customer_id != second.customer_id
    assert Customer.objects.get(pk=first.customer_id).email == "one@example.com"


def test_a_call_center_filing_joins_the_verified_customer_never_an_unverified_one(victim_case, dave):
    public = _stranger_files(phone="+8613900139000")

    staff = case_file(actor=dave, channel=Channel.API, **filing_data(phone="+8613900139000")).case
    again = case_file(actor=dave, channel=Channel.API, **filing_data(phone=VICTIM_PHONE)).case

    assert staff.customer_id != public.customer_id and staff.customer.verified
    assert again.customer_id == victim_case.customer_id


def test_a_staff_filing_does_not_overwrite_the_verified_customers_details(victim_case, dave):
    case_file(actor=dave, channel=Channel.API,
                       **filing_data(customer_name="Somebody Else", phone=VICTIM_PHONE, email="other@example.com"))

    victim = Customer.objects.get(pk=victim_case.customer_id)
    assert (victim.name, victim.email) == ("李四", "victim@example.com")


def test_the_database_keeps_one_verified_customer_per_phone(victim_case):
    Customer.objects.create(name="x", phone=VICTIM_PHONE, verified=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(name="y", phone=VICTIM_PHONE, verified=True)


# --- phone numbers are real numbers -----------------------------------------------------


@pytest.mark.parametrize("phone", [
    "6222021234567890128",       # a card number (19 digits)
    "4111111111111111",          # a card number (16 digits)
    "+4111111111111111",
    "622202123456789",           # 15 digits
    "+861380013",                # too short for a Chinese mobile
    "12345",
    "call me",
])
def test_a_phone_that_is_no_real_number_is_refused_and_nothing_is_stored(phone):
    with pytest.raises(ValidationError) as caught:
        _stranger_files(phone=phone)

    assert list(caught.value.message_dict) == ["phone"]
    assert len(caught.value.message_dict["phone"]) == 1, "one clear message, not a length complaint beside it"
    assert not Customer.objects.exists() and not Case.objects.exists()


def test_a_card_number_as_e_mail_address_is_refused_and_nothing_is_stored():
    with pytest.raises(ValidationError) as caught:
        _stranger_files(email="4111-1111-1111-1111@example.com")

    assert list(caught.value.message_dict) == ["email"]
    assert not Customer.objects.exists() and not Case.objects.exists()


def test_the_public_form_refuses_a_card_number_as_phone_without_echoing_it(client):
    from tests.disputes.test_public_pages import field_errors, form_data

    response = client.post("/complaints/new/", form_data(phone="6222 0212 3456 7890 128"))

    assert "phone" in field_errors(response)
    html = response.content.decode()
    assert "6222 0212 3456 7890" not in html and "6222021234567890" not in html
    assert not Case.objects.exists()


def test_the_api_refuses_a_card_number_as_phone(dave):
    from rest_framework.test import APIClient

    from tests.api.conftest import case_body

    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(dave)
    response = client.post("/api/v1/cases/", case_body(customer={"phone": "6222-0212-3456-7890-128"}), format="json")

    assert response.status_code == 400
    assert "customer.phone" in response.json()["errors"] or "customer" in response.json()["errors"]
    assert "0212" not in response.content.decode()
    assert not Case.objects.exists()
