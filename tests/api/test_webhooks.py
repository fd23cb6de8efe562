"""Webhooks: every state change, in the transaction of the change, signed,
sent by a real Celery worker after commit, retried, logged and replayable."""
import contextlib
import json
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from disputes.delivery import webhooks
from disputes.models import Case, WebhookDelivery, WebhookDeliveryStatus
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.casework import case_add_note
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel
from disputes.workflow.steps import case_transition

from .conftest import CASES, case_body, filing_data_for_service
from .webhook_support import Receiver, celery_worker_on_redis

SECRET = "whsec-test-secret"


@pytest.fixture
def endpoint(db, settings):
    settings.DEBUG = True  # a plain-HTTP receiver on 127.0.0.1; production refuses it (test below)
    made = webhooks.webhook_endpoint_register(name="call center", url="http://127.0.0.1:9/hooks", secret=SECRET)
    settings.DEBUG = False
    return made


# --- registering -------------------------------------------------------------------


@pytest.mark.django_db
def test_production_settings_require_https(settings):
    settings.DEBUG = False
    with pytest.raises(ValidationError) as error:
        webhooks.webhook_endpoint_register(name="cc", url="http://callcenter.example/hooks")
    assert "url" in error.value.message_dict
    endpoint = webhooks.webhook_endpoint_register(name="cc", url="https://callcenter.example/hooks")
    assert endpoint.active and len(endpoint.secret) >= 32


@pytest.mark.django_db
def test_the_admin_form_enforces_https_too(client, erin, settings):
    settings.DEBUG = False
    erin.is_staff = True
    erin.save()
    client.force_login(erin)
    response = client.post("/admin/disputes/webhookendpoint/add/",
                           {"name": "cc", "url": "http://callcenter.example/hooks", "secret": "s" * 32, "active": "on"})
    assert response.status_code == 200  # the form again, with the error
    assert not webhooks.WebhookEndpoint.objects.exists()


# --- the outbox -----------------------------------------------------------------------


@pytest.mark.django_db
def test_filing_and_each_transition_write_one_delivery_per_active_endpoint(endpoint, alice, dave):
    webhooks.webhook_endpoint_register(name="off", url="https://off.example/h", active=False)
    filed = case_file(actor=dave, channel=Channel.API, **filing_data_for_service())
    case = case_transition(case=filed.case, name="start_verification", actor=alice)
    case_add_note(case=case, actor=alice, body="not a state change")

    deliveries = WebhookDelivery.objects.order_by("id")
    assert [d.payload["type"] for d in deliveries] == ["case.filed", "case.transition"]
    assert {d.endpoint_id for d in deliveries} == {endpoint.pk}
    body = deliveries[1].payload
    assert body["case"] == case.reference
    assert (body["transition"], body["from_state"], body["to_state"], body["version"]) == (
        "start_verification", "submitted", "verifying", 2)
    assert body["id"] == deliveries[1].event_id and body["occurred_at"]


@pytest.mark.django_db
def test_a_change_that_rolls_back_leaves_no_delivery(endpoint, alice, case):
    with pytest.raises(RuntimeError), transaction.atomic():
        case_transition(case=case, name="start_verification", actor=alice)
        raise RuntimeError("the rest of the request failed")
    assert not WebhookDelivery.objects.filter(payload__type="case.transition").exists()


def test_signatures_verify_and_tampering_does_not():
    body = b'{"case":"DD261127-ABCDEF"}'
    header = webhooks.sign(secret=SECRET, timestamp=int(time.time()), body=body)
    assert webhooks.verify(secret=SECRET, header=header, body=body)
    assert not webhooks.verify(secret="another", header=header, body=body)
    assert not webhooks.verify(secret=SECRET, header=header, body=body + b" ")
    old = webhooks.sign(secret=SECRET, timestamp=int(time.time()) - 3600, body=body)
    assert not webhooks.verify(secret=SECRET, header=old, body=body)


def test_back_off_grows_exponentially_up_to_a_cap(settings):
    settings.DISPUTE_WEBHOOK_BACKOFF_SECONDS = 30
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert webhooks.backoff(40) == timedelta(hours=6)


