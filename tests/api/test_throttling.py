"""Throttling per token, with Retry-After."""
import pytest
from django.contrib.auth.models import Group, User

from disputes.workflow import Role

from .conftest import CASES, assert_problem

pytestmark = pytest.mark.django_db


def test_past_the_rate_a_token_gets_429_with_retry_after(api, dave, settings):
    settings.DISPUTE_API_THROTTLE_RATE = "3/min"
    client = api(dave)
    assert [client.get(CASES).status_code for _ in range(3)] == [200, 200, 200]

    response = client.get(CASES)

    body = assert_problem(response, 429)
    assert body["type"] == "urn:dispute-desk:problem:throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_each_token_has_its_own_allowance(api, dave, settings):
    settings.DISPUTE_API_THROTTLE_RATE = "2/min"
    frank = User.objects.create_user("frank")
    frank.groups.add(Group.objects.get(name=Role.CALL_CENTER))
    busy = api(dave)
    for _ in range(2):
        busy.get(CASES)
    assert busy.get(CASES).status_code == 429
    assert api(frank).get(CASES).status_code == 200


def test_anonymous_callers_of_the_open_endpoints_are_throttled_by_address(api, settings):
    settings.DISPUTE_API_ANON_THROTTLE_RATE = "2/min"
    client = api()
    assert [client.get("/api/v1/docs/").status_code for _ in range(3)] == [200, 200, 429]
