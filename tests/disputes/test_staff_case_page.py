"""The staff case page (/staff/cases/<reference>/): what it shows, that it
offers only the steps the user's role and the case's state allow, and that it
costs a fixed number of queries however long the case's history."""
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from disputes.models import Case
from disputes.workflow.casework import case_add_note, case_assign
from disputes.workflow.names import State
from disputes.workflow.steps import case_transition
from merchants.models import Merchant, PaymentProcessor, Terminal
from tests.disputes.workflow import bring_to

pytestmark = pytest.mark.django_db


def page_of(case) -> str:
    return f"/staff/cases/{case.reference}/"


def offered_steps(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'<form method="post" action="/staff/cases/[^/]+/transitions/([a-z_]+)/"', response.content.decode())


@pytest.fixture
def cast(alice, bob, carol):
    return {"alice": alice, "bob": bob, "carol": carol}


def test_the_page_shows_the_report_the_masked_card_and_the_clocks(client, alice, case):
    client.force_login(alice)
    response = client.get(page_of(case), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert case.description in html
    assert 'id="case-card"' in html and "······1234" in html
    assert 'id="case-state" data-state="submitted"' in html
    assert 'id="stage-clock"' in html and 'data-sla="on_track"' in html
    assert "Diagnosis: not checked yet." in html
    assert 'data-kind="filed"' in html  # the timeline


def test_an_unlicensed_processor_is_a_clear_warning(client, alice, case):
    merchant = Merchant.objects.create(name="好又多超市", merchant_id="103287654110281")
    terminal = Terminal.objects.create(merchant=merchant, terminal_id="41082857")
    processor = PaymentProcessor.objects.create(name="FlyPay", licensed=False)
    Case.objects.filter(pk=case.pk).update(resolved_merchant=merchant, resolved_terminal=terminal, processor=processor)
    client.force_login(alice)
    html = client.get(page_of(case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="processor-unlicensed"' in html and "FlyPay holds no payment licence." in html
    PaymentProcessor.objects.filter(pk=processor.pk).update(licensed=True, licence_number="Z2000133000019")
    html = client.get(page_of(case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="processor-unlicensed"' not in html and "Z2000133000019" in html


def test_an_unknown_reference_is_404(client, alice):
    client.force_login(alice)
    assert client.get("/staff/cases/DD000000-NOSUCH/").status_code == 404


@pytest.mark.parametrize("who", ["mallory", "dave", "erin"])
def test_only_agents_and_supervisors_open_a_case_page(client, request, case, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(page_of(case)).status_code == 403


@pytest.mark.parametrize(("state", "who", "expected"), [
    (State.SUBMITTED, "alice", ["start_verification", "withdraw"]),
    (State.VERIFYING, "alice", ["request_customer_info", "confirm_debit", "reversal_found", "propose_refund",
                                "reject", "withdraw"]),
    (State.REFUND_PENDING, "alice", ["withdraw"]),  # approving is a supervisor's
    (State.REFUND_PENDING, "bob", ["approve_refund", "decline_refund", "withdraw"]),
    (State.REJECTED, "alice", ["close"]),
    (State.REJECTED, "bob", ["close", "reopen"]),
    (State.CLOSED, "alice", []),
])
def test_only_the_steps_the_role_and_the_state_allow_are_offered(client, request, file_case, cast, state, who, expected):
    case = bring_to(file_case(), state, cast)
    client.force_login(request.getfixturevalue(who))
    assert offered_steps(client.get(page_of(case))) == expected


def test_the_proposer_is_not_offered_the_approval(client, bob, carol, file_case, cast):
    case = bring_to(file_case(), State.MERCHANT_CONTACT, cast)
    case_transition(case=case, name="propose_refund", actor=bob, amount=Decimal("10.00"))
    client.force_login(bob)
    assert "approve_refund" not in offered_steps(client.get(page_of(case)))
    client.force_login(carol)
    assert "approve_refund" in offered_steps(client.get(page_of(case)))


def test_each_step_asks_for_what_it_needs(client, alice, file_case, cast):
    case = bring_to(file_case(), State.VERIFYING, cast)
    client.force_login(alice)
    html = client.get(page_of(case)).content.decode()
    reject = html.split('data-step="reject"')[1].split("</form>")[0]
    refund = html.split('data-step="propose_refund"')[1].split("</form>")[0]
    confirm = html.split('data-step="confirm_debit"')[1].split("</form>")[0]
    assert 'name="reason"' in reject and 'name="amount"' not in reject
    assert 'name="amount"' in refund and 'name="reason"' not in refund
    assert 'name="reason"' not in confirm and 'name="amount"' not in confirm
    for form in (reject, refund, confirm):
        assert f'name="version" value="{case.version}"' in form and 'name="note"' in form


def test_assignment_is_offered_by_role(client, alice, bob, case):
    client.force_login(alice)
    html = client.get(page_of(case)).content.decode()
    assert 'id="assign-to-me"' in html and 'id="assign-to"' not in html and 'id="release"' not in html
    case_assign(case=case, actor=alice, assignee=alice)
    html = client.get(page_of(case)).content.decode()
    assert 'id="release"' in html and 'id="assign-to-me"' not in html
    client.force_login(bob)
    html = client.get(page_of(case)).content.decode()
    assert 'id="assign-to"' in html and 'id="extend-form"' in html


def test_an_agent_is_not_offered_a_deadline_extension(client, alice, case):
    client.force_login(alice)
    assert 'id="extend-form"' not in client.get(page_of(case)).content.decode()


def _page_queries(client, case) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page_of(case))
    assert response.status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_with_10_and_200_events(client, bob, alice, case, django_assert_max_num_queries):
    client.force_login(bob)
    with translation.override("en"):
        for n in range(9):
            case_add_note(case=case, actor=alice, body=f"note {n}")
    client.get(page_of(case))  # warm: session, permissions, SLA settings
    with django_assert_max_num_queries(14):
        at_10 = _page_queries(client, case)
    for n in range(191):
        case_add_note(case=case, actor=alice, body=f"note {n}")
    assert Case.objects.get(pk=case.pk).events.count() >= 200
    assert _page_queries(client, case) == at_10
