"""``manage.py api_client``: the call center's API clients — created with a
token printed once, rotated, revoked, listed; roles and the active flag change
through ``user_access_set``, so the access trail names the command."""
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import AccessChange, EntryPoint
from disputes.workflow.names import Role

pytestmark = pytest.mark.django_db


def api_client(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("api_client", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def answers(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/cases/").status_code


def test_create_makes_a_call_center_user_and_prints_only_its_token_on_stdout():
    out, err = api_client("create", "call-center-app")

    key = out.strip()
    user = User.objects.get(username="call-center-app")
    assert Token.objects.get(user=user).key == key and len(key) == 40
    assert list(user.groups.values_list("name", flat=True)) == [Role.CALL_CENTER]
    assert not user.is_staff and not user.is_superuser and user.is_active
    assert not user.has_usable_password()  # it cannot log in to the pages
    assert "Authorization: Token <key>" in err and key not in err
    assert answers(key) == 200


def test_the_role_is_granted_through_the_audited_service_with_the_command_as_source():
    api_client("create", "call-center-app")

    [change] = AccessChange.objects.all()
    assert (change.user_label, change.actor, change.actor_label, change.entry_point) == (
        "call-center-app", None, "manage.py api_client", EntryPoint.COMMAND)
    assert change.after == {"roles": [Role.CALL_CENTER]}


def test_rotate_gives_a_new_token_and_the_old_one_stops_working():
    old = api_client("create", "call-center-app")[0].strip()

    new = api_client("rotate", "call-center-app")[0].strip()

    assert new != old
    assert (answers(old), answers(new)) == (401, 200)


def test_revoke_takes_the_token_away_and_deactivates_the_client_on_the_record():
    key = api_client("create", "call-center-app")[0].strip()

    api_client("revoke", "call-center-app")

    assert answers(key) == 401
    assert not Token.objects.exists()
    assert not User.objects.get(username="call-center-app").is_active
    revoked = AccessChange.objects.order_by("id").last()
    assert (revoked.before, revoked.after, revoked.actor_label) == (
        {"is_active": True}, {"is_active": False}, "manage.py api_client")
    with pytest.raises(CommandError, match="revoked"):
        api_client("rotate", "call-center-app")


def test_create_again_gives_a_revoked_client_its_access_back_but_refuses_an_active_one():
    api_client("create", "call-center-app")
    with pytest.raises(CommandError, match="rotate"):
        api_client("create", "call-center-app")
    api_client("revoke", "call-center-app")

    key = api_client("create", "call-center-app")[0].strip()

    assert answers(key) == 200


def test_it_never_touches_a_user_that_is_not_an_api_client(alice, bob):
    for action in ("rotate", "revoke"):
        with pytest.raises(CommandError, match="not an API client"):
            api_client(action, "alice")
    with pytest.raises(CommandError, match="not an API client"):
        api_client("create", "bob")
    with pytest.raises(CommandError, match="no API client"):
        api_client("revoke", "nobody")
    assert not Token.objects.exists() and not AccessChange.objects.exists()
    assert User.objects.get(username="alice").is_active


def test_list_names_each_client_its_state_and_whether_it_has_a_token_never_the_token(dave):
    key = api_client("create", "call-center-app")[0].strip()
    api_client("create", "old-app")
    api_client("revoke", "old-app")

    out, _err = api_client("list")

    lines = {line.split()[0]: line for line in out.splitlines()}
    assert set(lines) == {"call-center-app", "dave", "old-app"}
    assert "active" in lines["call-center-app"] and "token since" in lines["call-center-app"]
    assert "revoked" in lines["old-app"] and "no token" in lines["old-app"]
    assert key not in out


def test_a_name_that_is_no_valid_username_is_refused():
    with pytest.raises(CommandError, match="username"):
        api_client("create", "call center app!")
    assert not User.objects.filter(username__startswith="call").exists()
