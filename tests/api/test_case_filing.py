"""POST /api/v1/cases/: the call center files a complaint."""
from decimal import Decimal

import pytest

from disputes.models import Case, CaseEvent
from disputes.workflow.tracking import tracking_code_matches
from disputes.workflow.names import Channel, EventKind, State

from .conftest import CASES, assert_problem, case_body

pytestmark = pytest.mark.django_db


def test_it_files_a_case_and_answers_with_what_the_call_center_needs(api, dave):
    response = api(dave).post(CASES, case_body(), format="json")

    assert response.status_code == 201
    body = response.json()
    case = Case.objects.get(reference=body["reference"])
    assert body["state"] == State.SUBMITTED
    assert body["version"] == 1
    assert body["allowed_transitions"] == ["withdraw"]
    assert body["sla_due_at"] and body["final_due_at"]
    assert body["amount"] == "128.50" and body["currency"] == "CNY"
    assert body["customer"]["phone"] == "+8613800138000"
    assert body["card"] == {"scheme": "unionpay", "last4": "1234"}
    assert response["ETag"] == '"1"'
    assert response["Location"].endswith(f"/api/v1/cases/{case.reference}/")
    assert case.channel == Channel.API
    assert tracking_code_matches(case, body["tracking_code"])
    event = CaseEvent.objects.get(case=case)
    assert (event.kind, event.actor_label) == (EventKind.FILED, "dave")


def test_the_tracking_code_is_shown_only_on_creation(api, dave, filed):
    detail = api(dave).get(f"{CASES}{filed['reference']}/").json()
    assert "tracking_code" not in detail


def test_optional_slip_fields_may_be_left_out(api, dave):
    body = case_body()
    for field in ("merchant_name", "merchant_id", "terminal_id", "rrn", "stan", "auth_code", "description", "card_scheme"):
        body.pop(field)
    body["customer"].pop("email")
    response = api(dave).post(CASES, body, format="json")
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert {field: answer[field] for field in ("merchant_name", "merchant_id", "terminal_id", "rrn", "stan",
                                               "auth_code", "description")} == dict.fromkeys(
        ("merchant_name", "merchant_id", "terminal_id", "rrn", "stan", "auth_code", "description"), "")
    stored = Case.objects.select_related("customer", "card").get(reference=answer["reference"])
    assert (stored.merchant_name, stored.merchant_id, stored.terminal_id, stored.rrn, stored.stan,
            stored.auth_code, stored.description) == ("", "", "", "", "", "", "")
    assert stored.customer.email == ""
    assert (stored.amount, stored.currency, stored.card.last4) == (Decimal(body["amount"]), body["currency"],
                                                                   body["card_last4"])


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": 128.5}, "amount"),  # a float, not a decimal string
        ({"amount": "-3"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"card_last4": "12a4"}, "card_last4"),
        ({"merchant_id": "12345"}, "merchant_id"),
        ({"rrn": "1"}, "rrn"),
        ({"customer": {"phone": "call me"}}, "customer.phone"),
        ({"customer": {"email": "not-an-email"}}, "customer.email"),
        ({"customer": {"name": ""}}, "customer.name"),
        ({"transaction_at": "yesterday"}, "transaction_at"),
        ({"transaction_at": "2099-01-01T00:00:00+08:00"}, "transaction_at"),
        ({"transaction_at": "1214-06-29T13:28:32Z"}, "transaction_at"),
    ],
)
def test_bad_input_is_400_with_the_field_named_and_nothing_is_filed(api, dave, overrides, field):
    body = assert_problem(api(dave).post(CASES, case_body(**overrides), format="json"), 400)
    assert field in body["errors"], body
    assert body["errors"][field][0]
    assert not Case.objects.exists()


def test_missing_fields_are_each_named(api, dave):
    body = assert_problem(api(dave).post(CASES, {"customer": {}}, format="json"), 400)
    assert {"customer.name", "customer.phone", "card_last4", "amount", "transaction_at"} <= set(body["errors"])


def test_a_full_card_number_in_the_description_is_masked(api, dave):
    response = api(dave).post(CASES, case_body(description="卡号 6222 0212 3456 7890 128 被扣款"), format="json")
    assert response.status_code == 201
    assert "6222 0212 3456 7890 128" not in response.json()["description"]


@pytest.mark.parametrize("who", ["erin", "mallory"])
def test_roles_that_may_not_file_are_forbidden(api, request, who):
    assert_problem(api(request.getfixturevalue(who)).post(CASES, case_body(), format="json"), 403)
    assert not Case.objects.exists()


def test_a_body_that_is_not_json_is_400_or_415(api, dave):
    client = api(dave)
    assert_problem(client.post(CASES, "{not json", content_type="application/json"), 400)
    assert_problem(client.post(CASES, "a=b", content_type="application/x-www-form-urlencoded"), 415)
