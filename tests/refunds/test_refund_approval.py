"""Who approves a refund, and how many: a supervisor who did not propose it;
above DISPUTE_REFUND_SECOND_APPROVAL_ABOVE a second, different one. The case
waits in refund_pending until the last approval queues the payment."""
from decimal import Decimal

import pytest

from disputes.models import Case, CaseEvent, Refund, RefundStatus
from disputes.workflow.errors import ActionForbidden, TransitionNotAvailable
from disputes.workflow.names import EventKind, State
from disputes.workflow.steps import case_transition
from disputes.workflow.transitions import allowed_transitions


@pytest.fixture(autouse=True)
def threshold(settings):
    settings.DISPUTE_REFUND_SECOND_APPROVAL_ABOVE = Decimal("100.00")


@pytest.fixture
def pending(file_case, alice):
    def _propose(amount: str, proposer=alice):
        case = case_transition(case=file_case(), name="start_verification", actor=alice)
        return case_transition(case=case, name="propose_refund", actor=proposer, amount=amount)

    return _propose



def test_an_agent_cannot_approve(pending, alice):
    case = pending("50.00")
    assert "approve_refund" not in allowed_transitions(case, alice)
    with pytest.raises(ActionForbidden):
        case_transition(case=case, name="approve_refund", actor=alice)
    assert (Case.objects.get(pk=case.pk).refund_approvals, Refund.objects.get(case=case).status) == (0, "proposed")


def test_a_supervisor_cannot_approve_their_own_proposal(pending, bob, carol):
    case = pending("50.00", proposer=bob)
    assert "approve_refund" not in allowed_transitions(case, bob)
    with pytest.raises(ActionForbidden, match="other than the one who proposed it"):
        case_transition(case=case, name="approve_refund", actor=bob)
    assert "approve_refund" in allowed_transitions(case, carol)


def test_a_supervisor_cannot_decline_their_own_proposal_another_can(pending, bob, carol):
    # Declining is the other decision on the refund: the same four eyes. The
    # database's refund_four_eyes refused the proposer's decline with a 500.
    case = pending("50.00", proposer=bob)
    assert "decline_refund" not in allowed_transitions(case, bob)
    with pytest.raises(ActionForbidden, match="declined by a supervisor other than the one who proposed it"):
        case_transition(case=case, name="decline_refund", actor=bob)
    assert (Case.objects.get(pk=case.pk).state, Refund.objects.get(case=case).status) == (State.REFUND_PENDING,
                                                                                          "proposed")
    assert "decline_refund" in allowed_transitions(case, carol)
    case = case_transition(case=case, name="decline_refund", actor=carol)
    assert (case.state, Refund.objects.get(case=case).status, Refund.objects.get(case=case).decided_by) == (
        State.VERIFYING, RefundStatus.DECLINED, carol)


def test_the_first_of_two_approvers_cannot_decline_a_third_supervisor_can(pending, bob, carol, alice):
    case = case_transition(case=pending("120.00"), name="approve_refund", actor=bob)  # above the threshold
    assert "decline_refund" not in allowed_transitions(case, bob)
    with pytest.raises(ActionForbidden, match="declining it is another supervisor's decision"):
        case_transition(case=case, name="decline_refund", actor=bob)
    assert Refund.objects.get(case=case).status == "proposed"
    assert case_transition(case=case, name="decline_refund", actor=carol).state == State.VERIFYING


def test_the_proposers_decline_is_a_clear_403_on_the_case_page_and_in_the_api(pending, bob, client):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    case = pending("50.00", proposer=bob)
    client.force_login(bob)
    page = client.post(f"/staff/cases/{case.reference}/transitions/decline_refund/", {"version": case.version})
    assert page.status_code == 403
    assert "退款须由提出退款以外的另一位主管拒绝。" in page.content.decode()  # the staff default, zh-hans
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=bob).key}")
    response = api.post(f"/api/v1/cases/{case.reference}/transitions/decline_refund/", {}, format="json")
    assert response.status_code == 403
    assert "declined by a supervisor other than the one who proposed it" in response.json()["detail"]
    assert Refund.objects.get(case=case).status == "proposed"


def test_exactly_at_the_threshold_one_approval_queues_the_payment(pending, bob, django_capture_on_commit_callbacks):
    case = pending("100.00")
    with django_capture_on_commit_callbacks() as callbacks:
        case = case_transition(case=case, name="approve_refund", actor=bob)
    refund = Refund.objects.get(case=case)
    assert (refund.status, refund.decided_by, refund.first_approved_by) == (RefundStatus.APPROVED, bob, None)
    assert (case.state, case.refund_approvals, case.refund_approved_by) == (State.REFUND_PENDING, 1, None)
    assert len(callbacks) == 1  # the payment task, after commit
    # Nothing more to approve or decline while it is paid; nor can the case be withdrawn under it.
    assert allowed_transitions(case, bob) == []


