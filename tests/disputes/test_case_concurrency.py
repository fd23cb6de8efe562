"""Two database connections race on one case: exactly one wins, one event."""
import threading

import pytest
from django.db import connection

from disputes.workflow.steps import case_transition
from disputes.workflow.errors import StaleCase
from disputes.models import Case, CaseEvent
from disputes.workflow.names import EventKind, State
from tests.disputes.workflow import bring_to

pytestmark = pytest.mark.django_db(transaction=True)


def _race(case_pk: int, attempts: list[tuple[str, object, dict]]) -> list[object]:
    """Each attempt runs in its own thread (so its own connection); all read the
    case, wait until every one has read it, then try their transition at once."""
    barrier = threading.Barrier(len(attempts))
    results: list[object] = [None] * len(attempts)

    def run(index: int, name: str, actor, inputs: dict) -> None:
        try:
            stale_copy = Case.objects.get(pk=case_pk)
            barrier.wait(timeout=10)
            case_transition(case=stale_copy, name=name, actor=actor, **inputs)
            results[index] = "ok"
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, *attempt)) for i, attempt in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.parametrize("round_", range(5))
def test_the_same_transition_twice_at_once_happens_once(case, alice, bob, round_):
    results = _race(case.pk, [("start_verification", alice, {}), ("start_verification", bob, {})])

    assert sorted(map(str, results)).count("ok") == 1, results
    assert sum(isinstance(r, StaleCase) for r in results) == 1, results
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.version) == (State.VERIFYING, 2)
    assert CaseEvent.objects.filter(case=case, kind=EventKind.TRANSITION).count() == 1


def test_two_different_transitions_from_the_same_state_one_wins(case, alice, bob, carol, dave, erin, mallory, system):
    cast = {"alice": alice, "bob": bob}
    case = bring_to(case, State.VERIFYING, cast)
    results = _race(case.pk, [("confirm_debit", alice, {}), ("reject", bob, {"reason": "no debit"})])

    assert results.count("ok") == 1, results
    assert sum(isinstance(r, StaleCase) for r in results) == 1, results
    stored = Case.objects.get(pk=case.pk)
    events = CaseEvent.objects.filter(case=case, kind=EventKind.TRANSITION).order_by("id")
    assert [e.transition for e in events] == ["start_verification", "confirm_debit" if results[0] == "ok" else "reject"]
    assert stored.state == events.last().to_state
    assert stored.version == 3
