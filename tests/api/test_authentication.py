"""Token and session authentication; who may use the case API at all."""
import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from .conftest import CASES, assert_problem

pytestmark = pytest.mark.django_db


def test_a_token_made_by_drf_create_token_authenticates(client, dave, capsys):
    call_command("drf_create_token", "dave")
    key = Token.objects.get(user=dave).key
    assert key in capsys.readouterr().out

    response = client.get(CASES, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200


def test_the_session_of_a_logged_in_user_authenticates(client, alice):
    client.force_login(alice)
    assert client.get(CASES).status_code == 200


def test_without_credentials_it_answers_401_with_a_challenge(api):
    body = assert_problem(api().get(CASES), 401)
    assert body["type"] == "urn:dispute-desk:problem:not-authenticated"


def test_a_bad_token_is_401(client, dave):
    response = client.get(CASES, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_user_without_a_role_is_forbidden(api, mallory):
    assert_problem(api(mallory).get(CASES), 403)
    assert_problem(api(mallory).get("/api/v1/customers/?phone=1"), 403)


@pytest.mark.parametrize("who", ["alice", "bob", "dave", "erin"])
def test_every_staff_role_may_read_cases(api, request, who, case):
    client = api(request.getfixturevalue(who))
    listed = client.get(CASES)
    assert listed.status_code == 200
    assert [row["reference"] for row in listed.json()["results"]] == [case.reference]
    detail = client.get(f"{CASES}{case.reference}/")
    assert detail.status_code == 200
    assert (detail.json()["reference"], detail.json()["amount"]) == (case.reference, "128.50")


# The token's user and permissions are read in one statement (accounts.authentication):
# what a request may do is what the user holds at that request, by group or on their own.


def test_a_role_taken_away_stops_the_very_next_request_with_the_same_token(api, dave):
    client = api(dave)
    assert client.get(CASES).status_code == 200
    dave.groups.clear()
    assert_problem(client.get(CASES), 403)


def test_a_permission_held_on_ones_own_counts_as_one_held_through_a_group(api, mallory):
    from django.contrib.auth.models import Permission

    client = api(mallory)
    assert_problem(client.get(CASES), 403)
    mallory.user_permissions.add(Permission.objects.get(codename="view_case", content_type__app_label="disputes"))
    assert client.get(CASES).status_code == 200


def test_a_deactivated_users_token_is_401(api, dave):
    client = api(dave)
    dave.is_active = False
    dave.save(update_fields=["is_active"])
    body = assert_problem(client.get(CASES), 401)
    assert "inactive" in body["detail"].lower()


def test_a_superusers_token_holds_every_permission(api, db):
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("rooty", "rooty@bank.example", "a long password 123")
    assert api(root).get(CASES).status_code == 200


def test_the_tokens_permissions_are_the_backends(api, dave, mallory, alice, bob):
    """The token's one statement and ModelBackendOneQuery read the same set, by group and on one's own."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from accounts.authentication import TokenAuthentication

    mallory.user_permissions.add(Permission.objects.get(codename="view_case", content_type__app_label="disputes"))
    dave.user_permissions.add(Permission.objects.get(codename="view_case", content_type__app_label="disputes"))
    for person in (dave, mallory, alice, bob):
        key = api(person)._credentials["HTTP_AUTHORIZATION"].split()[1]
        user, token = TokenAuthentication().authenticate_credentials(key)
        expected = get_user_model().objects.get(pk=person.pk).get_all_permissions()
        assert (user.pk, token.key) == (person.pk, key)
        assert user._perm_cache == expected and expected


def test_a_bad_token_is_refused_in_the_callers_language(client, db):
    response = client.get(CASES, HTTP_AUTHORIZATION="Token not-a-real-token", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert assert_problem(response, 401)["detail"] == "认证令牌无效。"


@pytest.mark.parametrize("key", ["a\x00b", "x" * 41, "' OR 1=1 --"])
def test_a_token_that_cannot_exist_is_401_not_a_crash(client, db, key):
    assert_problem(client.get(CASES, HTTP_AUTHORIZATION=f"Token {key}"), 401)
