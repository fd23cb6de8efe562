"""Exactly once, with the real thing: a Celery worker and beat on a private
Redis, the HttpGateway against a local payment stub (tests/refunds/payment_stub.py)
that counts payments. A gateway failure then a supervisor's retry pays once; a
worker SIGKILLed while the bank holds its answer, then restarted, pays once; two
supervisors approving at the same moment pay once."""
import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.celery import app as celery_app
from disputes.models import Case, CaseEvent, Refund, RefundStatus
from disputes.refunds.payment import refund_retry
from disputes.workflow.names import EventKind, State
from disputes.workflow.steps import case_transition
from tests.reliability.processes import Processes, free_port, wait_for

from .payment_stub import PaymentStub

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SECRET = "stub-secret-for-tests"


def _point_celery_at(url: str) -> None:
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = {"visibility_timeout": 3600}
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def bank(tmp_path):
    """The stub, a private redis-server, and this process publishing to it; ``bank.worker()`` / ``bank.beat()``."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    saved = celery_app.conf.broker_url
    with PaymentStub(SECRET) as stub:
        procs = Processes(tmp_path, url, DISPUTE_REFUND_GATEWAY="disputes.refunds.gateways.HttpGateway",
                          DISPUTE_REFUND_GATEWAY_URL=stub.url, DISPUTE_REFUND_GATEWAY_SECRET=SECRET,
                          DISPUTE_REFUND_GATEWAY_TIMEOUT="45")
        procs.redis(port)
        _point_celery_at(url)
        wait_for(lambda: _ping(url), 10, "redis-server to start")
        procs.stub = stub
        try:
            yield procs
        finally:
            procs.stop_all()
            _point_celery_at(saved)


def _ping(url: str) -> bool:
    import redis

    try:
        return redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
    except redis.exceptions.ConnectionError:
        return False


def _proposed(file_case, alice, amount="100.00") -> Case:
    case = file_case()
    case = case_transition(case=case, name="start_verification", actor=alice)
    return case_transition(case=case, name="propose_refund", actor=alice, amount=Decimal(amount))


def _refunded_once(case: Case) -> None:
    stored = Case.objects.get(pk=case.pk)
    assert stored.state == State.REFUNDED
    assert CaseEvent.objects.filter(case=case, kind=EventKind.TRANSITION, to_state=State.REFUNDED).count() == 1
    assert CaseEvent.objects.filter(case=case, kind=EventKind.REFUND, payload__has_key="execution_reference").count() == 1
    refund = Refund.objects.get(case=case)
    assert refund.status == RefundStatus.EXECUTED and refund.execution_reference.startswith("BANK")


def test_a_gateway_failure_then_a_retry_pays_once(bank, file_case, alice, bob):
    case = _proposed(file_case, alice)
    bank.stub.fail_next = 1
    bank.worker()
    try:
        case_transition(case=case, name="approve_refund", actor=bob)
        wait_for(lambda: Refund.objects.filter(case=case, status=RefundStatus.FAILED).exists(), 40,
                 "the failed payment to be recorded")
        refund = Refund.objects.get(case=case)
        assert "HTTP 500" in refund.last_error and refund.attempts == 1
        assert Case.objects.get(pk=case.pk).state == State.REFUND_PENDING
        assert CaseEvent.objects.filter(case=case, kind=EventKind.REFUND, payload__error=refund.last_error).exists()
        assert bank.stub.paid == 0

        refund_retry(case=case, actor=bob)
        wait_for(lambda: Refund.objects.filter(case=case, status=RefundStatus.EXECUTED).exists(), 40,
                 "the retried payment")
    except AssertionError:
        print(bank.logs())
        raise
    _refunded_once(case)
    assert bank.stub.paid == 1 and bank.stub.paid_amounts() == ["100.00"]
    assert bank.stub.refused == 0  # every request was signed right


def test_a_worker_killed_while_the_bank_holds_its_answer_pays_once_after_a_restart(bank, file_case, alice, bob):
    case = _proposed(file_case, alice)
    bank.stub.hang = True  # the bank pays, then holds its answer
    worker = bank.worker()
    bank.beat()  # the outbox sweep re-sends what a dead worker left being paid
    try:
        case_transition(case=case, name="approve_refund", actor=bob)
        wait_for(bank.stub.hanging.is_set, 40, "the worker's payment request to reach the bank")
        assert bank.stub.paid == 1
        bank.kill(worker)  # SIGKILL, mid-payment: its transaction never commits
        wait_for(lambda: Refund.objects.filter(case=case, status=RefundStatus.PAYING).exists(), 10,
                 "the refund to be left being paid")
        assert Case.objects.get(pk=case.pk).state == State.REFUND_PENDING
        bank.stub.release()
        bank.worker()
        wait_for(lambda: Refund.objects.filter(case=case, status=RefundStatus.EXECUTED).exists(), 60,
                 "the new worker to finish the payment")
        bank.wait_for_sweeps_with_nothing_to_send(3, 30)
    except AssertionError:
        print(bank.logs())
        raise
    _refunded_once(case)
    refund = Refund.objects.get(case=case)
    assert bank.stub.paid == 1  # the second request, same key, got the first payment's reference
    assert refund.execution_reference == "BANK00000001" and refund.attempts >= 2


def test_two_supervisors_approving_at_the_same_moment_pay_once(bank, file_case, alice, bob, carol):
    case = _proposed(file_case, alice)
    bank.worker()
    tokens = {user.username: Token.objects.create(user=user).key for user in (bob, carol)}
    barrier = threading.Barrier(2)
    statuses = {}

    def approve(username: str) -> None:
        client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[username]}")
        try:
            barrier.wait(5)
            statuses[username] = client.post(f"/api/v1/cases/{case.reference}/transitions/approve_refund/",
                                             {}, format="json").status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(name,)) for name in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert sorted(statuses.values()) == [200, 409], statuses
        wait_for(lambda: Refund.objects.filter(case=case, status=RefundStatus.EXECUTED).exists(), 40,
                 "the payment")
    except AssertionError:
        print(bank.logs())
        raise
    _refunded_once(case)
    assert bank.stub.paid == 1
    assert CaseEvent.objects.filter(case=case, transition="approve_refund", to_state=State.REFUND_PENDING).count() == 1
