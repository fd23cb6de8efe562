"""The access audit trail is append-only in the database itself, as the case events are."""
import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import AccessChange, EntryPoint
from accounts.services import user_access_set
from disputes.workflow.names import Role


@pytest.fixture
def change(root, alice):
    return user_access_set(actor=root, user=alice, entry_point=EntryPoint.ADMIN, roles=[Role.SUPERVISOR])


def test_an_access_change_cannot_be_updated(change):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AccessChange.objects.filter(pk=change.pk).update(after={"roles": ["agent"]})
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_accesschange SET actor_label = 'nobody' WHERE id = %s", [change.pk])
    change.refresh_from_db()
    assert (change.after, change.actor_label) == ({"roles": ["supervisor"]}, "root")


def test_an_access_change_cannot_be_deleted(change):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AccessChange.objects.filter(pk=change.pk).delete()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_accesschange WHERE id = %s", [change.pk])
    assert AccessChange.objects.filter(pk=change.pk).exists()
