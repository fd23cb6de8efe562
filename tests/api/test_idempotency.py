"""Idempotency-Key on POSTs: replay, 422 on another body, per-user keys, expiry."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User

from disputes.models import Case, CaseEvent, CaseNote, IdempotencyKey
from disputes.workflow.names import Role, State

from .conftest import CASES, assert_problem, case_body

pytestmark = pytest.mark.django_db


def test_a_retry_with_the_same_key_replays_the_first_response(api, dave):
    client, body = api(dave), case_body()
    first = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the tracking code too: the customer hears one code
    assert again["ETag"] == first["ETag"] and again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1


def test_without_a_key_each_post_files_a_new_case(api, dave):
    client = api(dave)
    client.post(CASES, case_body(), format="json")
    client.post(CASES, case_body(), format="json")
    assert Case.objects.count() == 2


def test_the_same_key_with_another_body_is_422_and_files_nothing(api, dave):
    client = api(dave)
    client.post(CASES, case_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    body = assert_problem(client.post(CASES, case_body(amount="99.00"), format="json", HTTP_IDEMPOTENCY_KEY="k-1"), 422)
    assert body["type"] == "urn:dispute-desk:problem:idempotency-key-reused"
    assert Case.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_422(api, dave, filed):
    client = api(dave)
    client.post(f"{CASES}{filed['reference']}/notes/", {"body": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert_problem(client.post(f"{CASES}{filed['reference']}/transitions/withdraw/", {}, format="json",
                               HTTP_IDEMPOTENCY_KEY="k-2"), 422)
    assert Case.objects.get().state == State.SUBMITTED


def test_keys_belong_to_one_user(api, dave):
    frank = User.objects.create_user("frank")
    frank.groups.add(Group.objects.get(name=Role.CALL_CENTER))
    api(dave).post(CASES, case_body(), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    response = api(frank).post(CASES, case_body(), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Case.objects.count() == 2


def test_a_replayed_withdrawal_does_not_run_twice(api, dave, filed):
    client = api(dave)
    url = f"{CASES}{filed['reference']}/transitions/withdraw/"
    first = client.post(url, {"note": "客户撤诉"}, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
    again = client.post(url, {"note": "客户撤诉"}, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert CaseEvent.objects.filter(transition="withdraw").count() == 1


def test_a_replayed_note_is_written_once(api, dave, filed):
    client = api(dave)
    for _ in range(3):
        assert client.post(f"{CASES}{filed['reference']}/notes/", {"body": "n"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="n-1").status_code == 201
    assert CaseNote.objects.count() == 1


def test_a_bad_request_is_replayed_as_it_was(api, dave):
    client, body = api(dave), case_body(amount="-1")
    first = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    again = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    assert again["Content-Type"].startswith("application/problem+json")


def test_a_bad_request_echoing_a_nul_character_is_stored_and_replayed(api, dave):
    """PostgreSQL cannot keep U+0000 in JSON; the answer shows U+FFFD instead, first time and on replay."""
    client, body = api(dave), case_body(card_scheme="visa\x00")
    first = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="nul")
    again = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="nul")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    assert "card_scheme" in first.json()["errors"]
    assert "\x00" not in first.content.decode() and "\\u0000" not in first.content.decode()


def test_a_conflict_is_not_stored_so_a_retry_runs_again(api, dave, alice, filed):
    url = f"{CASES}{filed['reference']}/transitions/start_verification/"
    client = api(alice)
    assert_problem(client.post(url, {}, format="json", HTTP_IF_MATCH='"9"', HTTP_IDEMPOTENCY_KEY="s-1"), 412)
    assert client.post(url, {}, format="json", HTTP_IF_MATCH='"1"', HTTP_IDEMPOTENCY_KEY="s-1").status_code == 200


def test_a_key_past_its_time_to_live_is_forgotten(api, dave, settings):
    client = api(dave)
    client.post(CASES, case_body(), format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyKey.objects.update(created_at=IdempotencyKey.objects.get().created_at - timedelta(hours=49))
    response = client.post(CASES, case_body(amount="99.00"), format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert response.status_code == 201
    assert Case.objects.count() == 2


def test_a_key_is_kept_for_at_least_24_hours(api, dave, settings):
    assert settings.DISPUTE_IDEMPOTENCY_TTL >= timedelta(hours=24)
    client, body = api(dave), case_body()
    client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="day")
    IdempotencyKey.objects.update(created_at=IdempotencyKey.objects.get().created_at - timedelta(hours=24))
    assert client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="day")["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tkey"])
def test_a_malformed_key_is_400(api, dave, key):
    body = assert_problem(api(dave).post(CASES, case_body(), format="json", HTTP_IDEMPOTENCY_KEY=key), 400)
    assert "Idempotency-Key" in body["errors"]
    assert not Case.objects.exists()
