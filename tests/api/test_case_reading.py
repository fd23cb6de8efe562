"""GET a case and its events: what the caller may do next, the version as ETag."""
import pytest

from disputes.workflow.casework import case_add_note
from disputes.workflow.steps import case_transition
from disputes.models import Case

from .conftest import CASES, assert_problem

pytestmark = pytest.mark.django_db


def test_it_shows_the_case_with_the_callers_own_transitions(api, dave, alice, filed):
    url = f"{CASES}{filed['reference']}/"
    as_dave = api(dave).get(url)
    as_alice = api(alice).get(url)

    assert as_dave.status_code == 200
    assert as_dave.json()["allowed_transitions"] == ["withdraw"]
    assert as_alice.json()["allowed_transitions"] == ["start_verification", "withdraw"]
    assert as_dave["ETag"] == '"1"' and as_dave.json()["version"] == 1


def test_an_unknown_reference_is_404(api, dave):
    assert_problem(api(dave).get(f"{CASES}DD000000-NOSUCH/"), 404)


def test_the_events_are_the_cases_trail_oldest_first(api, dave, alice, filed):
    case = Case.objects.get(reference=filed["reference"])
    case_transition(case=case, name="start_verification", actor=alice, note="checking")
    case_add_note(case=case, actor=dave, body="客户来电询问进度")

    response = api(dave).get(f"{CASES}{filed['reference']}/events/")

    assert response.status_code == 200
    events = response.json()["results"]
    assert [e["kind"] for e in events] == ["filed", "transition", "note"]
    assert events[1]["transition"] == "start_verification"
    assert (events[1]["from_state"], events[1]["to_state"], events[1]["actor"]) == ("submitted", "verifying", "alice")
    assert events[2]["message"] == "客户来电询问进度"


def test_events_of_an_unknown_case_are_404(api, dave):
    assert_problem(api(dave).get(f"{CASES}DD000000-NOSUCH/events/"), 404)


def test_an_events_page_costs_a_fixed_number_of_queries(api, dave, alice, filed, django_assert_max_num_queries):
    case = Case.objects.get(reference=filed["reference"])
    for i in range(20):
        case_add_note(case=case, actor=alice, body=f"note {i}")
    client = api(dave)
    with django_assert_max_num_queries(7):
        response = client.get(f"{CASES}{filed['reference']}/events/?page_size=50")
    assert len(response.json()["results"]) == 21


def test_a_case_shows_its_sla_clocks_and_an_ended_one_none(api, dave, filed):
    url = f"{CASES}{filed['reference']}/"
    clocks = api(dave).get(url).json()["clocks"]
    assert clocks["status"] == "on_track"
    assert clocks["stage"]["due_at"] and clocks["stage"]["time_left_seconds"] > 0
    assert clocks["final"]["due_at"]
    assert filed["clocks"]["stage"]["status"] == "on_track"  # on creation too

    withdrawn = api(dave).post(f"{url}transitions/withdraw/", {}, format="json").json()
    assert withdrawn["clocks"] is None  # as docs/api.md says: null once the case has ended
