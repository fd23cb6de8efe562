"""accounts.services.user_access_set: the one way roles, flags and direct
permissions change, whichever entry point calls it."""
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from accounts.models import AccessChange, EntryPoint
from accounts.selectors import user_access
from accounts.services import AccessRefused, user_access_set
from disputes.workflow.steps import case_transition
from disputes.workflow.errors import ActionForbidden
from disputes.workflow.names import Role, State

from .conftest import admin_url, post_crafted


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)  # no cached permissions


def test_nobody_changes_their_own_access_not_even_a_superuser(root, erin):
    for actor, change in ((erin, {"roles": [Role.ADMIN, Role.SUPERVISOR]}), (erin, {"is_superuser": True}),
                          (root, {"is_superuser": False}), (root, {"roles": [Role.SUPERVISOR]}),
                          (root, {"permissions": ["disputes.supervise_case"]}), (root, {"is_active": False})):
        before = user_access(actor)
        with pytest.raises(AccessRefused):
            user_access_set(actor=actor, user=actor, entry_point=EntryPoint.ADMIN, **change)
        assert user_access(actor) == before
    assert not AccessChange.objects.exists()


def test_an_admin_grants_only_agent_and_call_center_to_others(erin, alice, mallory):
    with pytest.raises(AccessRefused, match="supervisor"):
        user_access_set(actor=erin, user=alice, entry_point=EntryPoint.ADMIN, roles=[Role.SUPERVISOR])
    with pytest.raises(AccessRefused, match="admin"):
        user_access_set(actor=erin, user=mallory, entry_point=EntryPoint.ADMIN, roles=[Role.ADMIN])
    with pytest.raises(AccessRefused, match="superuser"):
        user_access_set(actor=erin, user=alice, entry_point=EntryPoint.ADMIN, is_superuser=True)
    with pytest.raises(AccessRefused, match="permissions directly"):
        user_access_set(actor=erin, user=alice, entry_point=EntryPoint.ADMIN, permissions=["disputes.note_case"])
    assert not AccessChange.objects.exists()

    change = user_access_set(actor=erin, user=mallory, entry_point=EntryPoint.ADMIN,
                             roles=[Role.CALL_CENTER], is_staff=True)
    assert (change.before, change.after) == ({"roles": [], "is_staff": False}, {"roles": ["call_center"], "is_staff": True})
    assert fresh(mallory).has_perm("disputes.file_case")


def test_an_admin_cannot_touch_a_supervisor_an_admin_or_a_user_with_own_permissions(erin, bob, root, system):
    other_admin = User.objects.create_user("grace")
    user_access_set(actor=root, user=other_admin, entry_point=EntryPoint.ADMIN, roles=[Role.ADMIN])
    for user in (bob, other_admin, root, system):
        with pytest.raises(AccessRefused, match="Only a superuser may change the account"):
            user_access_set(actor=erin, user=user, entry_point=EntryPoint.ADMIN, is_active=False)
        assert fresh(user).is_active


def test_a_user_without_the_change_user_permission_changes_nobody(bob, alice):
    with pytest.raises(AccessRefused, match="not allowed to change user accounts"):
        user_access_set(actor=bob, user=alice, entry_point=EntryPoint.ADMIN, roles=[Role.SUPERVISOR])


def test_an_unchanged_set_writes_no_record(root, alice):
    assert user_access_set(actor=root, user=alice, entry_point=EntryPoint.ADMIN, roles=[Role.AGENT]) is None
    assert not AccessChange.objects.exists()


def test_only_a_command_acts_without_a_user(alice):
    with pytest.raises(ValueError):
        user_access_set(actor=None, user=alice, entry_point=EntryPoint.ADMIN, roles=[Role.SUPERVISOR])
    change = user_access_set(actor=None, user=alice, entry_point=EntryPoint.COMMAND, source="manage.py test",
                             roles=[Role.SUPERVISOR])
    assert (change.actor, change.actor_label, change.entry_point) == (None, "manage.py test", EntryPoint.COMMAND)


def test_seed_demo_grants_the_demo_roles_through_the_service(db, django_capture_on_commit_callbacks, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_capture_on_commit_callbacks(execute=False):
        call_command("seed_demo", "--even-with-debug-off", stdout=StringIO())
    changes = {change.user_label: change for change in AccessChange.objects.all()}
    assert changes["supervisor1"].after == {"roles": ["supervisor"], "is_staff": True}
    assert changes["root"].after == {"is_superuser": True, "is_staff": True}
    assert {(c.actor, c.actor_label, c.entry_point) for c in changes.values()} == {
        (None, "manage.py seed_demo", EntryPoint.COMMAND)}


# --- end to end: the four-eyes rule survives the attempt ---------------------------------------


def test_after_her_refused_escalation_erin_still_cannot_approve_a_refund(client, erin, alice, bob, case):
    case_transition(case=case, name="start_verification", actor=alice)
    case_transition(case=case, name="propose_refund", actor=alice, amount="10.00")
    erin.is_staff = True
    erin.save(update_fields=["is_staff"])
    client.force_login(erin)
    escalate = [str(Group.objects.get(name=role).pk) for role in (Role.ADMIN, Role.SUPERVISOR)]
    post_crafted(client, erin, is_superuser="on", groups=escalate)
    post_crafted(client, bob, groups=[])  # nor take the role from the supervisors

    erin = fresh(erin)
    assert not erin.is_superuser and not erin.has_perm("disputes.supervise_case")
    with pytest.raises(ActionForbidden):
        case_transition(case=case, name="approve_refund", actor=erin)
    case.refresh_from_db()
    assert case.state == State.REFUND_PENDING
    assert fresh(bob).has_perm("disputes.supervise_case")
    assert not AccessChange.objects.exists()
    assert client.get(admin_url(User, "change", erin.pk)).status_code == 200
