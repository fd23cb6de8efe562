"""The merchant's signed link /merchant/respond/<token>/ (no account): it shows
the disputed payment with the card masked and nothing of the customer; the
answer is recorded once as a ``merchant_response`` event and drives the
workflow. A tampered or expired link, a link whose attempt is not of the case
it names, a second answer and a case that has moved on are refused with a
page in the visitor's language, and change nothing."""
import time
from datetime import timedelta

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile

from disputes.models import Attachment, Case, CaseEvent, MerchantContact, Notification
from disputes.workflow.casework import case_assign
from disputes.workflow.merchant import LINK_SALT, MerchantLinkRefused, merchant_answer
from disputes.workflow.names import EventKind, State
from disputes.workflow.steps import case_transition
from tests.disputes.merchants import (
    case_in_merchant_contact,
    contact_with_link,
    link_from_email,
    merchant_on_record,
    token_of,
)
from tests.test_csp import assert_strict, inline_code

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n% settlement statement\n"


@pytest.fixture
def cast(alice, bob, carol):
    return {"alice": alice, "bob": bob, "carol": carol}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def contact(file_case, cast, alice):
    merchant_on_record()
    case = case_in_merchant_contact(file_case, cast, card_last4="4321", customer_name="李四", phone="+8613911112222")
    return contact_with_link(case, alice)


@pytest.fixture
def url(contact) -> str:
    return "/merchant/respond/" + token_of(link_from_email(contact)) + "/"


