"""With the broker (Redis) down, filing and transitions still succeed — the
database is the source of truth — and their e-mails go out once Redis is back,
re-sent from the Notification outbox by beat's sweep."""
import time

import pytest
import redis

from config.celery import app as celery_app
from disputes.workflow.steps import case_transition
from disputes.models import Notification

from .processes import Processes, free_port, wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CUSTOMER_EMAIL = "zhang@example.com"


def _point_celery_at(url: str, transport_options: dict) -> None:
    """Make this process publish to ``url`` (the app caches its connection pools)."""
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = transport_options
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def private_redis(tmp_path):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    procs = Processes(tmp_path, url)
    saved = (celery_app.conf.broker_url, dict(celery_app.conf.broker_transport_options or {}))
    _point_celery_at(url, {"visibility_timeout": 3600})
    procs.port, procs.url = port, url
    yield procs
    procs.stop_all()
    _point_celery_at(*saved)


def _redis_up(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
    except redis.exceptions.ConnectionError:
        return False


def test_filing_and_transitions_succeed_without_redis_and_their_emails_follow_when_it_is_back(private_redis, file_case, alice):
    procs = private_redis
    server = procs.redis(procs.port)
    wait_for(lambda: _redis_up(procs.url), 10, "redis-server to start")
    procs.worker()
    procs.beat()
    try:
        procs.kill(server)  # Redis goes away under the running worker and beat
        assert not _redis_up(procs.url)

        started = time.monotonic()
        case = file_case(email=CUSTOMER_EMAIL)
        case = case_transition(case=case, name="start_verification", actor=alice)
        assert time.monotonic() - started < 10  # a missing broker never blocks the request for long
        assert case.state == "verifying"
        pending = list(Notification.objects.filter(case=case).values_list("pk", flat=True))
        assert len(pending) == 2 and Notification.objects.filter(pk__in=pending, status="pending").count() == 2
        # The worker and beat have noticed the broker is gone (and kept running): still no e-mail.
        wait_for(lambda: procs.log_mentions("Connection refused", "Error 111"), 30,
                 "the worker or beat to report the broker unreachable")
        assert procs.mails_to(CUSTOMER_EMAIL) == []

        procs.redis(procs.port)  # Redis is back on the same port
        wait_for(lambda: Notification.objects.filter(pk__in=pending, status="sent").count() == 2, 45,
                 "the worker and beat to reconnect and the outbox sweep to re-send the e-mails")
        procs.wait_for_sweeps_with_nothing_to_send(3, 30)  # later sweeps find nothing left to re-send
    except AssertionError:
        print(procs.logs())
        raise
    assert len(procs.mails_to(CUSTOMER_EMAIL)) == 2
