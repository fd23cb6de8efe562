"""Against a live (threaded) server and real PostgreSQL: fifty agents press the
same button on one case at the same instant. One wins; every other one gets a
clear 409 or 412 problem, never a 500, and the case has one transition event."""
import threading

import pytest

from disputes.models import Case, CaseEvent
from disputes.workflow.names import EventKind, State

from .conftest import http

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True), pytest.mark.slow]

CLIENTS = 50


def _fire(url: str, token: str, headers: dict | None = None) -> list:
    barrier = threading.Barrier(CLIENTS)
    results: list = [None] * CLIENTS

    def post(index: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[index] = http("POST", url, token=token, body={}, headers=headers)
        except Exception as exc:  # noqa: BLE001 - a dropped connection is a failure the test reports
            results[index] = (None, {}, repr(exc))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _assert_one_winner(results: list, case: Case, losing_statuses: set[int]) -> None:
    statuses = [status for status, _headers, _body in results]
    assert statuses.count(200) == 1, statuses
    losers = [(status, headers, body) for status, headers, body in results if status != 200]
    assert {status for status, _h, _b in losers} <= losing_statuses, statuses
    for _status, headers, body in losers:
        assert headers["Content-Type"].startswith("application/problem+json"), body
        assert body["detail"], body
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.version) == (State.VERIFYING, 2)
    assert CaseEvent.objects.filter(case=case, kind=EventKind.TRANSITION).count() == 1


def test_fifty_simultaneous_start_verifications_make_one_transition(live_server, case, alice, token_of):
    url = f"{live_server.url}/api/v1/cases/{case.reference}/transitions/start_verification/"

    results = _fire(url, token_of(alice))

    _assert_one_winner(results, case, {409})


def test_with_if_match_the_losers_get_412(live_server, case, alice, token_of):
    url = f"{live_server.url}/api/v1/cases/{case.reference}/transitions/start_verification/"

    results = _fire(url, token_of(alice), headers={"If-Match": f'"{case.version}"'})

    _assert_one_winner(results, case, {409, 412})
