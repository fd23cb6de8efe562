"""One debit, one case: a complaint whose debit already has an open or recent
case (from any channel) is linked to it, on both cases, and staff and the API
see the link; two diagnoses at once never both own the debit."""
from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone, translation
from rest_framework.test import APIClient

from disputes.models import Case, CaseEvent, DebitCase
from disputes.verification.checks import case_verify
from disputes.workflow.actors import CUSTOMER, system_user
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel, EventKind, State
from disputes.workflow.steps import case_transition
from tests.conftest import filing_data
from transactions.models import LedgerEntry

PAID_AT = timezone.now().replace(microsecond=0) - timedelta(days=2)
SLIP = dict(merchant_id="103287654110281", terminal_id="41082857", rrn="100000000347", stan="508225")


def ledger(entry_id: str, **slip) -> LedgerEntry:
    return LedgerEntry.objects.create(entry_id=entry_id, customer_ref="C1", card_last4="1234",
                                      amount=Decimal("128.50"), currency="CNY", posted_at=PAID_AT, kind="debit",
                                      auth_code="340191", **{**SLIP, **slip})


def complaint(actor=CUSTOMER, channel=Channel.WEB, **overrides) -> Case:
    return case_file(actor=actor, channel=channel, **filing_data(transaction_at=PAID_AT, **{**SLIP, **overrides})).case


def linked_events(case: Case) -> list[dict]:
    return list(CaseEvent.objects.filter(case=case, kind=EventKind.LINKED).values_list("payload", flat=True))


@pytest.mark.django_db
def test_a_second_complaint_about_the_same_debit_is_linked_to_the_first_on_both_cases(system, dave):
    ledger("L1")
    first = complaint()
    case_verify(case=first, actor=system)
    second = complaint(actor=dave, channel=Channel.API, phone="+8613900139000")

    case_verify(case=second, actor=system)

    second.refresh_from_db()
    first.refresh_from_db()
    assert second.linked_to == first and first.linked_to is None
    assert linked_events(second) == [{"linked_to": first.reference, "entry_id": "L1"}]
    assert linked_events(first) == [{"joined_by": second.reference, "entry_id": "L1"}]
    assert DebitCase.objects.get(entry__entry_id="L1").case == first
    # The customer's complaint is not closed behind their back: it stays where it was.
    assert second.state == State.SUBMITTED


@pytest.mark.django_db
def test_checking_the_linked_case_again_links_it_once(system):
    ledger("L1")
    first, second = complaint(), complaint()
    case_verify(case=first, actor=system)
    case_verify(case=second, actor=system)
    case_verify(case=second, actor=system)
    case_verify(case=first, actor=system)
    assert len(linked_events(second)) == 1 and len(linked_events(first)) == 1


@pytest.mark.django_db
def test_a_complaint_about_another_debit_is_not_linked(system):
    ledger("L1")
    ledger("L2", rrn="100000000348", stan="508226")
    first = complaint()
    other = complaint(rrn="100000000348", stan="508226")
    case_verify(case=first, actor=system)
    case_verify(case=other, actor=system)
    other.refresh_from_db()
    assert other.linked_to is None and not linked_events(first)


@pytest.mark.django_db
def test_an_ambiguous_diagnosis_links_nothing(system):
    ledger("L1", rrn="", stan="")
    ledger("L2", rrn="", stan="")
    first = complaint(rrn="", stan="")
    second = complaint(rrn="", stan="")
    case_verify(case=first, actor=system)
    case_verify(case=second, actor=system)
    second.refresh_from_db()
    assert second.linked_to is None and not DebitCase.objects.exists()


@pytest.mark.django_db
def test_an_owner_that_ended_within_the_reopen_window_still_takes_the_new_complaint(system, settings):
    ledger("L1")
    first = complaint()
    case_verify(case=first, actor=system)
    case_transition(case=first, name="withdraw", actor=CUSTOMER)
    Case.objects.filter(pk=first.pk).update(ended_at=timezone.now() - settings.DISPUTE_REOPEN_WINDOW
                                            + timedelta(hours=1))
    second = complaint()
    case_verify(case=second, actor=system)
    second.refresh_from_db()
    assert second.linked_to_id == first.pk


@pytest.mark.django_db
def test_an_owner_that_ended_before_the_reopen_window_passes_the_debit_to_the_new_complaint(system, settings):
    ledger("L1")
    first = complaint()
    case_verify(case=first, actor=system)
    case_transition(case=first, name="withdraw", actor=CUSTOMER)
    Case.objects.filter(pk=first.pk).update(ended_at=timezone.now() - settings.DISPUTE_REOPEN_WINDOW
                                            - timedelta(hours=1))
    second = complaint()
    case_verify(case=second, actor=system)
    second.refresh_from_db()
    assert second.linked_to is None and not linked_events(first)
    assert DebitCase.objects.get().case == second