def en(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def snapshot(case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return (case.state, case.version, CaseEvent.objects.filter(case=case).count(),
            list(MerchantContact.objects.filter(case=case).values_list("answer", "answered_at")),
            Attachment.objects.filter(case=case).count())


def answer(client, url, choice, comment="", files=()):
    return client.post(url, {"answer": choice, "comment": comment, "evidence": list(files)})


# --- the page ------------------------------------------------------------------------


def test_the_page_shows_the_payment_with_the_card_masked_and_nothing_of_the_customer(client, contact, url):
    response = en(client).get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "····4321" in page and "128.50 CNY" in page and contact.case.terminal_id in page
    assert "李四" not in page and "13911112222" not in page and "zhang@example.com" not in page
    assert response["Referrer-Policy"] == "same-origin"  # the token never leaves for another site


def test_the_page_needs_no_account(client, contact, url):
    assert client.get(url).status_code == 200  # nobody logged in


# --- answers ---------------------------------------------------------------------------


def test_did_not_receive_escalates_to_the_processor_as_the_merchant(client, contact, url):
    response = answer(en(client), url, "not_received", "No such payment in our settlement.")
    assert response.status_code == 200 and "We will ask the payment processor" in response.content.decode()
    case = Case.objects.get(pk=contact.case_id)
    assert case.state == State.PROCESSOR_INQUIRY
    response_event = CaseEvent.objects.get(case=case, kind=EventKind.MERCHANT_RESPONSE)
    assert response_event.actor is None and response_event.actor_label == "merchant"
    assert response_event.payload["answer"] == "not_received"
    assert response_event.message == "No such payment in our settlement."
    step = CaseEvent.objects.get(case=case, transition="escalate_to_processor")
    assert step.actor_label == "merchant" and step.id > response_event.id
    stored = MerchantContact.objects.get(pk=contact.pk)
    assert stored.answer == "not_received" and stored.answered_at is not None


def test_already_refunded_resolves_the_case(client, contact, url):
    answer(client, url, "refunded", "Refunded in cash on the spot.")
    case = Case.objects.get(pk=contact.case_id)
    assert case.state == State.RESOLVED
    assert CaseEvent.objects.filter(case=case, transition="merchant_refunded", actor_label="merchant").count() == 1


def test_received_keeps_the_case_with_its_agent(client, contact, url):
    before = Case.objects.get(pk=contact.case_id)
    answer(client, url, "received", "We have it; please send the customer's account.")
    case = Case.objects.get(pk=contact.case_id)
    assert case.state == State.MERCHANT_CONTACT and case.sla_entry == before.sla_entry  # same stage, same clock
    assert CaseEvent.objects.filter(case=case, kind=EventKind.MERCHANT_RESPONSE).count() == 1
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.TRANSITION, created_at__gt=before.updated_at).exists()


def test_evidence_is_kept_on_the_case_with_the_answer(client, contact, url, alice):
    answer(client, url, "refunded", files=[SimpleUploadedFile("refund.pdf", PDF, content_type="application/pdf")])
    attachment = Attachment.objects.get(case_id=contact.case_id)
    assert attachment.uploaded_by is None and attachment.original_name == "refund.pdf"
    event = CaseEvent.objects.get(case_id=contact.case_id, kind=EventKind.MERCHANT_RESPONSE)
    assert event.payload["attachment_ids"] == [attachment.pk]
    client.force_login(alice)
    page = en(client).get(f"/staff/cases/{contact.case.reference}/").content.decode()
    row = page.split(f'data-attachment="{attachment.pk}"')[1].split("</li>")[0]
    assert "from the merchant" in row  # not mistaken for the customer's


def test_a_file_that_is_not_what_it_claims_refuses_the_whole_answer(client, contact, url):
    before = snapshot(contact.case)
    response = answer(en(client), url, "refunded",
                      files=[SimpleUploadedFile("refund.pdf", b"MZ\x90\x00", content_type="application/pdf")])
    assert response.status_code == 400 and "not what its type says" in response.content.decode()
    assert snapshot(contact.case) == before


def test_a_file_above_the_size_limit_is_refused(settings, client, contact, url):
    settings.DISPUTE_ATTACHMENT_MAX_BYTES = len(PDF) - 1
    before = snapshot(contact.case)
    response = answer(en(client), url, "refunded",
                      files=[SimpleUploadedFile("refund.pdf", PDF, content_type="application/pdf")])
    assert response.status_code == 400
    assert snapshot(contact.case) == before


def test_no_answer_chosen_is_a_400_and_changes_nothing(client, contact, url):
    before = snapshot(contact.case)
    assert answer(client, url, "").status_code == 400
    assert answer(client, url, "maybe").status_code == 400
    assert snapshot(contact.case) == before


# --- refusals --------------------------------------------------------------------------


def test_a_second_answer_is_refused_and_changes_nothing(client, contact, url):
    answer(client, url, "received")
    before = snapshot(contact.case)
    for second in ("refunded", "not_received"):
        response = answer(en(client), url, second)
        assert response.status_code == 409
        assert "already been answered" in response.content.decode()
    assert en(client).get(url).status_code == 409
    assert snapshot(contact.case) == before


def test_a_tampered_token_is_refused(client, contact, url):
    token = url.split("/")[3]
    before = snapshot(contact.case)
    payload, _sep, signature = token.rpartition(":")
    forged = [payload + ":" + ("A" if signature[0] != "A" else "B") + signature[1:],
              token[:5] + ("x" if token[5] != "x" else "y") + token[6:],
              signing.dumps({"case": contact.case_id, "contact": contact.pk}, salt="another purpose"),
              "not-a-token"]
    for bad in forged:
        response = answer(en(client), f"/merchant/respond/{bad}/", "refunded")
        assert response.status_code == 400, bad
        assert "This link is not valid" in response.content.decode()
    assert snapshot(contact.case) == before


def test_a_link_for_another_case_is_refused(client, contact, file_case, cast, alice):
    other = case_in_merchant_contact(file_case, cast, phone="+8613900009999")
    # Signed with the right key and salt, but naming the other case with this case's attempt.
    forged = signing.dumps({"case": other.pk, "contact": contact.pk}, salt=LINK_SALT)
    before, before_other = snapshot(contact.case), snapshot(other)
    response = answer(en(client), f"/merchant/respond/{forged}/", "refunded")
    assert response.status_code == 400 and "does not belong to this case" in response.content.decode()
    assert (snapshot(contact.case), snapshot(other)) == (before, before_other)


def issued_ago(monkeypatch, contact, seconds: int) -> str:
    """The link as it was issued ``seconds`` ago (the signer's clock set back)."""
    with monkeypatch.context() as patch:
        patch.setattr(signing.TimestampSigner, "timestamp",
                      lambda self: signing.b62_encode(int(time.time()) - seconds))
        return signing.dumps({"case": contact.case_id, "contact": contact.pk}, salt=LINK_SALT)


def test_a_link_past_its_age_is_refused_and_one_just_within_works(settings, monkeypatch, client, contact):
    max_age = int(settings.DISPUTE_MERCHANT_LINK_MAX_AGE.total_seconds())
    assert max_age == 7 * 24 * 3600  # the default: 7 days
    before = snapshot(contact.case)
    expired = issued_ago(monkeypatch, contact, max_age + 5)
    response = answer(en(client), f"/merchant/respond/{expired}/", "refunded")
    assert response.status_code == 410 and "This link has expired" in response.content.decode()
    assert snapshot(contact.case) == before

    fresh_enough = issued_ago(monkeypatch, contact, max_age - 60)
    assert answer(client, f"/merchant/respond/{fresh_enough}/", "refunded").status_code == 200
    assert Case.objects.get(pk=contact.case_id).state == State.RESOLVED


def test_the_link_age_follows_the_setting(settings, monkeypatch, client, contact):
    settings.DISPUTE_MERCHANT_LINK_MAX_AGE = timedelta(days=1)
    token = issued_ago(monkeypatch, contact, 2 * 24 * 3600)
    assert client.get(f"/merchant/respond/{token}/").status_code == 410


def test_a_case_that_moved_on_refuses_the_link(client, contact, url, alice):
    case_transition(case=Case.objects.get(pk=contact.case_id), name="escalate_to_processor", actor=alice)
    before = snapshot(contact.case)
    response = answer(en(client), url, "refunded")
    assert response.status_code == 409 and "the case has moved on" in response.content.decode()
    assert snapshot(contact.case) == before


def test_refusals_are_in_the_visitors_language(client, contact):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    page = client.get("/merchant/respond/not-a-token/").content.decode()
    assert "此链接无效" in page and 'lang="zh-hans"' in page
    page = en(client).get("/merchant/respond/not-a-token/").content.decode()
    assert "This link is not valid" in page and 'lang="en"' in page


def test_too_many_refused_links_from_one_address_are_limited(settings, client, contact, url):
    settings.DISPUTE_MERCHANT_LINK_FAILURES_PER_ADDRESS = 3
    for _attempt in range(3):
        assert client.get("/merchant/respond/guess/").status_code == 400
    limited = client.get(url)  # even the right link, from that address, for a while
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert client.post(url, {"answer": "refunded"}).status_code == 429
    assert Case.objects.get(pk=contact.case_id).state == State.MERCHANT_CONTACT
    other_address = client.get(url, REMOTE_ADDR="10.0.0.9")
    assert other_address.status_code == 200


def test_the_service_refuses_a_replay_with_the_answered_reason(contact, url):
    token = url.split("/")[3]
    merchant_answer(token=token, answer="received", client_address="10.0.0.1")
    with pytest.raises(MerchantLinkRefused) as refused:
        merchant_answer(token=token, answer="refunded", client_address="10.0.0.1")
    assert refused.value.reason == "answered"


def test_the_merchant_pages_carry_the_strict_policy_and_no_inline_code(client, contact, url):
    for response in (client.get(url), client.get("/merchant/respond/not-a-token/"), answer(client, url, "received")):
        assert_strict(response)
        assert inline_code(response.content.decode()) == []


def test_the_agent_on_the_case_is_e_mailed_the_answer(client, contact, url, alice):
    case_assign(case=Case.objects.get(pk=contact.case_id), actor=alice, assignee=alice)
    answer(client, url, "received", "We have it.")
    told = Notification.objects.get(recipient=alice.email)
    assert contact.case.reference in told.subject and "We have it." in told.body
