"""The customers' public pages: filing a complaint, tracking it, answering a
request for information and withdrawing, with Django's test client."""
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from disputes.workflow.casework import case_add_note
from disputes.workflow.filing import case_file
from disputes.workflow.tracking import tracking_code_matches
from disputes.workflow.actors import CUSTOMER
from disputes.models import Case, CaseEvent, CaseNote, NoteVisibility, Notification
from disputes.workflow.names import Channel, EventKind, State
from tests.conftest import filing_data
from tests.disputes.workflow import bring_to

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = filing_data()
    data["amount"] = "128.50"
    data["transaction_at"] = timezone.localtime(timezone.now() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    data.update(overrides)
    return data


def file_complaint(client, **overrides):
    return client.post("/complaints/new/", form_data(**overrides))


def field_errors(response) -> dict[str, str]:
    html = response.content.decode()
    return dict(re.findall(r'<small class="error" role="alert" data-field="([a-z0-9_]+)">([^<]*)</small>', html))


@pytest.fixture
def cast(alice, bob, system):
    return {"alice": alice, "bob": bob, "system": system}


@pytest.fixture
def filed(db):
    return case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data())


def track(client, reference, code, **extra):
    return client.post("/complaints/track/", {"reference": reference, "tracking_code": code}, **extra)


# --- filing ------------------------------------------------------------------------------


def test_the_form_names_its_inputs_as_the_api_fields_with_csrf(db):
    html = Client(enforce_csrf_checks=True).get("/complaints/new/").content.decode()

    for name in ("customer_name", "phone", "email", "card_last4", "card_scheme", "amount", "currency",
                 "transaction_at", "merchant_name", "merchant_id", "terminal_id", "rrn", "stan", "auth_code",
                 "description", "csrfmiddlewaretoken"):
        assert f'name="{name}"' in html, name
    assert 'type="datetime-local"' in html
    assert '<option value="CNY" selected>' in html
    assert "参考号" in html and "凭证号" in html  # where to find RRN and STAN on the slip


def test_the_form_refuses_a_post_without_the_csrf_token(db):
    response = Client(enforce_csrf_checks=True).post("/complaints/new/", form_data())

    assert response.status_code == 403
    assert not Case.objects.exists()


def test_filing_writes_one_case_and_one_filed_event_from_the_web_then_redirects(client):
    response = file_complaint(client)

    assert response.status_code == 302
    assert response["Location"] == "/complaints/new/done/"
    case = Case.objects.get()
    assert case.channel == Channel.WEB
    assert case.state == State.SUBMITTED
    assert str(case.amount) == "128.50" and case.currency == "CNY"
    assert case.card.last4 == "1234" and case.rrn == "100000000347"
    event = CaseEvent.objects.get(case=case)
    assert event.kind == EventKind.FILED
    assert event.payload == {"channel": "web"}


def test_the_payment_time_is_read_in_the_configured_time_zone(client):
    file_complaint(client, transaction_at="2025-03-14T09:30")

    case = Case.objects.get()
    assert timezone.localtime(case.transaction_at).strftime("%Y-%m-%d %H:%M") == "2025-03-14 09:30"
    assert case.transaction_at.utcoffset() is not None


def test_the_tracking_code_is_shown_once_and_never_in_a_url(client):
    response = file_complaint(client)
    case = Case.objects.get()

    assert "/complaints/new/done/" == response["Location"]
    page = client.get("/complaints/new/done/")
    html = page.content.decode()
    reference, code = filed_codes_from(html)
    assert reference == case.reference
    assert tracking_code_matches(case, code)
    assert code not in response["Location"]
    assert "no-store" in page["Cache-Control"]

    again = client.get("/complaints/new/done/")
    assert again.status_code == 302
    assert code not in again.content.decode()


@pytest.mark.parametrize(("language", "subject"), [
    ("en", "We have received your complaint"), ("zh-hans", "您的投诉已受理"),
])
def test_the_customer_is_written_to_in_the_language_they_filed_in(client, language, subject):
    """The page's language is the customer's: an English complaint gets English e-mails."""
    assert client.post("/complaints/new/", form_data(email="z@example.com"),
                       HTTP_ACCEPT_LANGUAGE=language).status_code == 302
    case = Case.objects.select_related("customer").get()
    assert case.customer.preferred_language == language
    assert subject in Notification.objects.get(case=case, recipient="z@example.com").subject


def filed_codes_from(html):
    return (re.search(r'id="case-reference">([^<]+)<', html).group(1),
            re.search(r'id="tracking-code">([^<]+)<', html).group(1))


