"""Paying a refund: the HttpGateway against the local stub (signed, one
idempotency key per refund, errors raised), a failure recorded for a retry,
and what the customer is told: the amount and the date the money should be
on the card (settlement business days on the business calendar), on the
tracking page, by e-mail and as the API's money_back_by."""
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from disputes.models import Case, CaseEvent, Notification, Refund, RefundStatus
from disputes.refunds.gateways import GatewayError, HttpGateway
from disputes.refunds.payment import (
    expected_credit_on,
    refund_execute,
    refund_payment,
    refund_retry,
)
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.errors import ActionForbidden, TransitionNotAvailable
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel, EventKind, State
from disputes.workflow.steps import case_transition
from tests.api.webhook_support import Receiver
from tests.conftest import filing_data

from .payment_stub import SECRET

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def approved(file_case, alice, bob):
    case = case_transition(case=file_case(), name="start_verification", actor=alice)
    case = case_transition(case=case, name="propose_refund", actor=alice, amount="100.00")
    case = case_transition(case=case, name="approve_refund", actor=bob)
    return Refund.objects.get(case=case)


def test_the_http_gateway_signs_its_request_and_a_retry_gets_the_first_payments_reference(approved, stub):
    gateway = HttpGateway(url=stub.url, secret=SECRET, timeout=2)
    payment = refund_payment(approved)
    first = gateway.pay(payment)
    again = gateway.pay(payment)
    assert first == again and first.reference == "BANK00000001"
    assert stub.paid == 1 and stub.refused == 0
    with pytest.raises(GatewayError, match="HTTP 401"):  # signed with another secret: refused by the bank
        HttpGateway(url=stub.url, secret="wrong", timeout=2).pay(payment)
    assert stub.paid == 1


def test_the_http_gateway_raises_on_an_error_answer_or_no_answer(approved, stub):
    gateway = HttpGateway(url=stub.url, secret=SECRET, timeout=0.5)
    stub.fail_next = 1
    with pytest.raises(GatewayError, match="HTTP 500"):
        gateway.pay(refund_payment(approved))
    stub.hang = True
    with pytest.raises(GatewayError, match="did not answer"):
        gateway.pay(refund_payment(approved))
    stub.release()
    with pytest.raises(GatewayError, match="did not answer"):
        HttpGateway(url="http://127.0.0.1:9/refunds", secret=SECRET, timeout=0.5).pay(refund_payment(approved))


@pytest.mark.parametrize("code", [301, 302, 303, 307])
def test_a_redirect_from_the_payment_system_is_a_failed_payment_not_followed(approved, code):
    """urllib followed a 301/302/303 with a GET: an address answering that GET
    with a "reference" would have been taken for the bank's receipt of a
    payment never made (a proxy, or a gateway URL missing its last slash)."""
    with Receiver() as elsewhere, Receiver(redirect=(code, elsewhere.url)) as gateway_address:
        with pytest.raises(GatewayError) as error:
            HttpGateway(url=gateway_address.url, secret=SECRET, timeout=2).pay(refund_payment(approved))
        assert len(gateway_address.requests) == 1 and elsewhere.requests == []
    assert str(error.value) == f"the payment system answered HTTP {code} (a redirect: not followed)"


def test_a_payment_system_answering_a_byte_at_a_time_has_the_timeout_in_all(approved):
    """Each byte within the timeout, the whole receipt (about 18 s) not: the
    payment fails at the timeout (the retry's idempotency key finds the payment
    if it was made) instead of holding the worker as long as the answer lasts."""
    body = b'{"reference": "BANK00000001"}'
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body), body)
    with Receiver(answer=answer, trickle=0.2) as gateway_address:
        started = time.monotonic()
        with pytest.raises(GatewayError) as error:
            HttpGateway(url=gateway_address.url, secret=SECRET, timeout=2).pay(refund_payment(approved))
        elapsed = time.monotonic() - started
    assert 2 <= elapsed < 4
    assert str(error.value) == "the payment system did not answer: TimeoutError: no complete answer within 2 s"


@pytest.mark.parametrize(("size", "error"), [
    (65536, None),  # 64 kB in all: read
    (65537, "the payment system's answer is over 64 kB: not read"),
])
def test_an_answer_over_64_kb_is_a_failed_payment_that_says_so(approved, size, error):
    """Cut at 64 kB, a receipt with its reference up front read as "no payment
    reference": the bank's staff were told the payment system sent none."""
    start, end = b'{"reference": "BANK1", "x": "', b'"}'
    body = start + b"a" * (size - len(start) - len(end)) + end
    assert len(body) == size
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body), body)
    with Receiver(answer=answer) as address:
        gateway = HttpGateway(url=address.url, secret=SECRET, timeout=5)
        if error is None:
            assert gateway.pay(refund_payment(approved)).reference == "BANK1"
        else:
            with pytest.raises(GatewayError) as raised:
                gateway.pay(refund_payment(approved))
            assert str(raised.value) == error


