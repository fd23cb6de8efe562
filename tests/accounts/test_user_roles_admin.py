"""Roles are granted in the admin as the rules of accounts.services say, and
every granted change leaves one audit record; a refused one leaves nothing.

Through the real admin pages, posted as a browser (or someone crafting a post)
would."""
import pytest
from django.contrib.auth.models import Group, Permission, User

from accounts.models import AccessChange, EntryPoint
from accounts.selectors import user_access
from disputes.workflow.names import Role

from .conftest import admin_url, crafted_form_data, messages_of, post_change, post_crafted, staff

PASSWORD = "correct horse battery staple"


def group(role: str) -> Group:
    return Group.objects.get(name=role)


def group_ids(*roles: str) -> list[str]:
    return [str(group(role).pk) for role in roles]


def permission_id(codename: str) -> str:
    return str(Permission.objects.get(content_type__app_label="disputes", codename=codename).pk)


def assert_refused(user: User, before, response, message: str) -> None:
    """Nothing changed, nothing was recorded, and the page says why."""
    assert user_access(user) == before
    assert not AccessChange.objects.exists()
    content = response.content.decode()
    assert message in content or any(message in m for m in messages_of(response)), content


# --- erin (admin role) on her own account ---------------------------------------------------

OWN_ACCOUNT = "You cannot change your own account here"


def test_erin_sees_her_own_account_read_only_and_why(erin_client, erin):
    response = erin_client.get(admin_url(User, "change", erin.pk))
    assert response.status_code == 200
    assert not response.context["adminform"].form.fields.keys() - {"password"}
    assert OWN_ACCOUNT in response.content.decode()


def test_erin_cannot_make_herself_superuser(erin_client, erin):
    before = user_access(erin)
    response = post_crafted(erin_client, erin, is_superuser="on")
    assert_refused(erin, before, response, OWN_ACCOUNT)
    assert not User.objects.get(pk=erin.pk).is_superuser


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_erin_cannot_add_herself_to_supervisor_or_admin(erin_client, erin, role):
    before = user_access(erin)
    response = post_crafted(erin_client, erin, groups=group_ids(Role.ADMIN, role, Role.AGENT))
    assert_refused(erin, before, response, OWN_ACCOUNT)


def test_erin_cannot_give_herself_permissions(erin_client, erin):
    before = user_access(erin)
    response = post_crafted(erin_client, erin, user_permissions=[permission_id("supervise_case")])
    assert_refused(erin, before, response, OWN_ACCOUNT)
    assert not User.objects.get(pk=erin.pk).has_perm("disputes.supervise_case")


def test_erin_cannot_set_her_own_password_without_the_old_one(erin_client, erin):
    response = erin_client.post(admin_url(User, "password_change", erin.pk),
                                {"password1": "a new long passphrase", "password2": "a new long passphrase",
                                 "usable_password": "true"}, follow=True)
    assert any(OWN_ACCOUNT in m for m in messages_of(response))
    assert User.objects.get(pk=erin.pk).check_password(PASSWORD)


# --- erin on others' accounts ----------------------------------------------------------------


def test_erin_cannot_make_alice_a_supervisor(erin_client, alice):
    before = user_access(alice)
    response = post_change(erin_client, alice, groups=group_ids(Role.AGENT, Role.SUPERVISOR))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert_refused(alice, before, response, "Only a superuser may grant or remove the role: supervisor.")
    assert not User.objects.get(pk=alice.pk).has_perm("disputes.supervise_case")


def test_the_superuser_flag_and_permissions_are_read_only_to_erin(erin_client, alice):
    page = erin_client.get(admin_url(User, "change", alice.pk))
    fields = page.context["adminform"].form.fields
    assert {"groups", "is_staff", "is_active"} <= fields.keys()
    assert not {"is_superuser", "user_permissions"} & fields.keys()
    before = user_access(alice)
    response = post_crafted(erin_client, alice, is_superuser="on", user_permissions=[permission_id("supervise_case")])
    assert response.redirect_chain  # saved: the crafted fields were not in the form
    assert user_access(alice) == before
    assert not AccessChange.objects.exists()


def test_erin_cannot_change_bobs_roles(erin_client, bob):
    page = erin_client.get(admin_url(User, "change", bob.pk))
    assert "Only a superuser may change the account of a supervisor" in page.content.decode()
    before = user_access(bob)
    response = post_crafted(erin_client, bob, groups=[])
    assert_refused(bob, before, response, "Only a superuser may change the account of a supervisor")


