"""POST /api/v1/cases/{reference}/transitions/{name}/: every status code of docs/design.md ("REST API v1")."""
import pytest

from disputes.models import Case, CaseEvent
from disputes.workflow.names import EventKind, State
from tests.disputes.workflow import bring_to

from .conftest import CASES, assert_problem

pytestmark = pytest.mark.django_db


def url(case, name: str) -> str:
    return f"{CASES}{case.reference}/transitions/{name}/"


@pytest.fixture
def cast(alice, bob, carol, dave):
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave}


def test_the_call_center_withdraws_on_the_customers_behalf(api, dave, case):
    response = api(dave).post(url(case, "withdraw"), {"note": "客户来电撤诉"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["state"] == State.WITHDRAWN
    assert response.json()["version"] == 2
    assert response["ETag"] == '"2"'
    event = CaseEvent.objects.get(case=case, kind=EventKind.TRANSITION)
    assert (event.transition, event.actor_label, event.message) == ("withdraw", "dave", "客户来电撤诉")


@pytest.mark.parametrize("name", ["start_verification", "propose_refund", "approve_refund", "reject", "close"])
def test_the_call_center_may_not_work_cases_nor_touch_refunds(api, dave, case, cast, name):
    case = bring_to(case, State.REFUND_PENDING if name == "approve_refund" else State.VERIFYING, cast)
    body = assert_problem(api(dave).post(url(case, name), {"amount": "10.00", "reason": "x"}, format="json"), 403)
    assert body["type"] == "urn:dispute-desk:problem:forbidden"
    assert Case.objects.get(pk=case.pk).version == case.version


def test_an_unknown_transition_is_404(api, alice, case):
    assert_problem(api(alice).post(url(case, "teleport"), {}, format="json"), 404)


def test_a_step_not_possible_from_the_current_state_is_409(api, alice, case):
    body = assert_problem(api(alice).post(url(case, "confirm_debit"), {}, format="json"), 409)
    assert body["type"] == "urn:dispute-desk:problem:transition-not-available"
    assert Case.objects.get(pk=case.pk).state == State.SUBMITTED


def test_withdrawing_twice_is_409_the_second_time(api, dave, case):
    assert api(dave).post(url(case, "withdraw"), {}, format="json").status_code == 200
    assert_problem(api(dave).post(url(case, "withdraw"), {}, format="json"), 409)


def test_approving_ones_own_proposal_is_403(api, bob, case, cast):
    case = bring_to(case, State.MERCHANT_CONTACT, cast)
    assert api(bob).post(url(case, "propose_refund"), {"amount": "50.00"}, format="json").status_code == 200
    assert_problem(api(bob).post(url(case, "approve_refund"), {}, format="json"), 403)
    approved = api(cast["carol"]).post(url(case, "approve_refund"), {}, format="json").json()
    # Approved, its payment queued: refunded once the gateway has paid (tests/refunds/).
    assert (approved["state"], approved["allowed_transitions"]) == (State.REFUND_PENDING, [])


def test_reject_without_a_reason_is_400(api, alice, case, cast):
    case = bring_to(case, State.VERIFYING, cast)
    body = assert_problem(api(alice).post(url(case, "reject"), {"note": "no"}, format="json"), 400)
    assert "reason" in body["errors"]
    assert Case.objects.get(pk=case.pk).state == State.VERIFYING


@pytest.mark.parametrize("amount", ["128.51", "0", "abc"])
def test_a_refund_above_the_disputed_amount_or_not_an_amount_is_400(api, alice, case, cast, amount):
    case = bring_to(case, State.MERCHANT_CONTACT, cast)
    body = assert_problem(api(alice).post(url(case, "propose_refund"), {"amount": amount}, format="json"), 400)
    assert "amount" in body["errors"]
    assert Case.objects.get(pk=case.pk).state == State.MERCHANT_CONTACT


def test_if_match_with_the_current_version_goes_through(api, alice, case):
    read = api(alice).get(f"{CASES}{case.reference}/")
    response = api(alice).post(url(case, "start_verification"), {}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert response.status_code == 200
    assert response["ETag"] == '"2"'


def test_if_match_with_a_stale_version_is_412_and_nothing_changes(api, alice, dave, case):
    etag = api(dave).get(f"{CASES}{case.reference}/")["ETag"]
    assert api(alice).post(url(case, "start_verification"), {}, format="json").status_code == 200

    body = assert_problem(api(dave).post(url(case, "withdraw"), {}, format="json", HTTP_IF_MATCH=etag), 412)

    assert body["type"] == "urn:dispute-desk:problem:stale-version"
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.version) == (State.VERIFYING, 2)
    assert CaseEvent.objects.filter(case=case, transition="withdraw").count() == 0


@pytest.mark.parametrize("header", ['W/"7"', '"junk"'])
def test_if_match_naming_no_current_version_is_412(api, dave, case, header):
    assert_problem(api(dave).post(url(case, "withdraw"), {}, format="json", HTTP_IF_MATCH=header), 412)
    assert Case.objects.get(pk=case.pk).state == State.SUBMITTED