def test_an_answer_that_is_not_http_is_a_failed_payment(approved):
    """http.client's error for it is no OSError: it escaped the gateway's failures."""
    headers = b"X-A: 1\r\n" * 101
    with Receiver(answer=b"HTTP/1.1 200 OK\r\n" + headers + b"\r\n") as address, pytest.raises(GatewayError) as error:
        HttpGateway(url=address.url, secret=SECRET, timeout=2).pay(refund_payment(approved))
    assert str(error.value) == ("the payment system did not answer: BadAnswer: the answer is not HTTP"
                                " (HTTPException: got more than 100 headers)")


def test_a_failed_payment_is_recorded_and_a_supervisors_retry_pays_it_once(http_gateway, approved, alice, bob,
                                                                           django_capture_on_commit_callbacks):
    http_gateway.fail_next = 1
    assert refund_execute(refund_id=approved.pk) is False
    approved.refresh_from_db()
    assert (approved.status, approved.attempts, approved.last_error) == (
        RefundStatus.FAILED, 1, "the payment system answered HTTP 500")
    case = Case.objects.get(pk=approved.case_id)
    assert case.state == State.REFUND_PENDING
    assert CaseEvent.objects.filter(case=case, kind=EventKind.REFUND, payload__error=approved.last_error).exists()
    assert refund_execute(refund_id=approved.pk) is False  # a failed payment waits for a supervisor
    with pytest.raises(ActionForbidden):
        refund_retry(case=case, actor=alice)
    with django_capture_on_commit_callbacks() as callbacks:
        refund_retry(case=case, actor=bob)
    assert len(callbacks) == 1
    assert refund_execute(refund_id=approved.pk) is True
    approved.refresh_from_db()
    assert (approved.status, approved.attempts, approved.execution_reference, approved.gateway) == (
        RefundStatus.EXECUTED, 2, "BANK00000001", "http")
    assert http_gateway.paid == 1 and Case.objects.get(pk=case.pk).state == State.REFUNDED
    with pytest.raises(TransitionNotAvailable):
        refund_retry(case=case, actor=bob)


def test_the_api_retries_a_failed_payment_for_a_supervisor_only(http_gateway, approved, alice, bob):
    http_gateway.fail_next = 1
    refund_execute(refund_id=approved.pk)
    reference = approved.case.reference
    url = f"/api/v1/cases/{reference}/refund/retry/"

    def api(user):
        client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return client

    assert api(alice).post(url).status_code == 403
    response = api(bob).post(url)
    assert response.status_code == 202 and response.json()["state"] == State.REFUND_PENDING
    assert Refund.objects.get(pk=approved.pk).status == RefundStatus.APPROVED
    assert api(bob).post(url).status_code == 409


@pytest.mark.parametrize(("paid", "days", "expected"), [
    (datetime(2026, 11, 27, 16, 0, tzinfo=SHANGHAI), 1, date(2026, 11, 30)),  # Friday → Monday
    (datetime(2026, 11, 27, 23, 30, tzinfo=SHANGHAI), 3, date(2026, 12, 2)),  # counted from the local day
    (datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI), 0, date(2026, 11, 28)),  # same day
    (datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI), 1, date(2026, 10, 8)),  # over the National Day holidays
])
def test_the_expected_credit_date_counts_business_days_of_the_calendar(db, paid, days, expected):
    assert expected_credit_on(paid, days) == expected


def test_the_customer_is_told_the_amount_and_date_by_email_on_the_tracking_page_and_in_the_api(
        settings, client, alice, bob):
    settings.DISPUTE_REFUND_SETTLEMENT_DAYS = {"ledger": 2}
    filed = case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(preferred_language="en"))
    case = case_transition(case=filed.case, name="start_verification", actor=alice)
    case = case_transition(case=case, name="propose_refund", actor=alice, amount="100.00")
    case = case_transition(case=case, name="approve_refund", actor=bob)
    refund = Refund.objects.get(case=case)
    assert refund_execute(refund_id=refund.pk)
    refund.refresh_from_db()
    due = refund.expected_credit_on
    assert due == expected_credit_on(refund.executed_at, 2) and due > refund.executed_at.date()

    mail = Notification.objects.filter(case=case).latest("id")
    assert "We have refunded 100.00 CNY to your card ending 1234" in mail.body and due.isoformat() in mail.body

    client.post("/complaints/track/", {"reference": case.reference, "tracking_code": filed.tracking_code},
                HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/complaints/track/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'id="money-back-by" data-date="{due.isoformat()}"' in page and "100.00 CNY" in page

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=bob).key}")
    body = api.get(f"/api/v1/cases/{case.reference}/").json()
    assert (body["state"], body["money_back_by"]) == (State.REFUNDED, due.isoformat())