def test_bad_input_re_renders_with_field_errors_in_chinese_and_writes_nothing(client):
    response = file_complaint(client, amount="-1", customer_name="")

    assert response.status_code == 200
    errors = field_errors(response)
    assert errors["amount"] == "金额必须大于零。"
    assert errors["customer_name"] == "该字段是必填项。"
    assert not Case.objects.exists() and not CaseEvent.objects.exists()


def test_bad_input_errors_are_in_english_for_an_english_browser(client):
    response = client.post("/complaints/new/", form_data(amount="-1", terminal_id="4108"), HTTP_ACCEPT_LANGUAGE="en")

    errors = field_errors(response)
    assert errors["amount"] == "The amount must be greater than zero."
    assert errors["terminal_id"] == "A terminal id (终端编号) has exactly 8 letters or digits."
    assert not Case.objects.exists()


@pytest.mark.parametrize(("name", "language", "message"), [
    ("\u202eevil\u202c Zhang", "en", "Write it on one line, without control or text-direction characters."),
    ("Zhang\r\nBcc: someone@example.com", "zh-hans", "请写在一行内，不要包含控制字符或文字方向字符。"),
    ("\u200b\u200b\u200b", "en", "Write at least one visible character."),
])
def test_a_name_that_is_not_one_line_of_visible_text_is_refused(client, name, language, message):
    """Shown in the queue, greeting the customer by e-mail, heading the letter: one line, visible."""
    response = client.post("/complaints/new/", form_data(customer_name=name), HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200 and field_errors(response)["customer_name"] == message
    assert not Case.objects.exists()


@pytest.mark.parametrize("amount", ["12.345", "1e-3", "0.001", "-5.00", "0", "abc", "12,50"])
def test_a_float_ish_negative_or_zero_amount_is_refused(client, amount):
    response = file_complaint(client, amount=amount)

    assert response.status_code == 200
    assert "amount" in field_errors(response)
    assert not Case.objects.exists()


def test_a_five_digit_card_last4_is_refused(client):
    response = file_complaint(client, card_last4="12345")

    assert "card_last4" in field_errors(response)
    assert not Case.objects.exists()


def test_a_full_card_number_is_never_echoed_back(client):
    pan = "6222021234567890128"
    response = file_complaint(client, card_last4=pan, description=f"我的卡号 {pan}", amount="-1")

    html = response.content.decode()
    assert "card_last4" in field_errors(response)
    assert pan not in html
    assert not Case.objects.exists()


def test_a_service_error_on_a_field_the_form_accepted_lands_on_that_field(client):
    future = timezone.localtime(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = file_complaint(client, transaction_at=future, phone="12")

    errors = field_errors(response)
    assert "transaction_at" in errors and "phone" in errors
    assert not Case.objects.exists()


# --- tracking ------------------------------------------------------------------------------


def test_tracking_shows_the_case_in_customer_words_with_its_state_name(client, filed):
    case = filed.case
    case_add_note(case=case, actor=CUSTOMER, body="收据照片已拍。")

    response = track(client, case.reference.lower(), filed.tracking_code)
    assert response.status_code == 302
    assert response["Location"] == "/complaints/track/"
    html = client.get("/complaints/track/").content.decode()

    assert 'id="case-state" data-state="submitted"' in html
    assert "我们已收到您的投诉。" in html
    assert case.reference in html
    assert "128.50 CNY" in html
    assert timezone.localtime(case.created_at).strftime("%Y-%m-%d") in html
    assert timezone.localtime(case.final_due_at).strftime("%Y-%m-%d") in html
    assert "收据照片已拍。" in html
    assert filed.tracking_code not in html


def test_only_customer_visible_notes_are_shown(client, filed, alice):
    case = filed.case
    case_add_note(case=case, actor=alice, body="内部：商户电话无人接。")
    case_add_note(case=case, actor=alice, body="请提供小票照片。", visibility=NoteVisibility.CUSTOMER)

    track(client, case.reference, filed.tracking_code)
    html = client.get("/complaints/track/").content.decode()

    assert "请提供小票照片。" in html
    assert "商户电话无人接" not in html


def test_a_wrong_code_and_a_wrong_reference_get_the_same_answer(client, filed):
    case = filed.case
    wrong_code = track(client, case.reference, "AAAAAAAAAA")
    wrong_reference = track(client, "DD000000-AAAAAA", filed.tracking_code)

    def answer(response, reference):
        html = response.content.decode().replace(reference, "REF")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)

    assert wrong_code.status_code == wrong_reference.status_code == 200
    assert answer(wrong_code, case.reference) == answer(wrong_reference, "DD000000-AAAAAA")
    assert 'id="track-error"' in wrong_code.content.decode()
    assert "case-state" not in wrong_code.content.decode()
    assert "case-state" not in client.get("/complaints/track/").content.decode()


def test_a_failed_lookup_forgets_the_case_looked_up_before(client, filed):
    track(client, filed.case.reference, filed.tracking_code)
    track(client, filed.case.reference, "WRONGWRONG")

    assert "case-state" not in client.get("/complaints/track/").content.decode()


# --- replying and withdrawing ---------------------------------------------------------------


def test_replying_needs_a_successful_lookup(client, filed, cast):
    case = bring_to(filed.case, State.AWAITING_CUSTOMER, cast)

    client.post("/complaints/track/reply/", {"message": "小票见附件。"})
    client.post("/complaints/track/withdraw/", {"confirm": "on"})
    track(client, case.reference, "WRONGWRONG")
    client.post("/complaints/track/reply/", {"message": "小票见附件。"})

    case.refresh_from_db()
    assert case.state == State.AWAITING_CUSTOMER
    assert not CaseNote.objects.filter(case=case).exists()


def test_the_customer_replies_to_a_request_and_the_case_returns_to_its_stage(client, filed, cast):
    case = bring_to(filed.case, State.AWAITING_CUSTOMER, cast)
    track(client, case.reference, filed.tracking_code)
    html = client.get("/complaints/track/").content.decode()
    assert 'data-state="awaiting_customer"' in html and 'action="/complaints/track/reply/"' in html

    response = client.post("/complaints/track/reply/", {"message": "交易时间是 14:05，小票已拍照。"})

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.VERIFYING
    note = CaseNote.objects.get(case=case)
    assert note.visibility == NoteVisibility.CUSTOMER and note.body.startswith("交易时间")
    html = client.get("/complaints/track/").content.decode()
    assert 'data-state="verifying"' in html
    assert "交易时间是 14:05" in html
    assert 'action="/complaints/track/reply/"' not in html


def test_a_reply_in_the_wrong_state_writes_neither_the_note_nor_the_step(client, filed):
    case = filed.case
    track(client, case.reference, filed.tracking_code)
    assert 'action="/complaints/track/reply/"' not in client.get("/complaints/track/").content.decode()

    client.post("/complaints/track/reply/", {"message": "补充说明"})
    html = client.get("/complaints/track/").content.decode()

    case.refresh_from_db()
    assert case.state == State.SUBMITTED
    assert not CaseNote.objects.filter(case=case).exists()
    assert 'class="message error"' in html


def test_an_empty_reply_changes_nothing(client, filed, cast):
    case = bring_to(filed.case, State.AWAITING_CUSTOMER, cast)
    track(client, case.reference, filed.tracking_code)

    client.post("/complaints/track/reply/", {"message": "   "})

    case.refresh_from_db()
    assert case.state == State.AWAITING_CUSTOMER
    assert not CaseNote.objects.filter(case=case).exists()


def test_withdrawing_needs_the_confirmation_then_ends_the_case(client, filed):
    case = filed.case
    track(client, case.reference, filed.tracking_code)

    client.post("/complaints/track/withdraw/", {})
    case.refresh_from_db()
    assert case.state == State.SUBMITTED

    client.post("/complaints/track/withdraw/", {"confirm": "on"})
    case.refresh_from_db()
    assert case.state == State.WITHDRAWN
    html = client.get("/complaints/track/").content.decode()
    assert 'data-state="withdrawn"' in html
    assert "/complaints/track/withdraw/" not in html


def test_withdrawing_an_ended_case_is_refused_with_a_message(client, filed, cast):
    case = bring_to(filed.case, State.RESOLVED, cast)
    track(client, case.reference, filed.tracking_code)
    assert "/complaints/track/withdraw/" not in client.get("/complaints/track/").content.decode()

    client.post("/complaints/track/withdraw/", {"confirm": "on"})

    case.refresh_from_db()
    assert case.state == State.RESOLVED
    assert 'class="message error"' in client.get("/complaints/track/").content.decode()


@pytest.mark.parametrize("language, hints", [
    ("zh-hans", ["只需填写卡号的后4位", "POS 签购单上标为“参考号”", "提交投诉"]),
    ("en", ["Only the last 4 digits of the card", "printed on the POS slip as 参考号", "Submit the complaint"]),
])
def test_the_form_speaks_the_browsers_language(client, language, hints):
    html = client.get("/complaints/new/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    for hint in hints:
        assert hint in html
