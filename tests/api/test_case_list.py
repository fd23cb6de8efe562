"""GET /api/v1/cases/: filters, cursor pagination, a bounded number of queries."""
from datetime import timedelta

import pytest
from django.utils import timezone

from disputes.workflow.casework import case_assign
from disputes.workflow.steps import case_transition
from disputes.models import Case
from disputes.workflow.names import State

from .conftest import CASES, assert_problem

pytestmark = pytest.mark.django_db


def references(response) -> set[str]:
    assert response.status_code == 200, response.json()
    return {row["reference"] for row in response.json()["results"]}


@pytest.fixture
def three(file_case, alice, bob):
    a = file_case(phone="+8613800000001", card_last4="1111", merchant_id="103287654110281")
    b = file_case(phone="+8613800000002", card_last4="2222", merchant_id="")
    c = file_case(phone="+8613800000003", card_last4="3333", merchant_id="103287654110999")
    case_transition(case=b, name="start_verification", actor=alice)
    case_assign(case=b, actor=bob, assignee=alice)
    Case.objects.filter(pk=c.pk).update(sla_due_at=timezone.now() - timedelta(minutes=1))
    Case.objects.filter(pk=a.pk).update(created_at=timezone.now() - timedelta(days=3))
    return a, b, c


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", "abc"),
        ("state=submitted", "ac"),
        ("state=verifying&state=submitted", "abc"),
        ("assignee=alice", "b"),
        ("phone=%2B8613800000002", "b"),
        ("phone=%2B86 1380000 0002", "b"),
        ("card_last4=3333", "c"),
        ("merchant_id=103287654110281", "a"),
        ("overdue=true", "c"),
        ("overdue=false", "ab"),
        ("created_before={two_days_ago}", "a"),
        ("created_after={two_days_ago}", "bc"),
    ],
)
def test_each_filter(api, dave, three, query, expected):
    two_days_ago = (timezone.now() - timedelta(days=2)).isoformat().replace("+", "%2B")
    names = dict(zip("abc", (case.reference for case in three)))
    response = api(dave).get(f"{CASES}?{query.format(two_days_ago=two_days_ago)}")
    assert references(response) == {names[letter] for letter in expected}


def test_an_ended_case_past_its_deadline_is_not_overdue(api, dave, three):
    a, _b, c = three
    case_transition(case=Case.objects.get(pk=c.pk), name="withdraw", actor=dave)
    assert references(api(dave).get(f"{CASES}?overdue=true")) == set()


@pytest.mark.parametrize("query", ["state=nonsense", "created_after=tuesday", "overdue=maybe"])
def test_a_bad_filter_value_is_400(api, dave, query):
    body = assert_problem(api(dave).get(f"{CASES}?{query}"), 400)
    assert query.split("=")[0] in body["errors"]


def test_cursor_pagination_walks_every_case_once_newest_first(api, dave, file_case):
    filed = [file_case(phone=f"+86138000001{i:02d}") for i in range(7)]
    client = api(dave)
    seen, url = [], f"{CASES}?page_size=3"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 3
        seen += [row["reference"] for row in page["results"]]
        url = page["next"]
    assert seen == [case.reference for case in reversed(filed)]


def test_a_broken_cursor_is_400_naming_the_cursor(api, dave):
    body = assert_problem(api(dave).get(f"{CASES}?cursor=garbage"), 400)
    assert list(body["errors"]) == ["cursor"]


def test_a_list_page_costs_a_fixed_number_of_queries(api, dave, alice, bob, file_case, django_assert_max_num_queries):
    for i in range(30):
        case = file_case(phone=f"+86139000000{i:02d}", card_last4=f"{i:04d}")
        if i % 3 == 0:
            case_assign(case=case, actor=bob, assignee=alice)
    client = api(dave)
    # token + user + permissions (2) + the page; the same for 5 rows as for 25
    with django_assert_max_num_queries(6):
        response = client.get(f"{CASES}?page_size=25")
    assert len(response.json()["results"]) == 25
    with django_assert_max_num_queries(6):
        client.get(f"{CASES}?page_size=25&state=submitted&phone=%2B8613900000001&overdue=false")


def test_the_list_shows_each_callers_transitions(api, dave, case):
    row = api(dave).get(CASES).json()["results"][0]
    assert row["allowed_transitions"] == ["withdraw"]
    assert row["state"] == State.SUBMITTED


def test_an_instant_far_in_the_past_is_answered_and_matches_no_case(api, dave, case):
    value = "0542-09-25T20:31:50-19:50"
    response = api(dave).get(CASES, {"created_before": value, "created_after": value})
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []
    assert [row["reference"] for row in api(dave).get(CASES, {"created_after": value}).json()["results"]] == [
        case.reference]


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_an_instant_that_falls_outside_the_calendar_in_utc_is_a_400_naming_the_field(api, dave, case, value):
    for field in ("created_before", "created_after"):
        body = assert_problem(api(dave).get(CASES, {field: value}), 400)
        assert body["errors"] == {field: ["Enter a valid date and time."]}


@pytest.mark.parametrize("query", ["assignee=a%00b", "phone=1%002", "card_last4=%00", "merchant_id=%00"])
def test_a_nul_character_in_a_filter_is_400(api, dave, query):
    assert_problem(api(dave).get(f"{CASES}?{query}"), 400)
