"""The audit trail is append-only in the database, not only in Python."""
import pytest
from django.db import DatabaseError, connection, transaction

from disputes.models import CaseEvent


def _raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_update_of_a_case_event_fails_at_the_database(case):
    event = CaseEvent.objects.get(case=case)
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE disputes_caseevent SET message = %s WHERE id = %s", ["rewritten", event.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            CaseEvent.objects.filter(pk=event.pk).update(actor_label="someone else")
    event.refresh_from_db()
    assert event.message == "" and event.actor_label == "customer"


def test_delete_of_a_case_event_fails_at_the_database(case):
    event = CaseEvent.objects.get(case=case)
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM disputes_caseevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            CaseEvent.objects.filter(pk=event.pk).delete()
    assert CaseEvent.objects.filter(pk=event.pk).exists()


def test_new_events_can_still_be_appended(case, alice):
    from disputes.workflow.casework import case_add_note

    case_add_note(case=case, actor=alice, body="Called the customer.")
    assert CaseEvent.objects.filter(case=case).count() == 2
