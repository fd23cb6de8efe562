"""Against a live server and real PostgreSQL: twenty identical POSTs at once
make one case and get one answer; a request arriving while the first with its
key still runs gets 409 once it has waited long enough."""
import threading
import time

import pytest
from django.db import connection, transaction

from disputes.api.idempotency import idempotency_begin
from disputes.models import Case

from .conftest import case_body, http

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_twenty_simultaneous_identical_posts_make_one_case(live_server, dave, token_of):
    token = token_of(dave)
    body = case_body()
    barrier = threading.Barrier(20)
    results: list = [None] * 20

    def post(index: int) -> None:
        barrier.wait(timeout=10)
        results[index] = http("POST", f"{live_server.url}/api/v1/cases/", token=token, body=body,
                              headers={"Idempotency-Key": "one-complaint"})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert Case.objects.count() == 1
    statuses = [status for status, _headers, _body in results]
    assert statuses == [201] * 20, statuses
    bodies = [body for _status, _headers, body in results]
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["reference"] == Case.objects.get().reference
    assert sum(1 for _s, headers, _b in results if headers.get("Idempotent-Replayed") == "true") == 19


def test_a_request_while_the_first_still_runs_is_409(live_server, dave, token_of, settings):
    settings.DISPUTE_IDEMPOTENCY_WAIT_SECONDS = 0.5
    token = token_of(dave)
    holding, release = threading.Event(), threading.Event()

    def first_request_still_running() -> None:
        try:
            with transaction.atomic():
                fingerprint = "x"  # what the first request's body hashed to does not matter here
                idempotency_begin(user=dave, key="slow", fingerprint=fingerprint)
                holding.set()
                release.wait(timeout=30)
                transaction.set_rollback(True)  # the first request fails: its key is released
        finally:
            connection.close()

    first = threading.Thread(target=first_request_still_running)
    first.start()
    assert holding.wait(timeout=10)
    try:
        started = time.monotonic()
        status, headers, body = http("POST", f"{live_server.url}/api/v1/cases/", token=token, body=case_body(),
                                     headers={"Idempotency-Key": "slow"})
        waited = time.monotonic() - started
    finally:
        release.set()
        first.join(timeout=30)

    assert status == 409, body
    assert headers["Content-Type"].startswith("application/problem+json")
    assert body["type"] == "urn:dispute-desk:problem:idempotency-in-progress"
    assert waited >= 0.5
    assert not Case.objects.exists()
    # the first gave up: now the key is free and a retry files the case
    status, _headers, _body = http("POST", f"{live_server.url}/api/v1/cases/", token=token, body=case_body(),
                                   headers={"Idempotency-Key": "slow"})
    assert status == 201
