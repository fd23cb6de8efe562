"""The customer's resolution letter: a PDF from the staff case page of an ended
case, in the customer's language, read back with pypdf; the card by its last
4 digits only."""
from io import BytesIO

import pytest
from pypdf import PdfReader

from disputes.models import Case, Refund
from disputes.refunds.payment import refund_execute
from disputes.workflow.steps import case_transition

FULL_CARD = "6222021234567890123"


def _text(response) -> str:
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return "".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)


def _letter(client, user, case):
    client.force_login(user)
    return client.get(f"/staff/cases/{case.reference}/letter.pdf", HTTP_ACCEPT_LANGUAGE="en")


def _refunded(file_case, alice, bob, **overrides):
    case = case_transition(case=file_case(**overrides), name="start_verification", actor=alice)
    case = case_transition(case=case, name="propose_refund", actor=alice, amount="100.00")
    case = case_transition(case=case, name="approve_refund", actor=bob)
    assert refund_execute(refund_id=Refund.objects.get(case=case).pk)
    return Case.objects.get(pk=case.pk)


def test_a_refunded_customer_gets_a_chinese_letter_with_amount_reference_and_date(client, file_case, alice, bob):
    case = _refunded(file_case, alice, bob)  # the customer's language: zh-hans
    refund = Refund.objects.get(case=case)
    text = _text(_letter(client, alice, case))
    assert "投诉处理结果" in text and "张三" in text
    assert "100.00 CNY" in text and "1234" in text and refund.execution_reference in text
    assert refund.expected_credit_on.isoformat() in text and case.reference in text


def test_a_rejected_customer_gets_the_reason_in_english(client, file_case, alice):
    case = case_transition(case=file_case(preferred_language="en"), name="start_verification", actor=alice)
    case = case_transition(case=case, name="reject", actor=alice,
                           reason=f"The ledger shows no debit; card {FULL_CARD} is not ours.")
    text = _text(_letter(client, alice, case))
    assert "Resolution of your complaint" in text and "We could not uphold your complaint." in text
    assert "The ledger shows no debit" in text
    assert FULL_CARD not in text and "ending 1234" in text


def test_a_resolved_and_then_closed_case_still_has_its_letter(client, file_case, alice):
    case = case_transition(case=file_case(preferred_language="en"), name="start_verification", actor=alice)
    case = case_transition(case=case, name="reversal_found", actor=alice)
    case = case_transition(case=case, name="close", actor=alice)
    assert "Your complaint is resolved" in _text(_letter(client, alice, case))


@pytest.mark.parametrize("ending", ["open", "withdrawn"])
def test_no_letter_for_an_open_or_withdrawn_case(client, file_case, alice, dave, ending):
    case = file_case()
    if ending == "withdrawn":
        case = case_transition(case=case, name="withdraw", actor=dave)
    response = _letter(client, alice, case)
    assert response.status_code == 409


def test_the_call_center_cannot_download_a_letter(client, file_case, alice, bob, dave):
    case = _refunded(file_case, alice, bob)
    assert _letter(client, dave, case).status_code == 403


def test_the_case_page_offers_the_letter_and_a_supervisor_the_retry_of_a_failed_payment(client, settings, file_case,
                                                                                         alice, bob):
    settings.DISPUTE_REFUND_GATEWAY = "disputes.refunds.gateways.HttpGateway"
    settings.DISPUTE_REFUND_GATEWAY_URL = "http://127.0.0.1:9/refunds"  # nobody listens: the payment fails
    settings.DISPUTE_REFUND_GATEWAY_SECRET = "x"
    settings.DISPUTE_REFUND_GATEWAY_TIMEOUT = 0.5
    case = case_transition(case=file_case(), name="start_verification", actor=alice)
    case = case_transition(case=case, name="propose_refund", actor=alice, amount="100.00")
    case = case_transition(case=case, name="approve_refund", actor=bob)
    assert refund_execute(refund_id=Refund.objects.get(case=case).pk) is False
    client.force_login(alice)
    page = client.get(f"/staff/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-status="failed"' in page and "did not answer" in page
    assert 'id="retry-payment"' not in page and 'id="resolution-letter"' not in page
    client.force_login(bob)
    page = client.get(f"/staff/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="retry-payment"' in page
    response = client.post(f"/staff/cases/{case.reference}/refund/retry/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert Refund.objects.get(case=case).status == "approved"