def test_above_the_threshold_a_second_different_supervisor_must_approve(pending, alice, bob, carol,
                                                                          django_capture_on_commit_callbacks):
    case = pending("100.01")
    proposed = CaseEvent.objects.filter(case=case, transition="propose_refund").get()
    assert proposed.payload == {"amount": "100.01", "currency": "CNY", "approvals_needed": 2}
    with django_capture_on_commit_callbacks() as callbacks:
        case = case_transition(case=case, name="approve_refund", actor=bob)
    assert callbacks == []  # nothing paid yet
    refund = Refund.objects.get(case=case)
    assert (refund.status, refund.first_approved_by, refund.decided_by) == (RefundStatus.PROPOSED, bob, None)
    assert (case.state, case.refund_approvals, case.refund_approved_by) == (State.REFUND_PENDING, 1, bob)
    # bob again: refused, nothing changes (a duplicated approval is not a second one)
    version = case.version
    assert "approve_refund" not in allowed_transitions(case, bob)
    with pytest.raises(ActionForbidden) as refused:
        case_transition(case=case, name="approve_refund", actor=bob)
    assert str(refused.value) == ("You have approved this refund already: the second approval must be another "
                                  "supervisor's.")
    assert (Case.objects.get(pk=case.pk).version, Case.objects.get(pk=case.pk).refund_approvals) == (version, 1)
    # the proposer (an agent) cannot either; carol can
    assert "approve_refund" not in allowed_transitions(case, alice)
    with django_capture_on_commit_callbacks() as callbacks:
        case = case_transition(case=case, name="approve_refund", actor=carol)
    refund.refresh_from_db()
    assert (refund.status, refund.first_approved_by, refund.decided_by) == (RefundStatus.APPROVED, bob, carol)
    assert case.state == State.REFUND_PENDING and len(callbacks) == 1
    assert Case.objects.get(pk=case.pk).refund_approved_by == bob  # the first of the two approvals
    approvals = CaseEvent.objects.filter(case=case, transition="approve_refund").order_by("id")
    assert [(e.actor_label, e.payload["approval"], e.payload["approvals_needed"]) for e in approvals] == [
        ("bob", 1, 2), ("carol", 2, 2)]


def test_a_supervisors_proposal_above_the_threshold_needs_two_other_supervisors(pending, bob, carol, frank):
    case = pending("120.00", proposer=bob)
    case = case_transition(case=case, name="approve_refund", actor=carol)
    with pytest.raises(ActionForbidden):
        case_transition(case=case, name="approve_refund", actor=bob)
    with pytest.raises(ActionForbidden):
        case_transition(case=case, name="approve_refund", actor=carol)
    case = case_transition(case=case, name="approve_refund", actor=frank)
    assert Refund.objects.get(case=case).status == RefundStatus.APPROVED


def test_once_approved_a_further_approval_decline_or_withdrawal_is_refused(pending, bob, carol, dave):
    case = pending("50.00")
    case = case_transition(case=case, name="approve_refund", actor=bob)
    for name, actor in (("approve_refund", carol), ("decline_refund", carol), ("withdraw", dave)):
        with pytest.raises(TransitionNotAvailable) as refused:
            case_transition(case=case, name=name, actor=actor)
        if name != "withdraw":
            assert str(refused.value) == "This refund has all its approvals: it is being paid."
    assert Refund.objects.get(case=case).status == RefundStatus.APPROVED
    assert CaseEvent.objects.filter(case=case, transition="approve_refund").count() == 1


def test_a_refund_declined_after_a_first_approval_forgets_it(pending, bob, carol, alice):
    case = pending("120.00")
    case = case_transition(case=case, name="approve_refund", actor=bob)
    case = case_transition(case=case, name="decline_refund", actor=carol)
    assert (case.state, case.refund_approvals, case.refund_approved_by) == (State.VERIFYING, 0, None)
    case = case_transition(case=case, name="propose_refund", actor=alice, amount="20.00")
    assert "approve_refund" in allowed_transitions(case, bob)
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.REFUND).exists()


def test_approving_checks_this_cases_proposed_refund_not_an_earlier_declined_one_nor_another_cases(
        file_case, alice, bob, carol):
    other = case_transition(case=file_case(phone="+8613800138099"), name="start_verification", actor=alice)
    case_transition(case=other, name="propose_refund", actor=alice, amount="50.00")  # proposed, on another case
    case = case_transition(case=file_case(), name="start_verification", actor=alice)
    for amount in ("100.00", "90.00"):  # each declined: a declined refund claims nothing
        case = case_transition(case=case, name="propose_refund", actor=alice, amount=amount)
        case = case_transition(case=case, name="decline_refund", actor=carol)
    case = case_transition(case=case, name="propose_refund", actor=alice, amount="80.00")
    case = case_transition(case=case, name="approve_refund", actor=bob)
    assert list(Refund.objects.filter(case=case).order_by("id").values_list("amount", "status")) == [
        (Decimal("100.00"), RefundStatus.DECLINED), (Decimal("90.00"), RefundStatus.DECLINED),
        (Decimal("80.00"), RefundStatus.APPROVED)]
    assert Refund.objects.get(case=other).status == RefundStatus.PROPOSED
