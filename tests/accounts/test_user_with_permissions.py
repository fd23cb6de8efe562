"""A user read with its permissions in one statement (``accounts.selectors``):
the system user, which every check of a new case acts as, and the API's token
(tests/api/test_authentication.py). The oracle is Django's own ``ModelBackend``
on a user read afresh: the one statement must give exactly its set."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from accounts.selectors import user_with_permissions
from disputes.workflow.actors import system_user
from disputes.workflow.names import SYSTEM_USERNAME

pytestmark = pytest.mark.django_db


def djangos_own_set(username: str) -> set[str]:
    return ModelBackend().get_all_permissions(get_user_model().objects.get(username=username))


def test_the_system_user_with_its_permissions_is_one_statement(django_assert_num_queries):
    expected = djangos_own_set(SYSTEM_USERNAME)
    with django_assert_num_queries(1):
        user = system_user()
        assert user.get_all_permissions() == expected and user.has_perm("disputes.act_as_system")
    assert user.username == SYSTEM_USERNAME


def test_the_set_is_djangos_own_set_by_group_and_on_ones_own(dave, mallory, alice, bob):
    mallory.user_permissions.add(Permission.objects.get(codename="view_case", content_type__app_label="disputes"))
    dave.user_permissions.add(Permission.objects.get(codename="view_case", content_type__app_label="disputes"))
    for person in (dave, mallory, alice, bob):
        user = user_with_permissions(person.username)
        assert (user.pk, user._perm_cache) == (person.pk, djangos_own_set(person.username))
    assert djangos_own_set("mallory") == {"disputes.view_case"}  # one of her own, no group


def test_a_user_without_any_permission_holds_none(mallory):
    user = user_with_permissions("mallory")
    assert user._perm_cache == set() and not user.has_perm("disputes.view_case")


def test_a_superuser_holds_every_permission_and_an_inactive_user_none(db):
    get_user_model().objects.create_superuser("rooty", "rooty@bank.example", "a long password 123")
    root = user_with_permissions("rooty")
    assert root.has_perm("disputes.act_as_system") and root.has_perm("auth.delete_user")
    system = get_user_model().objects.get(username=SYSTEM_USERNAME)
    system.is_active = False
    system.save(update_fields=["is_active"])
    assert not user_with_permissions(SYSTEM_USERNAME).has_perm("disputes.act_as_system")


def test_an_unknown_name_is_does_not_exist(db):
    with pytest.raises(get_user_model().DoesNotExist):
        user_with_permissions("nobody")
    with pytest.raises(get_user_model().DoesNotExist):
        user_with_permissions("x\u00e9' OR '1'='1")
