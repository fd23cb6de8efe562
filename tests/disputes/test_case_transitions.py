"""Every transition of docs/design.md: an allowed role, a forbidden role, a wrong
source state; plus the conditions (reason, refund amount, four eyes, reopen
window) and the dynamic targets."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from disputes.refunds.payment import refund_execute
from disputes.workflow.casework import case_assign
from disputes.workflow.transitions import allowed_transitions
from disputes.workflow.steps import case_transition
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.errors import ActionForbidden, StaleCase, TransitionNotAvailable, TransitionUnknown
from disputes.models import TRANSITION_NAMES, Case, CaseEvent, Refund, RefundStatus
from disputes.workflow.names import EventKind, State
from tests.disputes.workflow import bring_to


@pytest.fixture
def cast(alice, bob, carol, dave, erin, mallory, system):
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin,
            "mallory": mallory, "system": system, "customer": CUSTOMER}


# name: (from state, allowed actors, forbidden actors, target, inputs, a wrong source state)
SPEC = {
    "start_verification": (State.SUBMITTED, ["alice", "bob"], ["dave", "erin", "mallory", "customer", "system"], State.VERIFYING, {}, State.VERIFYING),
    "request_customer_info": (State.MERCHANT_CONTACT, ["alice"], ["dave", "customer", "system"], State.AWAITING_CUSTOMER, {}, State.SUBMITTED),
    "customer_info_received": (State.AWAITING_CUSTOMER, ["alice", "customer"], ["dave", "erin"], State.VERIFYING, {}, State.VERIFYING),
    "confirm_debit": (State.VERIFYING, ["alice"], ["dave", "customer", "system"], State.MERCHANT_CONTACT, {}, State.MERCHANT_CONTACT),
    "reversal_found": (State.VERIFYING, ["alice", "system"], ["dave", "customer"], State.RESOLVED, {}, State.SUBMITTED),
    "merchant_refunded": (State.MERCHANT_CONTACT, ["alice", "system"], ["dave", "customer"], State.RESOLVED, {}, State.VERIFYING),
    "escalate_to_processor": (State.MERCHANT_CONTACT, ["alice", "system"], ["dave", "customer"], State.PROCESSOR_INQUIRY, {}, State.VERIFYING),
    "back_to_merchant": (State.PROCESSOR_INQUIRY, ["alice"], ["dave", "customer", "system"], State.MERCHANT_CONTACT, {}, State.MERCHANT_CONTACT),
    "propose_refund": (State.PROCESSOR_INQUIRY, ["alice"], ["dave", "customer", "system", "erin"], State.REFUND_PENDING, {"amount": Decimal("50.00")}, State.SUBMITTED),
    # An approval queues the payment; the case becomes refunded once the gateway paid (tests/refunds/).
    "approve_refund": (State.REFUND_PENDING, ["bob", "carol"], ["alice", "dave", "customer", "system"], State.REFUND_PENDING, {}, State.MERCHANT_CONTACT),
    "decline_refund": (State.REFUND_PENDING, ["bob"], ["alice", "dave", "customer", "system"], State.MERCHANT_CONTACT, {}, State.MERCHANT_CONTACT),
    "reject": (State.VERIFYING, ["alice"], ["dave", "customer", "system"], State.REJECTED, {"reason": "Reversal already posted."}, State.SUBMITTED),
    "withdraw": (State.AWAITING_CUSTOMER, ["alice", "dave", "customer"], ["erin", "mallory", "system"], State.WITHDRAWN, {}, State.RESOLVED),
    "close": (State.RESOLVED, ["alice", "system"], ["dave", "customer", "erin"], State.CLOSED, {}, State.VERIFYING),
    "reopen": (State.REJECTED, ["bob"], ["alice", "dave", "customer", "system"], State.VERIFYING, {}, State.RESOLVED),
}


def test_the_spec_covers_every_transition_of_the_design():
    assert set(SPEC) == set(TRANSITION_NAMES)
    assert len(TRANSITION_NAMES) == 15


def _case_in(state, case, cast):
    return bring_to(case, state, cast)


def _allowed_params():
    return [(name, who) for name, spec in SPEC.items() for who in spec[1]]


def _forbidden_params():
    return [(name, who) for name, spec in SPEC.items() for who in spec[2]]


@pytest.mark.parametrize(("name", "who"), _allowed_params())
def test_an_allowed_role_takes_the_transition_and_one_event_is_written(case, cast, name, who):
    source, _allowed, _forbidden, target, inputs, _wrong = SPEC[name]
    case = _case_in(source, case, cast)
    version = case.version
    events_before = CaseEvent.objects.filter(case=case).count()

    assert name in allowed_transitions(case, cast[who])
    case_transition(case=case, name=name, actor=cast[who], note="done", **inputs)

    stored = Case.objects.get(pk=case.pk)
    assert stored.state == target
    assert stored.version == version + 1
    assert CaseEvent.objects.filter(case=case).count() == events_before + 1
    event = CaseEvent.objects.filter(case=case).latest("id")
    assert (event.kind, event.transition, event.from_state, event.to_state) == (EventKind.TRANSITION, name, source, target)
    assert event.message == "done"
    assert event.actor_label == cast[who].get_username()


@pytest.mark.parametrize(("name", "who"), _forbidden_params())
def test_a_forbidden_role_is_refused_and_nothing_changes(case, cast, name, who):
    source, _allowed, _forbidden, _target, inputs, _wrong = SPEC[name]
    case = _case_in(source, case, cast)
    events_before = CaseEvent.objects.filter(case=case).count()

    assert name not in allowed_transitions(case, cast[who])
    with pytest.raises(ActionForbidden):
        case_transition(case=case, name=name, actor=cast[who], **inputs)

    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.version) == (source, case.version)
    assert CaseEvent.objects.filter(case=case).count() == events_before


@pytest.mark.parametrize("name", list(SPEC))
def test_a_wrong_source_state_is_a_conflict_and_nothing_changes(case, cast, name):
    _source, allowed, _forbidden, _target, inputs, wrong = SPEC[name]
    case = _case_in(wrong, case, cast)
    events_before = CaseEvent.objects.filter(case=case).count()
    actor = cast[allowed[0]]

    assert name not in allowed_transitions(case, actor)
    with pytest.raises(TransitionNotAvailable):
        case_transition(case=case, name=name, actor=actor, **inputs)

    assert Case.objects.get(pk=case.pk).state == wrong
    assert CaseEvent.objects.filter(case=case).count() == events_before


def test_an_unknown_transition_name_is_refused(case, alice):
    with pytest.raises(TransitionUnknown):
        case_transition(case=case, name="delete_everything", actor=alice)
    with pytest.raises(TransitionUnknown):
        case_transition(case=case, name="_do_update", actor=alice)


def test_the_state_field_cannot_be_written_directly(case):
    with pytest.raises(AttributeError):
        case.state = State.REFUNDED


# --- conditions ---------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_refuses_to_reject_without_a_reason(case, cast, reason):
    case = bring_to(case, State.VERIFYING, cast)
    with pytest.raises(ValidationError) as excinfo:
        case_transition(case=case, name="reject", actor=cast["alice"], reason=reason)
    assert "reason" in excinfo.value.message_dict
    assert Case.objects.get(pk=case.pk).state == State.VERIFYING


def test_the_rejection_reason_is_kept_in_the_case_and_the_event(case, cast):
    case = bring_to(case, State.VERIFYING, cast)
    case_transition(case=case, name="reject", actor=cast["alice"], reason="The debit was reversed on 21/11.")
    stored = Case.objects.get(pk=case.pk)
    assert stored.rejection_reason == "The debit was reversed on 21/11."
    assert CaseEvent.objects.filter(case=case).latest("id").payload["reason"] == "The debit was reversed on 21/11."


@pytest.mark.parametrize("amount", [Decimal("128.51"), Decimal("0"), Decimal("-5"), "1e3", "abc", None, "10.001"])
def test_it_refuses_a_refund_that_is_not_positive_or_above_the_disputed_amount(case, cast, amount):
    case = bring_to(case, State.VERIFYING, cast)  # disputed amount 128.50
    with pytest.raises(ValidationError) as excinfo:
        case_transition(case=case, name="propose_refund", actor=cast["alice"], amount=amount)
    assert "amount" in excinfo.value.message_dict
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.refund_amount) == (State.VERIFYING, None)
    assert not Refund.objects.exists()


def test_a_refund_of_the_whole_disputed_amount_is_allowed(case, cast):
    case = bring_to(case, State.VERIFYING, cast)
    case_transition(case=case, name="propose_refund", actor=cast["alice"], amount="128.50")
    refund = Refund.objects.get(case=case)
    assert (refund.amount, refund.status, refund.proposed_by) == (Decimal("128.50"), RefundStatus.PROPOSED, cast["alice"])


def test_a_supervisor_cannot_approve_their_own_refund_proposal(case, cast):
    case = bring_to(case, State.VERIFYING, cast)
    bob = cast["bob"]
    case_transition(case=case, name="propose_refund", actor=bob, amount="20.00")
    assert "approve_refund" not in allowed_transitions(case, bob)
    with pytest.raises(ActionForbidden):
        case_transition(case=case, name="approve_refund", actor=bob)
    assert Case.objects.get(pk=case.pk).state == State.REFUND_PENDING
    case_transition(case=case, name="approve_refund", actor=cast["carol"])
    refund = Refund.objects.get(case=case)
    assert (refund.status, refund.decided_by) == (RefundStatus.APPROVED, cast["carol"])


def test_an_approved_refund_is_paid_once(case, cast):
    case = bring_to(case, State.REFUND_PENDING, cast)
    case_transition(case=case, name="approve_refund", actor=cast["bob"])
    refund = Refund.objects.get(case=case)
    assert refund_execute(refund_id=refund.pk) is True
    assert refund_execute(refund_id=refund.pk) is False
    refund.refresh_from_db()
    assert refund.status == RefundStatus.EXECUTED and refund.execution_reference
    assert CaseEvent.objects.filter(case=case, kind=EventKind.REFUND).count() == 1
    assert Case.objects.get(pk=case.pk).state == State.REFUNDED


def test_the_state_machine_approves_a_refund_only_in_refund_pending(case, cast):
    case = bring_to(case, State.REFUNDED, cast)  # paid: its refund fields stay, only the source state rules it out
    with pytest.raises(TransitionNotAllowed, match="Can't switch from state 'refunded' using method 'approve_refund'"):
        case.approve_refund()
    assert case.state == State.REFUNDED


def test_the_state_machine_refuses_to_decline_or_withdraw_once_the_last_approval_ordered_the_payment(case, cast):
    case = bring_to(case, State.REFUND_PENDING, cast)
    case = case_transition(case=case, name="approve_refund", actor=cast["bob"])  # 100.00: one approval is all
    for name in ("decline_refund", "withdraw"):
        with pytest.raises(TransitionNotAllowed, match=f"conditions have not been met for method '{name}'"):
            getattr(case, name)()
        assert case.state == State.REFUND_PENDING


@pytest.mark.parametrize("stage", [State.VERIFYING, State.MERCHANT_CONTACT, State.PROCESSOR_INQUIRY])
def test_customer_info_received_returns_to_the_stage_it_left(case, cast, stage):
    case = bring_to(case, stage, cast)
    case_transition(case=case, name="request_customer_info", actor=cast["alice"])
    case_transition(case=case, name="customer_info_received", actor=CUSTOMER)
    assert Case.objects.get(pk=case.pk).state == stage


@pytest.mark.parametrize("stage", [State.VERIFYING, State.MERCHANT_CONTACT, State.PROCESSOR_INQUIRY])
def test_a_declined_refund_returns_to_the_stage_it_came_from(case, cast, stage):
    case = bring_to(case, stage, cast)
    case_transition(case=case, name="propose_refund", actor=cast["alice"], amount="10.00")
    case_transition(case=case, name="decline_refund", actor=cast["bob"], note="Merchant will refund.")
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.refund_amount) == (stage, None)
    assert Refund.objects.get(case=case).status == RefundStatus.DECLINED
    # a new proposal is possible after a decline
    case_transition(case=stored, name="propose_refund", actor=cast["alice"], amount="12.00")
    assert Refund.objects.filter(case=case).count() == 2


def test_reopen_is_refused_outside_the_reopen_window(case, cast, settings):
    case = bring_to(case, State.REJECTED, cast)
    settings.DISPUTE_REOPEN_WINDOW = timedelta(days=30)
    Case.objects.filter(pk=case.pk).update(ended_at=timezone.now() - timedelta(days=31))
    case = Case.objects.get(pk=case.pk)
    assert "reopen" not in allowed_transitions(case, cast["bob"])
    with pytest.raises(TransitionNotAvailable):
        case_transition(case=case, name="reopen", actor=cast["bob"])
    settings.DISPUTE_REOPEN_WINDOW = timedelta(days=40)
    case_transition(case=case, name="reopen", actor=cast["bob"])
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.ended_at, stored.rejection_reason) == (State.VERIFYING, None, "")


def test_a_closed_case_can_be_reopened_within_the_window(case, cast):
    case = bring_to(case, State.CLOSED, cast)
    case_transition(case=case, name="reopen", actor=cast["bob"])
    assert Case.objects.get(pk=case.pk).state == State.VERIFYING


@pytest.mark.parametrize(("end", "last_step"), [(State.RESOLVED, "reversal_found"), (State.REJECTED, "reject"),
                                               (State.REFUNDED, "approve_refund"), (State.WITHDRAWN, "withdraw")])
def test_ending_a_case_stamps_ended_at_with_the_time_of_the_ending_step(case, cast, end, last_step):
    assert case.ended_at is None
    before = timezone.now()
    case = bring_to(case, end, cast)
    stored = Case.objects.get(pk=case.pk)
    event = CaseEvent.objects.filter(case=case, transition=last_step, to_state=end).get()
    assert before <= stored.ended_at <= timezone.now()
    assert stored.ended_at == stored.stage_entered_at  # stamped by the ending step itself, not earlier
    assert abs(stored.ended_at - event.created_at) < timedelta(seconds=1)


# --- stale copies -----------------------------------------------------------------


def test_a_transition_on_a_stale_copy_fails_cleanly(case, cast):
    case = bring_to(case, State.VERIFYING, cast)
    first = Case.objects.get(pk=case.pk)
    second = Case.objects.get(pk=case.pk)
    case_transition(case=first, name="confirm_debit", actor=cast["alice"])
    events_before = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(StaleCase):
        case_transition(case=second, name="reject", actor=cast["alice"], reason="dup")
    assert Case.objects.get(pk=case.pk).state == State.MERCHANT_CONTACT
    assert CaseEvent.objects.filter(case=case).count() == events_before


def test_an_assignment_on_a_stale_copy_fails_cleanly(case, cast):
    first = Case.objects.get(pk=case.pk)
    second = Case.objects.get(pk=case.pk)
    case_assign(case=first, actor=cast["bob"], assignee=cast["alice"])
    with pytest.raises(StaleCase):
        case_assign(case=second, actor=cast["bob"], assignee=cast["bob"])
    assert Case.objects.get(pk=case.pk).assignee == cast["alice"]


def test_an_expected_version_that_is_not_current_is_refused(case, cast):
    with pytest.raises(StaleCase):
        case_transition(case=case, name="start_verification", actor=cast["alice"], expected_version=case.version + 1)
    case_transition(case=case, name="start_verification", actor=cast["alice"], expected_version=case.version)


def test_after_a_refused_step_the_callers_copy_shows_the_database_state(case, cast):
    case = bring_to(case, State.VERIFYING, cast)
    stale = Case.objects.get(pk=case.pk)
    case_transition(case=case, name="confirm_debit", actor=cast["alice"])
    with pytest.raises(StaleCase):
        case_transition(case=stale, name="reject", actor=cast["alice"], reason="dup")
    assert (stale.state, stale.rejection_reason, stale.version) == (State.MERCHANT_CONTACT, "", case.version)