def test_erin_cannot_change_bobs_password_or_e_mail(erin_client, bob):
    response = erin_client.get(admin_url(User, "password_change", bob.pk), follow=True)
    assert response.redirect_chain[-1][0] == admin_url(User, "change", bob.pk)
    response = erin_client.post(admin_url(User, "password_change", bob.pk),
                                {"password1": "a new long passphrase", "password2": "a new long passphrase",
                                 "usable_password": "true"}, follow=True)
    assert any("Only a superuser may change the account of a supervisor" in m for m in messages_of(response))
    post_crafted(erin_client, bob, email="erin@bank.example")  # a password reset would then reach erin
    bob = User.objects.get(pk=bob.pk)
    assert bob.check_password(PASSWORD) and bob.email == "bob@bank.example"


def test_erin_cannot_change_a_superusers_account(erin_client, root):
    before = user_access(root)
    response = post_crafted(erin_client, root, is_superuser=None, is_active=None)
    assert_refused(root, before, response, "Only a superuser may change the account of a supervisor")


def test_erin_creates_a_user_and_makes_it_an_agent(erin_client, erin):
    response = erin_client.post(admin_url(User, "add"), {"username": "frank", "usable_password": "true",
                                                         "password1": "a new long passphrase",
                                                         "password2": "a new long passphrase"})
    frank = User.objects.get(username="frank")
    assert response.status_code == 302 and not AccessChange.objects.exists()

    response = post_change(erin_client, frank, groups=group_ids(Role.AGENT), is_staff="on")

    assert any("was changed successfully" in m for m in messages_of(response)), messages_of(response)
    frank = User.objects.get(pk=frank.pk)
    assert frank.is_staff and frank.has_perm("disputes.work_case") and not frank.has_perm("disputes.supervise_case")
    [change] = AccessChange.objects.all()
    assert (change.actor, change.actor_label, change.user, change.user_label, change.entry_point) == (
        erin, "erin", frank, "frank", EntryPoint.ADMIN)
    assert change.before == {"roles": [], "is_staff": False}
    assert change.after == {"roles": ["agent"], "is_staff": True}


def test_the_add_form_grants_nothing_whatever_is_posted(erin_client):
    erin_client.post(admin_url(User, "add"), {"username": "frank", "usable_password": "true",
                                              "password1": "a new long passphrase", "password2": "a new long passphrase",
                                              "is_superuser": "on", "is_staff": "on", "groups": group_ids(Role.SUPERVISOR),
                                              "user_permissions": [permission_id("supervise_case")]})
    frank = User.objects.get(username="frank")
    assert not (frank.is_superuser or frank.is_staff or frank.groups.exists() or frank.user_permissions.exists())
    assert not AccessChange.objects.exists()


def test_erin_moves_alice_to_the_call_center_and_sets_her_password(erin_client, erin, alice):
    response = post_change(erin_client, alice, groups=group_ids(Role.CALL_CENTER))
    assert any("was changed successfully" in m for m in messages_of(response))
    [change] = AccessChange.objects.all()
    assert (change.before, change.after) == ({"roles": ["agent"]}, {"roles": ["call_center"]})
    erin_client.post(admin_url(User, "password_change", alice.pk),
                     {"password1": "a new long passphrase", "password2": "a new long passphrase",
                      "usable_password": "true"})
    assert User.objects.get(pk=alice.pk).check_password("a new long passphrase")


def test_saving_without_a_change_of_access_writes_no_record(erin_client, alice):
    post_change(erin_client, alice, first_name="Alice")
    assert User.objects.get(pk=alice.pk).first_name == "Alice"
    assert not AccessChange.objects.exists()