@pytest.mark.django_db
def test_after_the_last_attempt_it_gives_up(endpoint, case, settings):
    settings.DISPUTE_WEBHOOK_MAX_ATTEMPTS = 2
    settings.DISPUTE_WEBHOOK_TIMEOUT_SECONDS = 2
    with Receiver(fail_first=99) as receiver:
        endpoint.url = receiver.url
        endpoint.save()
        delivery = WebhookDelivery.objects.get()
        assert webhooks.webhook_delivery_send(delivery_id=delivery.pk) is not None
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
        assert webhooks.webhook_delivery_send(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (WebhookDeliveryStatus.FAILED, 2, 500)
    assert [entry["status"] for entry in delivery.attempt_log] == [500, 500]


@pytest.mark.django_db
@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failed_attempt_and_is_never_followed(endpoint, case, code):
    """urllib follows 301/302/303 with a GET: a registered endpoint could send
    the worker to any address it reaches (a metadata service, an intranet page)."""
    with Receiver() as elsewhere, Receiver(redirect=(code, elsewhere.url)) as receiver:
        endpoint.url = receiver.url
        endpoint.save()
        delivery = WebhookDelivery.objects.get()
        assert webhooks.webhook_delivery_send(delivery_id=delivery.pk) is not None  # tried again later
        assert len(receiver.requests) == 1
        assert elsewhere.requests == []  # urllib follows within the attempt: nothing can arrive later
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (WebhookDeliveryStatus.PENDING, 1, code)
    assert delivery.last_error == f"HTTP {code} (a redirect: not followed)"


@pytest.mark.django_db
def test_a_receiver_answering_a_byte_at_a_time_gets_the_attempts_time_in_all(endpoint, case, settings):
    """Each byte comes within the timeout, the whole answer (about 9 s) does not:
    the attempt ends at the timeout, as a failure, and is tried again later."""
    settings.DISPUTE_WEBHOOK_TIMEOUT_SECONDS = 2
    with Receiver(answer=b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", trickle=0.2) as receiver:
        endpoint.url = receiver.url
        endpoint.save()
        delivery = WebhookDelivery.objects.get()
        started = time.monotonic()
        assert webhooks.webhook_delivery_send(delivery_id=delivery.pk) is not None  # tried again later
        elapsed = time.monotonic() - started
    assert 2 <= elapsed < 4
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (WebhookDeliveryStatus.PENDING, 1, None)
    assert delivery.last_error == "TimeoutError: no complete answer within 2 s"


class TricklingProxy:
    """A proxy that reads a CONNECT and answers it one byte every ``every`` seconds."""

    def __init__(self, answer: bytes, every: float):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.connects: list[bytes] = []

        def serve():
            with contextlib.suppress(OSError):
                conn, _address = self.server.accept()
                with conn:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        request += conn.recv(4096)
                    self.connects.append(request.split(b"\r\n", 1)[0])
                    for index in range(len(answer)):
                        conn.sendall(answer[index:index + 1])
                        time.sleep(every)

        self.thread = threading.Thread(target=serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.close()
        self.thread.join(timeout=15)


@pytest.mark.django_db
def test_the_proxys_answer_to_connect_a_byte_at_a_time_has_the_timeout_in_all(endpoint, case, settings,
                                                                              monkeypatch):
    """An HTTPS receiver through the bank's proxy (``https_proxy``): the proxy's
    answer to CONNECT (about 8 s here, each byte within the timeout) was read
    before the exchange's deadline watched the connection."""
    settings.DISPUTE_WEBHOOK_TIMEOUT_SECONDS = 2
    for name in ("no_proxy", "NO_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with TricklingProxy(b"HTTP/1.1 200 Connection established\r\n\r\n", every=0.2) as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)
        endpoint.url = "https://hooks.callcenter.example/dd"
        endpoint.save()
        delivery = WebhookDelivery.objects.get()
        started = time.monotonic()
        assert webhooks.webhook_delivery_send(delivery_id=delivery.pk) is not None  # tried again later
        elapsed = time.monotonic() - started
    assert [line.rsplit(b" ", 1)[0] for line in proxy.connects] == [b"CONNECT hooks.callcenter.example:443"]
    assert 2 <= elapsed < 4
    delivery.refresh_from_db()
    assert delivery.last_error == "TimeoutError: no complete answer within 2 s"


@pytest.mark.django_db
@pytest.mark.parametrize("answer, said", [
    (b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 70000 + b"\r\n\r\nok",
     "LineTooLong: got more than 65536 bytes when reading header line"),
    (b"HTTP/1.1 2\x0000 OK\r\n\r\n", "BadStatusLine: HTTP/1.1 2 00 OK"),
])
def test_an_answer_that_is_not_http_is_a_failed_attempt_recorded_in_printable_words(endpoint, case, answer, said):
    """http.client's errors for such answers are not OSErrors: the attempt used to
    end in an exception, unrecorded, and was tried again at once, every time."""
    with Receiver(answer=answer) as receiver:
        endpoint.url = receiver.url
        endpoint.save()
        delivery = WebhookDelivery.objects.get()
        assert webhooks.webhook_delivery_send(delivery_id=delivery.pk) is not None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (WebhookDeliveryStatus.PENDING, 1, None)
    assert delivery.last_error == f"BadAnswer: the answer is not HTTP ({said})"


@pytest.mark.django_db
def test_a_delivery_not_yet_due_is_not_sent(endpoint, case):
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at + timedelta(hours=1))
    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk) is None
    assert WebhookDelivery.objects.get().attempts == 0


# --- a real worker, a real receiver ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_call_center_receives_every_state_change_signed(api, dave, erin, client, settings):
    settings.DEBUG = True
    with Receiver() as receiver, celery_worker_on_redis():
        webhooks.webhook_endpoint_register(name="call center", url=receiver.url, secret=SECRET)
        settings.DEBUG = False
        filed = api(dave).post(CASES, case_body(), format="json").json()
        api(dave).post(f"{CASES}{filed['reference']}/transitions/withdraw/", {}, format="json")

        received = receiver.wait_for(2)
        payloads = []
        for headers, body in received:
            assert webhooks.verify(secret=SECRET, header=headers["Dispute-Desk-Signature"], body=body)
            payloads.append(json.loads(body))
        payloads.sort(key=lambda p: p["version"])
        assert [(p["type"], p["transition"], p["from_state"], p["to_state"], p["version"]) for p in payloads] == [
            ("case.filed", None, None, "submitted", 1),
            ("case.transition", "withdraw", "submitted", "withdrawn", 2),
        ]
        assert {p["case"] for p in payloads} == {filed["reference"]}
        deadline = time.monotonic() + 10
        while WebhookDelivery.objects.exclude(status=WebhookDeliveryStatus.DELIVERED).exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)

        # The admin reads the log and sends one again.
        erin.is_staff = True
        erin.save()
        client.force_login(erin)
        log = client.get("/admin/disputes/webhookdelivery/")
        assert log.status_code == 200 and filed["reference"] in log.content.decode()
        first = WebhookDelivery.objects.order_by("id").first()
        response = client.post("/admin/disputes/webhookdelivery/",
                               {"action": "replay", "_selected_action": [first.pk]}, follow=True)
        assert response.status_code == 200
        headers, body = receiver.wait_for(3)[2]
        assert json.loads(body)["id"] == first.payload["id"]
        assert webhooks.verify(secret=SECRET, header=headers["Dispute-Desk-Signature"], body=body)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_is_retried_with_back_off_until_it_answers(settings):
    settings.DISPUTE_WEBHOOK_BACKOFF_SECONDS = 0.3
    settings.DEBUG = True
    with Receiver(fail_first=2) as receiver, celery_worker_on_redis():
        webhooks.webhook_endpoint_register(name="call center", url=receiver.url, secret=SECRET)
        settings.DEBUG = False
        case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data_for_service())

        received = receiver.wait_for(3)
        deadline = time.monotonic() + 10
        while WebhookDelivery.objects.get().status != WebhookDeliveryStatus.DELIVERED:
            assert time.monotonic() < deadline
            time.sleep(0.05)

    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 3
    assert [entry["status"] for entry in delivery.attempt_log] == [500, 500, 200]
    assert len({body for _headers, body in received}) == 1  # the same event each time
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_the_sweep_finds_deliveries_whose_task_was_lost(endpoint, case):
    delivery = WebhookDelivery.objects.get()
    assert webhooks.webhook_deliveries_due() == []  # just written: its task is on its way
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at - timedelta(minutes=5))
    assert webhooks.webhook_deliveries_due() == [delivery.pk]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDeliveryStatus.DELIVERED)
    assert webhooks.webhook_deliveries_due() == []