@pytest.mark.django_db
def test_an_agent_choosing_another_debit_releases_the_first(system, alice):
    ledger("L1", rrn="", stan="")
    ledger("L2", rrn="", stan="")
    first = complaint(rrn="", stan="")
    case_verify(case=first, actor=system)  # ambiguous
    case_transition(case=first, name="start_verification", actor=alice)
    case_verify(case=first, actor=alice, entry_id="L1")
    case_verify(case=first, actor=alice, entry_id="L2")
    assert list(DebitCase.objects.values_list("entry__entry_id", "case")) == [("L2", first.pk)]


@pytest.mark.django_db
def test_the_api_shows_the_link_read_only(system, dave):
    ledger("L1")
    first, second = complaint(), complaint()
    case_verify(case=first, actor=system)
    case_verify(case=second, actor=system)
    api = APIClient()
    api.force_authenticate(dave)

    assert api.get(f"/api/v1/cases/{second.reference}/").json()["linked_to"] == first.reference
    assert api.get(f"/api/v1/cases/{first.reference}/").json()["linked_to"] is None
    listed = {row["reference"]: row["linked_to"] for row in api.get("/api/v1/cases/").json()["results"]}
    assert listed == {first.reference: None, second.reference: first.reference}


@pytest.mark.django_db
def test_staff_see_the_link_on_both_case_pages_and_in_the_queue(client, system, alice):
    ledger("L1")
    first, second = complaint(), complaint()
    case_verify(case=first, actor=system)
    case_verify(case=second, actor=system)
    client.force_login(alice)

    page = client.get(f"/staff/cases/{second.reference}/").content.decode()
    assert f'href="/staff/cases/{first.reference}/"' in page and 'id="linked-to"' in page
    page = client.get(f"/staff/cases/{first.reference}/").content.decode()
    assert f'href="/staff/cases/{second.reference}/"' in page and 'id="joined-by"' in page
    queue = client.get("/staff/?tab=unassigned").content.decode()
    assert f'data-linked-to="{first.reference}"' in queue
    assert queue.count("data-linked-to=") == 1


@pytest.mark.django_db
def test_the_link_is_told_on_each_timeline_in_its_readers_language(client, system, alice):
    """The worker writes the link's events in the site's Chinese: an agent
    reading in English read them in Chinese."""
    ledger("L1")
    first, second = complaint(), complaint()
    with translation.override("zh-hans"):
        case_verify(case=first, actor=system)
        case_verify(case=second, actor=system)
    client.force_login(alice)
    for case, english, chinese in (
            (second, f"Linked to {first.reference}, the case about the same debit.",
             f"已关联到关于同一笔扣款的案件 {first.reference}。"),
            (first, f"Another complaint about the same debit joined: {second.reference}.",
             f"关于同一笔扣款的另一投诉已并入：{second.reference}。")):
        assert CaseEvent.objects.get(case=case, kind=EventKind.LINKED).message == chinese
        page = f"/staff/cases/{case.reference}/"
        timeline = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode().split('id="timeline"')[1]
        assert f"<p>{english}</p>" in timeline and chinese not in timeline
        timeline = client.get(page, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode().split('id="timeline"')[1]
        assert f"<p>{chinese}</p>" in timeline


@pytest.mark.django_db
def test_a_complaint_about_a_debit_the_bank_opened_a_case_for_joins_that_case(system):
    ledger("L1")
    auto = complaint(actor=system_user(), channel=Channel.AUTO)
    case_verify(case=auto, actor=system, known_debit=LedgerEntry.objects.get(entry_id="L1"))
    customers = complaint()
    case_verify(case=customers, actor=system)
    customers.refresh_from_db()
    assert customers.linked_to == auto


@pytest.mark.django_db(transaction=True)
def test_two_diagnoses_at_once_never_both_own_the_debit():
    ledger("L1")
    cases = [complaint(), complaint(phone="+8613900139000")]
    barrier = threading.Barrier(2)
    errors = []

    def check(case: Case) -> None:
        try:
            barrier.wait(timeout=10)
            case_verify(case=case, actor=system_user())
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=check, args=(case,)) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    owner = DebitCase.objects.get().case
    [other] = [case for case in cases if case.pk != owner.pk]
    assert Case.objects.get(pk=other.pk).linked_to == owner
    assert Case.objects.get(pk=owner.pk).linked_to is None
    assert CaseEvent.objects.filter(kind=EventKind.LINKED).count() == 2
