"""A Celery worker SIGKILLed in the middle of a customer notification and in
the middle of a webhook delivery, then started again: nothing is lost, the
e-mail is sent once, and the webhook arrives again under the same delivery id
(at-least-once, as docs/api.md §11 promises: the receiver de-duplicates on the
event id) and is recorded delivered once.

A private redis-server is the broker; the worker is killed with its pool child
(the whole process group), so its unacknowledged message stays with Redis for
the visibility timeout (an hour): only the outbox sweeps, run every second by
beat here, can bring the work back."""
from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from django.test import override_settings

from disputes.delivery import webhooks
from disputes.models import CaseEvent, Notification, WebhookDelivery, WebhookDeliveryStatus
from disputes.workflow.names import EventKind

from .processes import Processes, celery_publishing_to, free_port, wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CUSTOMER = "killed-mid-send@example.com"
SECRET = "worker-killed-test-secret-0123456789"


def _redis_up(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
    except redis.exceptions.ConnectionError:
        return False


@pytest.fixture
def processes(tmp_path):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    gate = tmp_path / "gate"
    gate.mkdir()
    procs = Processes(tmp_path, url, DISPUTE_TEST_MAIL_GATE=str(gate), DISPUTE_TEST_MAIL_GATED=CUSTOMER)
    procs.gate = gate
    procs.redis(port)
    try:
        wait_for(lambda: _redis_up(url), 10, "the private redis-server to start")
        with celery_publishing_to(url):
            yield procs
    finally:
        procs.stop_all()


def test_a_customer_email_is_sent_once_when_the_worker_is_killed_while_sending_it(processes, file_case):
    worker = processes.worker()
    processes.beat()
    try:
        case = file_case(email=CUSTOMER)
        notification = Notification.objects.get(case=case, recipient=CUSTOMER)
        # The worker is inside send_mail for the filing e-mail, held by the gate.
        wait_for(lambda: list(processes.gate.glob("waiting-*")), 40, "the worker to start sending the filing e-mail")
        processes.kill(worker)
        assert processes.mails_to(CUSTOMER) == []
        wait_for(lambda: Notification.objects.filter(pk=notification.pk, status="pending").exists(), 10,
                 "the killed worker's transaction to roll back")

        (processes.gate / "open").touch()
        processes.worker()
        wait_for(lambda: Notification.objects.filter(pk=notification.pk, status="sent").exists(), 40,
                 "the outbox sweep to re-send the e-mail through the new worker")
        processes.wait_for_sweeps_with_nothing_to_send(3, 30)
    except AssertionError:
        print(processes.logs())
        raise
    delivered = len(processes.mails_to(CUSTOMER))
    recorded = CaseEvent.objects.filter(case=case, kind=EventKind.NOTIFICATION).count()
    print(f"\nworker killed mid e-mail: 1 e-mail asked for; delivered {delivered}; recorded sent {recorded}; "
          f"lost {int(delivered == 0)}; duplicated {max(delivered - 1, 0)}")
    assert delivered == 1
    assert recorded == 1
    assert Notification.objects.filter(case=case, recipient=CUSTOMER).count() == 1


class Receiver:
    """The call center's endpoint: a local HTTP server that keeps every request
    and holds the first one until the test says so."""

    def __init__(self):
        self.requests: list[dict] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    first = len(receiver.requests) == 1
                if first:
                    receiver.first_arrived.set()
                    receiver.release.wait(60)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:
                    pass  # the sender was killed while it waited

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, header: str) -> Counter:
        with self.lock:
            return Counter(r["headers"].get(header) for r in self.requests)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def test_a_webhook_interrupted_by_a_killed_worker_is_delivered_again_and_recorded_once(processes, receiver, file_case):
    with override_settings(DEBUG=True):  # a plain-HTTP receiver on 127.0.0.1; production requires https
        webhooks.webhook_endpoint_register(name="call center", url=receiver.url, secret=SECRET)
    worker = processes.worker()
    processes.beat()
    try:
        case = file_case(email="")
        delivery = WebhookDelivery.objects.get(event__case=case)
        assert receiver.first_arrived.wait(40), "the worker never posted the webhook"
        processes.kill(worker)  # while the receiver holds the request, before it answers
        receiver.release.set()
        # The attempt died with the worker: the row is still pending, no attempt recorded.
        wait_for(lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="pending", attempts=0).exists(), 10,
                 "the killed worker's transaction to roll back")

        processes.worker()
        wait_for(lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="delivered").exists(), 40,
                 "the webhook sweep to re-send the delivery through the new worker")
        # Later sweeps (every second) find nothing due: no further request arrives.
        already = len(processes.task_results("disputes.tasks.sweep_webhooks"))
        wait_for(lambda: processes.task_results("disputes.tasks.sweep_webhooks")[already:].count("0") >= 3, 30,
                 "3 more webhook sweeps that find nothing to send")
    except AssertionError:
        print(processes.logs())
        raise

    by_delivery = receiver.count(webhooks.DELIVERY_HEADER)
    events = Counter(json.loads(r["body"])["id"] for r in receiver.requests)
    delivery.refresh_from_db()
    print(f"\nworker killed mid webhook: 1 event; requests received {len(receiver.requests)} "
          f"(by delivery id {dict(by_delivery)}); recorded delivered {int(delivery.status == 'delivered')} "
          f"after {delivery.attempts} recorded attempt(s); lost {int(not by_delivery)}; "
          f"duplicated (same delivery id, de-duplicated by the receiver) {sum(by_delivery.values()) - len(by_delivery)}")
    # At least once, always under the one delivery id and the one event id, each request correctly signed.
    assert set(by_delivery) == {str(delivery.pk)} and by_delivery[str(delivery.pk)] == 2
    assert set(events) == {delivery.event_id}
    assert all(webhooks.verify(secret=SECRET, header=r["headers"][webhooks.SIGNATURE_HEADER], body=r["body"])
               for r in receiver.requests)
    # The killed attempt was never recorded: the one that succeeded is attempt 1, made again under its id.
    assert [r["headers"][webhooks.ATTEMPT_HEADER] for r in receiver.requests] == [f"{delivery.pk}-1"] * 2
    # Recorded delivered exactly once.
    assert delivery.status == WebhookDeliveryStatus.DELIVERED and delivery.attempts == 1
    assert [entry["status"] for entry in delivery.attempt_log] == [200]
    assert WebhookDelivery.objects.filter(event__case=case).count() == 1
