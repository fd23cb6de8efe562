"""What is posted from the staff case page goes through the services: a step
(/transitions/<name>/), a note, the assignment, a deadline extension. The
server refuses what the role or the state does not allow (403, 409, 404, 400)
with the case page and a clear message, and a form read at an older version
is refused (409) with nothing written and what the user typed kept."""
from decimal import Decimal

import pytest

from disputes.models import Case, CaseEvent, CaseNote, NoteVisibility, Refund
from disputes.workflow.casework import case_add_note
from disputes.workflow.names import EventKind, State
from disputes.workflow.steps import case_transition
from tests.disputes.workflow import bring_to

pytestmark = pytest.mark.django_db


def step_url(case, name: str) -> str:
    return f"/staff/cases/{case.reference}/transitions/{name}/"


def fresh(case) -> Case:
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def cast(alice, bob, carol):
    return {"alice": alice, "bob": bob, "carol": carol}


@pytest.fixture
def en(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_an_agent_takes_a_step_and_is_sent_back_to_the_case(en, alice, case):
    en.force_login(alice)
    response = en.post(step_url(case, "start_verification"), {"version": case.version, "note": "Checking the ledger."})
    assert response.status_code == 302 and response["Location"] == f"/staff/cases/{case.reference}/"
    case = fresh(case)
    assert case.state == State.VERIFYING
    event = CaseEvent.objects.get(case=case, transition="start_verification")
    assert event.actor == alice and event.message == "Checking the ledger."
    page = en.get(response["Location"]).content.decode()
    assert "“Start verification” done: the case is now verifying." in page


def test_a_step_the_role_may_not_take_is_a_403_page_and_changes_nothing(en, alice, file_case, cast):
    case = bring_to(file_case(), State.REFUND_PENDING, cast)
    en.force_login(alice)
    response = en.post(step_url(case, "approve_refund"), {"version": case.version})
    assert response.status_code == 403
    assert 'id="case-problem" data-status="403"' in response.content.decode()
    assert fresh(case).state == State.REFUND_PENDING


def test_the_four_eyes_rule_is_kept_on_the_page(en, bob, file_case, cast):
    case = bring_to(file_case(), State.MERCHANT_CONTACT, cast)
    case_transition(case=case, name="propose_refund", actor=bob, amount=Decimal("10.00"))
    en.force_login(bob)
    response = en.post(step_url(case, "approve_refund"), {"version": fresh(case).version})
    assert response.status_code == 403
    assert "A refund must be approved by a supervisor other than the one who proposed it." in response.content.decode()


def test_a_step_not_possible_in_this_state_is_a_409_page(en, alice, case):
    en.force_login(alice)
    response = en.post(step_url(case, "confirm_debit"), {"version": case.version})
    assert response.status_code == 409
    assert "is not possible while the case is submitted" in response.content.decode()
    assert fresh(case).state == State.SUBMITTED


def test_an_unknown_step_is_a_404_page(en, alice, case):
    en.force_login(alice)
    response = en.post(step_url(case, "teleport"), {"version": case.version})
    assert response.status_code == 404
    assert 'id="refused" data-status="404"' in response.content.decode()


def test_a_step_is_only_posted(en, alice, case):
    en.force_login(alice)
    assert en.get(step_url(case, "start_verification")).status_code == 405


@pytest.mark.parametrize("who", ["mallory", "dave", "erin"])
def test_outside_the_workspace_nobody_takes_a_step(client, request, case, who):
    client.force_login(request.getfixturevalue(who))
    assert client.post(step_url(case, "withdraw"), {"version": case.version}).status_code == 403
    assert fresh(case).state == State.SUBMITTED


def test_a_reject_without_reason_is_a_400_with_the_note_kept(en, alice, file_case, cast):
    case = bring_to(file_case(), State.VERIFYING, cast)
    en.force_login(alice)
    response = en.post(step_url(case, "reject"), {"version": case.version, "reason": " ", "note": "my careful note"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Give the reason for rejecting the complaint." in html
    assert "my careful note" in html.split('data-step="reject"')[1].split("</form>")[0]
    assert fresh(case).state == State.VERIFYING


def test_a_refund_above_the_disputed_amount_is_a_400_with_the_amount_kept(en, alice, file_case, cast):
    case = bring_to(file_case(), State.VERIFYING, cast)
    en.force_login(alice)
    response = en.post(step_url(case, "propose_refund"), {"version": case.version, "amount": "999.00"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "A refund cannot exceed the disputed amount of 128.50 CNY." in html
    assert 'value="999.00"' in html
    assert not Refund.objects.exists()


def test_a_proposed_refund_is_shown_with_its_status(en, alice, file_case, cast):
    case = bring_to(file_case(), State.VERIFYING, cast)
    en.force_login(alice)
    en.post(step_url(case, "propose_refund"), {"version": case.version, "amount": "100.00"})
    html = en.get(f"/staff/cases/{case.reference}/").content.decode()
    assert 'class="facts refund" data-status="proposed"' in html and "100.00 CNY" in html


def test_a_form_read_before_someone_else_changed_the_case_is_refused_and_the_input_kept(en, alice, bob, file_case, cast):
    case = bring_to(file_case(), State.VERIFYING, cast)
    read_at = case.version
    case_transition(case=fresh(case), name="confirm_debit", actor=bob)  # meanwhile, in another browser
    en.force_login(alice)
    response = en.post(step_url(case, "reject"), {"version": read_at, "reason": "No debit found.", "note": "typed"})
    html = response.content.decode()
    assert response.status_code == 409
    assert 'data-stale="true"' in html and "Someone else changed this case meanwhile." in html
    assert 'id="case-state" data-state="merchant_contact"' in html  # the fresh case
    reject = html.split('data-step="reject"')[1].split("</form>")[0]
    assert "No debit found." in reject and f'name="version" value="{fresh(case).version}"' in reject
    assert fresh(case).state == State.MERCHANT_CONTACT
    assert not CaseEvent.objects.filter(case=case, transition="reject").exists()


def test_a_stale_step_that_is_no_longer_offered_shows_what_was_typed(en, alice, bob, file_case, cast):
    case = bring_to(file_case(), State.VERIFYING, cast)
    read_at = case.version
    case_transition(case=fresh(case), name="reversal_found", actor=bob)
    en.force_login(alice)
    response = en.post(step_url(case, "reject"), {"version": read_at, "reason": "Keep this reason."})
    html = response.content.decode()
    assert response.status_code == 409
    assert 'id="kept-input"' in html and "Keep this reason." in html


def test_a_form_without_its_version_is_refused(en, alice, case):
    en.force_login(alice)
    response = en.post(step_url(case, "start_verification"), {})
    assert response.status_code == 400
    assert fresh(case).state == State.SUBMITTED


def test_notes_are_internal_or_for_the_customer(en, alice, case):
    en.force_login(alice)
    url = f"/staff/cases/{case.reference}/notes/"
    assert en.post(url, {"version": case.version, "body": "internal only", "visibility": "internal"}).status_code == 302
    assert en.post(url, {"version": case.version, "body": "Dear customer", "visibility": "customer"}).status_code == 302
    assert list(CaseNote.objects.filter(case=case).values_list("body", "visibility")) == [
        ("internal only", NoteVisibility.INTERNAL), ("Dear customer", NoteVisibility.CUSTOMER)]
    html = en.get(f"/staff/cases/{case.reference}/").content.decode()
    assert 'data-visibility="customer"' in html and 'data-visibility="internal"' in html


def test_past_the_customers_messages_of_the_day_the_refusal_is_shown_at_who_sees_it(en, alice, case, settings):
    settings.DISPUTE_CUSTOMER_MESSAGES_PER_DAY = 1
    en.force_login(alice)
    url = f"/staff/cases/{case.reference}/notes/"
    assert en.post(url, {"version": fresh(case).version, "body": "Dear customer", "visibility": "customer"}).status_code == 302
    response = en.post(url, {"version": fresh(case).version, "body": "Dear customer, again", "visibility": "customer"})
    assert response.status_code == 400
    assert ('<small class="error" role="alert" data-field="visibility">The customer has had 1 message about this case '
            'in the last 24 hours') in response.content.decode()
    assert list(CaseNote.objects.values_list("body", flat=True)) == ["Dear customer"]


def test_an_empty_note_is_a_400(en, alice, case):
    en.force_login(alice)
    response = en.post(f"/staff/cases/{case.reference}/notes/", {"version": case.version, "body": "", "visibility": "internal"})
    assert response.status_code == 400 and not CaseNote.objects.exists()


def test_a_note_on_a_case_changed_meanwhile_is_kept_and_the_change_is_told(en, alice, bob, case):
    read_at = case.version
    case_transition(case=fresh(case), name="start_verification", actor=bob)
    en.force_login(alice)
    response = en.post(f"/staff/cases/{case.reference}/notes/",
                       {"version": read_at, "body": "still relevant", "visibility": "internal"}, follow=True)
    assert CaseNote.objects.filter(case=case, body="still relevant").exists()
    assert "The case changed while you had it open (it is now verifying): read it again." in response.content.decode()


def test_an_agent_takes_and_releases_a_case_but_gives_it_to_nobody_else(en, alice, carol, case):
    en.force_login(alice)
    url = f"/staff/cases/{case.reference}/assign/"
    assert en.post(url, {"version": case.version, "assignee": alice.pk}).status_code == 302
    assert fresh(case).assignee == alice
    forbidden = en.post(url, {"version": fresh(case).version, "assignee": carol.pk})
    assert forbidden.status_code == 403
    assert "Only a supervisor may assign a case to someone else." in forbidden.content.decode()
    assert en.post(url, {"version": fresh(case).version, "assignee": ""}).status_code == 302
    assert fresh(case).assignee is None


def test_a_supervisor_assigns_to_an_agent_but_never_at_a_stale_version(en, alice, bob, carol, case):
    en.force_login(bob)
    url = f"/staff/cases/{case.reference}/assign/"
    read_at = case.version
    assert en.post(url, {"version": read_at, "assignee": alice.pk}).status_code == 302
    stale = en.post(url, {"version": read_at, "assignee": carol.pk})
    assert stale.status_code == 409 and 'data-stale="true"' in stale.content.decode()
    assert fresh(case).assignee == alice


def test_a_supervisor_extends_the_deadline_with_a_reason(en, bob, carol, case):
    en.force_login(bob)
    url = f"/staff/cases/{case.reference}/deadline/"
    before = case.final_due_at
    assert en.post(url, {"version": case.version, "reason": ""}).status_code == 400
    assert en.post(url, {"version": case.version, "reason": "Waiting for the processor."}).status_code == 302
    assert fresh(case).final_due_at > before and fresh(case).deadline_extensions == 1
    html = en.get(f"/staff/cases/{case.reference}/").content.decode()
    assert "Waiting for the processor." in html and 'id="extend-form"' not in html  # the second is another's
    en.force_login(carol)
    assert 'id="extend-form"' in en.get(f"/staff/cases/{case.reference}/").content.decode()


def test_an_agent_cannot_extend_the_deadline(en, alice, case):
    en.force_login(alice)
    response = en.post(f"/staff/cases/{case.reference}/deadline/", {"version": case.version, "reason": "please"})
    assert response.status_code == 403
    assert fresh(case).deadline_extensions == 0


def test_the_page_is_in_chinese_by_default(client, alice, case):
    client.force_login(alice)
    html = client.get(f"/staff/cases/{case.reference}/").content.decode()
    assert "开始核实" in html and "时间线" in html
    case_add_note(case=case, actor=alice, body="x")
    assert CaseEvent.objects.filter(case=case, kind=EventKind.NOTE).exists()
