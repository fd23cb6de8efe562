"""POST /api/v1/cases/{reference}/notes/."""
import pytest

from disputes.models import CaseEvent, CaseNote
from disputes.workflow.names import EventKind

from .conftest import CASES, assert_problem

pytestmark = pytest.mark.django_db


def test_the_call_center_adds_a_note(api, dave, filed):
    response = api(dave).post(f"{CASES}{filed['reference']}/notes/", {"body": "客户补充：当时重复支付了现金"}, format="json")

    assert response.status_code == 201
    assert response.json()["author"] == "dave"
    assert response.json()["visibility"] == "internal"
    assert CaseNote.objects.get().body == "客户补充：当时重复支付了现金"
    assert CaseEvent.objects.filter(kind=EventKind.NOTE).count() == 1


def test_an_empty_note_is_400_and_nothing_is_written(api, dave, filed):
    body = assert_problem(api(dave).post(f"{CASES}{filed['reference']}/notes/", {"body": "   "}, format="json"), 400)
    assert "body" in body["errors"]
    assert not CaseNote.objects.exists()


def test_past_the_notes_a_case_holds_a_note_is_400_in_words_and_nothing_changes(api, dave, filed, settings):
    """A client adding notes in a loop would make the case page ever slower."""
    settings.DISPUTE_CASE_MAX_NOTES = 2
    url = f"{CASES}{filed['reference']}/"
    for body in ("one", "two"):
        assert api(dave).post(f"{url}notes/", {"body": body}, format="json").status_code == 201
    etag = api(dave).get(url)["ETag"]
    refused = assert_problem(api(dave).post(f"{url}notes/", {"body": "three"}, format="json",
                                            HTTP_ACCEPT_LANGUAGE="en"), 400)
    assert refused["errors"] == {"body": ["This case already has 2 notes, the most a case may have: no note can be added."]}
    assert api(dave).get(url)["ETag"] == etag and CaseNote.objects.count() == 2


def test_past_the_messages_a_customer_is_sent_a_day_a_visible_note_is_400_in_words(api, dave, filed, settings):
    settings.DISPUTE_CUSTOMER_MESSAGES_PER_DAY = 1
    url = f"{CASES}{filed['reference']}/notes/"
    assert api(dave).post(url, {"body": "one", "visibility": "customer"}, format="json").status_code == 201
    refused = assert_problem(api(dave).post(url, {"body": "two", "visibility": "customer"}, format="json",
                                            HTTP_ACCEPT_LANGUAGE="en"), 400)
    assert refused["errors"] == {"visibility": [
        "The customer has had 1 message about this case in the last 24 hours, the most they are sent: keep this "
        "note internal, or write again later."]}
    assert api(dave).post(url, {"body": "two"}, format="json").status_code == 201  # internal
    assert list(CaseNote.objects.values_list("body", flat=True)) == ["one", "two"]


def test_an_admin_may_not_add_notes(api, erin, filed):
    assert_problem(api(erin).post(f"{CASES}{filed['reference']}/notes/", {"body": "hello"}, format="json"), 403)
    assert not CaseNote.objects.exists()


def test_a_note_on_an_unknown_case_is_404(api, dave):
    assert_problem(api(dave).post(f"{CASES}DD000000-NOSUCH/notes/", {"body": "x"}, format="json"), 404)


def test_a_note_changes_the_etag_and_an_if_match_holding_the_old_one_is_stale(api, dave, filed):
    """docs/api.md: the version grows with every change, a note included."""
    url = f"{CASES}{filed['reference']}/"
    before = api(dave).get(url)["ETag"]

    api(dave).post(f"{url}notes/", {"body": "客户来电补充情况"}, format="json")

    after = api(dave).get(url)
    assert (before, after["ETag"], after.json()["version"]) == ('"1"', '"2"', 2)
    assert CaseEvent.objects.get(kind=EventKind.NOTE).case_version == 2
    stale = api(dave).post(f"{url}transitions/withdraw/", {}, format="json", HTTP_IF_MATCH=before)
    assert_problem(stale, 412)