def test_a_refusal_is_in_chinese_for_a_chinese_speaker(erin_client, alice, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    response = erin_client.post(admin_url(User, "change", alice.pk),
                                crafted_form_data(alice, groups=group_ids(Role.SUPERVISOR)),
                                HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "只有超级用户才能授予或撤销角色：主管。" in response.content.decode()
    assert not AccessChange.objects.exists()


# --- a superuser ---------------------------------------------------------------------------


def test_a_superuser_makes_alice_a_supervisor(root_client, root, alice):
    response = post_change(root_client, alice, groups=group_ids(Role.SUPERVISOR))
    assert any("was changed successfully" in m for m in messages_of(response)), messages_of(response)
    assert User.objects.get(pk=alice.pk).has_perm("disputes.supervise_case")
    [change] = AccessChange.objects.all()
    assert (change.actor, change.user, change.entry_point) == (root, alice, EntryPoint.ADMIN)
    assert (change.before, change.after) == ({"roles": ["agent"]}, {"roles": ["supervisor"]})


def test_a_superuser_gives_a_permission_and_the_superuser_flag_in_one_record(root_client, alice):
    post_change(root_client, alice, user_permissions=[permission_id("note_case")], is_superuser="on")
    [change] = AccessChange.objects.all()
    assert change.before == {"permissions": [], "is_superuser": False}
    assert change.after == {"permissions": ["disputes.note_case"], "is_superuser": True}


def test_a_superuser_changes_a_supervisors_account(root_client, bob):
    post_change(root_client, bob, groups=group_ids(Role.AGENT), email="bob@new.example")
    bob = User.objects.get(pk=bob.pk)
    assert bob.email == "bob@new.example" and not bob.has_perm("disputes.supervise_case")
    assert AccessChange.objects.get().after == {"roles": ["agent"]}


def test_a_superuser_cannot_change_their_own_access(root_client, root):
    page = root_client.get(admin_url(User, "change", root.pk))
    assert not {"groups", "user_permissions", "is_superuser", "is_staff", "is_active"} & (
        page.context["adminform"].form.fields.keys())
    before = user_access(root)
    post_crafted(root_client, root, is_superuser=None, groups=group_ids(Role.SUPERVISOR), first_name="Rooted")
    root = User.objects.get(pk=root.pk)
    assert user_access(root) == before and root.first_name == "Rooted"  # the profile may change, not access
    assert not AccessChange.objects.exists()


# --- groups: what a role may do --------------------------------------------------------------


def test_erin_cannot_edit_the_admin_groups_permissions(erin_client, erin):
    admin_group = group(Role.ADMIN)
    before = set(admin_group.permissions.all())
    data = {"name": "admin", "permissions": [str(p.pk) for p in before] + [permission_id("supervise_case")]}
    assert erin_client.post(admin_url(Group, "change", admin_group.pk), data).status_code == 403
    # Even holding the stock "change group" permission (granted before these rules):
    erin.user_permissions.add(*Permission.objects.filter(content_type__app_label="auth",
                                                         codename__in=["change_group", "view_group"]))
    response = erin_client.post(admin_url(Group, "change", admin_group.pk), data, follow=True)
    assert any("Only a superuser may change what a role may do." in m for m in messages_of(response))
    assert set(admin_group.permissions.all()) == before
    response = erin_client.post(admin_url(Group, "add"), {"name": "escalated"}, follow=True)
    assert any("Only a superuser may change what a role may do." in m for m in messages_of(response))
    assert not Group.objects.filter(name="escalated").exists()


def test_a_superuser_edits_a_role_but_cannot_rename_or_delete_it(root_client):
    supervisor = group(Role.SUPERVISOR)
    permissions = [str(p.pk) for p in supervisor.permissions.all()] + [permission_id("reply_as_customer")]
    root_client.post(admin_url(Group, "change", supervisor.pk), {"name": "boss", "permissions": permissions})
    supervisor.refresh_from_db()
    assert supervisor.name == Role.SUPERVISOR
    assert supervisor.permissions.filter(codename="reply_as_customer").exists()
    assert root_client.post(admin_url(Group, "delete", supervisor.pk), {"post": "yes"}).status_code == 403
    assert Group.objects.filter(pk=supervisor.pk).exists()


# --- the audit trail in the admin ---------------------------------------------------------------


def test_the_access_audit_trail_is_read_only_and_for_superusers(root_client, root, alice, client, erin):
    post_change(root_client, alice, groups=group_ids(Role.SUPERVISOR))
    change = AccessChange.objects.get()
    listing = root_client.get(admin_url(AccessChange, "changelist"))
    assert listing.status_code == 200 and "roles: agent → supervisor" in listing.content.decode()
    assert root_client.get(admin_url(AccessChange, "change", change.pk)).status_code == 200
    assert root_client.get(admin_url(AccessChange, "add")).status_code == 403
    assert root_client.post(admin_url(AccessChange, "change", change.pk), {"after": "{}"}).status_code == 403
    assert root_client.post(admin_url(AccessChange, "delete", change.pk), {"post": "yes"}).status_code == 403
    assert AccessChange.objects.get().after == {"roles": ["supervisor"]}
    client.force_login(staff(erin))
    assert client.get(admin_url(AccessChange, "changelist")).status_code == 403
