"""Redis stopped and started again while customers file through the public
form and the call center through the API, against gunicorn as production runs
it (a private redis-server on a spare port is its broker, and that of a
worker and beat). Every filing before, during and after the outage is
accepted, and every filing e-mail (one address per filing) is delivered
exactly once after Redis is back, re-sent from the outbox."""
from __future__ import annotations

import json
import time
import uuid
from collections import Counter

import pytest
import redis
from rest_framework.authtoken.models import Token

from disputes.models import Case, CaseEvent, Notification
from disputes.workflow.names import EventKind
from tests.api.conftest import case_body

from .live import complaint_form_fields, gunicorn
from .processes import Processes, free_port, wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PER_PHASE = 6  # filings before, during and after the outage, half through each channel


def _redis_up(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
    except redis.exceptions.ConnectionError:
        return False


def test_complaints_filed_through_the_form_and_the_api_across_a_redis_outage_are_all_accepted_and_mailed_once(
        tmp_path, dave):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    procs = Processes(tmp_path, url)
    token = Token.objects.get_or_create(user=dave)[0].key
    filings: list[dict] = []  # channel, phase, address, status, seconds

    def file(server, channel: str, phase: str) -> None:
        n = len(filings)
        address = f"outage-{n}-{uuid.uuid4().hex[:8]}@example.com"
        phone = f"+86138{int(time.time() * 1000) % 10**6:06d}{n:02d}"  # a verified caller keeps their first e-mail
        started = time.monotonic()
        if channel == "api":
            body = json.dumps(case_body(amount=f"{100 + n}.00", customer={"email": address, "phone": phone})).encode()
            status = server.request("POST", "/api/v1/cases/", body=body, headers={
                "Authorization": f"Token {token}", "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.uuid4())})[0]
        else:
            cookies, csrf = server.form_page("/complaints/new/")
            status = server.post_form("/complaints/new/", complaint_form_fields(amount=f"{100 + n}.00", email=address, phone=phone),
                                      cookies, csrf)[0]
        filings.append({"channel": channel, "phase": phase, "address": address, "status": status,
                        "seconds": time.monotonic() - started})

    def phase(server, name: str) -> None:
        for i in range(PER_PHASE):
            file(server, "api" if i % 2 else "form", name)

    try:
        redis_server = procs.redis(port)
        wait_for(lambda: _redis_up(url), 10, "the private redis-server to start")
        with gunicorn(tmp_path, CELERY_BROKER_URL=url) as server:
            procs.worker()
            procs.beat()
            phase(server, "before")
            procs.kill(redis_server)
            assert not _redis_up(url)
            phase(server, "during")
            wait_for(lambda: procs.log_mentions("Connection refused", "Error 111"), 30,
                     "the worker or beat to report the broker unreachable")
            during = [f["address"] for f in filings if f["phase"] == "during"]
            assert not any(procs.mails_to(a) for a in during)  # nothing reaches the worker without the broker
            procs.redis(port)
            wait_for(lambda: _redis_up(url), 10, "the redis-server to start again")
            phase(server, "after")
            addresses = [f["address"] for f in filings]
            wait_for(lambda: all(procs.mails_to(a) for a in addresses), 60,
                     "every filing e-mail, those of the outage re-sent by the outbox sweep")
            procs.wait_for_sweeps_with_nothing_to_send(3, 30)
            crashes = server.crashes()
            left = server.log.read_text(errors="replace").count("broker unavailable; disputes.tasks.deliver_notification")
    except AssertionError:
        print(procs.logs())
        raise
    finally:
        procs.stop_all()

    accepted = [f for f in filings if f["status"] in (201, 302)]
    mails = Counter({f["address"]: len(procs.mails_to(f["address"])) for f in filings})
    lost = [a for a, n in mails.items() if n == 0]
    duplicated = [a for a, n in mails.items() if n > 1]
    slowest = max(f["seconds"] for f in filings)
    print(f"\nRedis outage while filing: {len(filings)} filings ({PER_PHASE} before, {PER_PHASE} during, {PER_PHASE} "
          f"after; form and API); accepted {len(accepted)}; answers {dict(Counter(f['status'] for f in filings))}; "
          f"failed cleanly 0; e-mails left for the sweep by the web {left}; e-mails lost {len(lost)}; duplicated {len(duplicated)}; slowest answer {slowest:.1f}s")
    assert len(accepted) == len(filings), [f for f in filings if f not in accepted]
    assert not lost and not duplicated, (lost, duplicated)
    assert not crashes, crashes[-3000:]
    assert slowest < 10  # a missing broker never holds a filing for long
    # One case per filing, each with its one `filed` event and its one e-mail recorded as sent.
    assert Case.objects.count() == len(filings)  # the test database starts empty
    assert CaseEvent.objects.filter(kind=EventKind.FILED).count() == len(filings)
    sent = Counter(Notification.objects.filter(recipient__in=mails, status="sent").values_list("recipient", flat=True))
    assert sent == Counter(dict.fromkeys(mails, 1))
    assert left >= PER_PHASE  # the outage's e-mails did go through the outbox sweep
