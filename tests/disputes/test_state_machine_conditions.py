"""The state machine's own rules, reached directly on ``Case`` (the services
check most of them first, so tests through the services alone would pass with
the rules removed from the state machine), the fields each step sets or
clears, and the step services' boundaries and messages: refund amounts, the
reopen window, the four-eyes rule, the event each step writes."""
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django_fsm import TransitionNotAllowed, has_transition_perm

from config.celery import app as celery_app
from disputes.models import Case, CaseEvent, CaseNote, NoteVisibility, Notification, Refund, RefundStatus
from disputes.refunds.payment import refund_execute
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.errors import ActionForbidden, StaleCase, TransitionNotAvailable
from disputes.workflow.names import NOTE_MAX_LENGTH, EventKind, State
from disputes.workflow.steps import (
    case_approve_refund,
    case_customer_reply,
    case_decline_refund,
    case_propose_refund,
    case_reject,
    case_reopen,
    case_transition,
)
from disputes.workflow.transitions import allowed_transitions
from tests.conftest import assert_system_note
from tests.disputes.workflow import bring_to

pytestmark = pytest.mark.django_db

WINDOW = timedelta(days=30)


@pytest.fixture
def cast(alice, bob, carol, dave, erin, mallory, system):
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin,
            "mallory": mallory, "system": system, "customer": CUSTOMER}


@pytest.fixture(autouse=True)
def _english():
    """Messages are compared as written in the code (the site's default language is Chinese)."""
    with translation.override("en"):
        yield


class FrozenClock:
    def __init__(self, now):
        self.now = now


@pytest.fixture
def clock():
    """``timezone.now()`` as the code reads it: fixed until the test moves it."""
    frozen = FrozenClock(timezone.now().replace(microsecond=500000))
    with mock.patch.object(timezone, "now", lambda: frozen.now):
        yield frozen


def _last_event(case) -> CaseEvent:
    return CaseEvent.objects.filter(case=case).latest("id")


# --- the conditions of the state machine itself ----------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_the_state_machine_refuses_to_reject_without_a_rejection_reason(case, cast, reason):
    case = bring_to(case, State.VERIFYING, cast)
    case.rejection_reason = reason
    with pytest.raises(TransitionNotAllowed, match="conditions have not been met for method 'reject'"):
        case.reject()
    assert case.state == State.VERIFYING


def test_the_state_machine_rejects_with_a_rejection_reason(case, cast):
    case = bring_to(case, State.VERIFYING, cast)
    case.rejection_reason = "No debit in the ledger."
    case.reject()
    assert case.state == State.REJECTED


def test_the_state_machine_refuses_a_step_from_a_state_it_does_not_start_from(case):
    case.rejection_reason = "No debit in the ledger."
    with pytest.raises(TransitionNotAllowed, match="Can't switch from state 'submitted' using method 'reject'"):
        case.reject()


@pytest.mark.parametrize(("amount", "allowed"), [
    (None, False), (Decimal("0"), False), (Decimal("-0.01"), False), (Decimal("0.01"), True),
    (Decimal("0.99"), True), (Decimal("1.00"), True), (Decimal("128.50"), True), (Decimal("128.51"), False),
])
def test_the_state_machine_proposes_only_a_refund_above_zero_and_within_the_disputed_amount(case, cast, amount,
                                                                                               allowed):
    case = bring_to(case, State.VERIFYING, cast)  # disputed amount 128.50
    case.refund_amount = amount
    if allowed:
        case.propose_refund()
        assert (case.state, case.resume_state) == (State.REFUND_PENDING, State.VERIFYING)
    else:
        with pytest.raises(TransitionNotAllowed, match="conditions have not been met for method 'propose_refund'"):
            case.propose_refund()
        assert case.state == State.VERIFYING


@pytest.mark.parametrize("amount", [None, Decimal("100.01") + Decimal("28.50")])
def test_the_state_machine_checks_the_refund_amount_again_on_approval(case, cast, amount):
    case = bring_to(case, State.REFUND_PENDING, cast)  # 100.00 proposed by alice
    case.refund_amount = amount
    with pytest.raises(TransitionNotAllowed, match="conditions have not been met for method 'approve_refund'"):
        case.approve_refund()
    case.refund_amount = case.amount
    case.approve_refund()  # an approval: counted; the case waits for the payment
    assert (case.state, case.refund_approvals) == (State.REFUND_PENDING, 1)


def test_the_four_eyes_rule_is_the_state_machines_own_permission(case, cast):
    case = bring_to(case, State.REFUND_PENDING, cast)  # proposed by alice
    assert has_transition_perm(case.approve_refund, cast["bob"])
    assert has_transition_perm(case.approve_refund, cast["carol"])
    assert not has_transition_perm(case.approve_refund, cast["alice"])  # an agent never approves
    case.refund_proposed_by = cast["bob"]
    assert not has_transition_perm(case.approve_refund, cast["bob"])
    assert has_transition_perm(case.approve_refund, cast["carol"])


def test_the_state_machine_refuses_to_reopen_a_case_that_never_ended(case, cast):
    case = bring_to(case, State.REJECTED, cast)
    case.ended_at = None
    with pytest.raises(TransitionNotAllowed, match="conditions have not been met for method 'reopen'"):
        case.reopen()


def test_the_reopen_window_includes_its_last_instant(case, cast, clock, settings):
    settings.DISPUTE_REOPEN_WINDOW = WINDOW
    case = bring_to(case, State.REJECTED, cast)
    clock.now = case.ended_at + WINDOW
    case_reopen(case=case, actor=cast["bob"])
    assert Case.objects.get(pk=case.pk).state == State.VERIFYING


def test_the_reopen_window_is_closed_one_microsecond_after_it_ends(case, cast, clock, settings):
    settings.DISPUTE_REOPEN_WINDOW = WINDOW
    case = bring_to(case, State.REJECTED, cast)
    clock.now = case.ended_at + WINDOW + timedelta(microseconds=1)
    with pytest.raises(TransitionNotAvailable, match="^The reopen window of this case has passed.$"):
        case_reopen(case=case, actor=cast["bob"])
    assert Case.objects.get(pk=case.pk).state == State.REJECTED


# --- what each step sets and clears ----------------------------------------------------


def test_closing_stamps_closed_at_with_the_time_of_the_step(case, cast, clock):
    case = bring_to(case, State.RESOLVED, cast)
    clock.now += timedelta(hours=5)
    case_transition(case=case, name="close", actor=cast["alice"])
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.closed_at) == (State.CLOSED, clock.now)
    assert stored.ended_at == clock.now - timedelta(hours=5)  # ended when it was resolved, not when closed


def test_closing_on_the_model_stamps_closed_at(case, cast, clock):
    case = bring_to(case, State.RESOLVED, cast)
    case.close()
    assert case.closed_at == clock.now


def test_reopening_a_closed_refunded_case_clears_its_end_and_refund_fields(case, cast, clock):
    case = bring_to(case, State.REFUNDED, cast)
    case = case_transition(case=case, name="close", actor=cast["alice"])
    assert (case.refund_amount, case.refund_proposed_by) == (Decimal("100.00"), cast["alice"])
    case_reopen(case=case, actor=cast["bob"])
    stored = Case.objects.get(pk=case.pk)
    assert stored.state == State.VERIFYING
    assert (stored.ended_at, stored.closed_at, stored.refund_amount, stored.refund_proposed_by) == (None, None, None, None)


def test_reopening_a_rejected_case_clears_the_rejection_reason(case, cast):
    case = bring_to(case, State.REJECTED, cast)
    case.reopen()
    assert (case.rejection_reason, case.ended_at, case.closed_at) == ("", None, None)


def test_declining_a_refund_clears_the_amount_and_who_proposed_it(case, cast, clock):
    case = bring_to(case, State.REFUND_PENDING, cast)
    clock.now += timedelta(minutes=7)
    case_decline_refund(case=case, actor=cast["bob"])
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.refund_amount, stored.refund_proposed_by) == (State.MERCHANT_CONTACT, None, None)
    refund = Refund.objects.get(case=case)
    assert (refund.status, refund.decided_by, refund.decided_at) == (RefundStatus.DECLINED, cast["bob"], clock.now)
    event = _last_event(case)
    assert (event.message, event.payload) == ("", {"amount": "100.00", "currency": "CNY", "refund_id": refund.pk})


def test_asking_the_customer_remembers_the_stage_to_return_to(case, cast):
    case = bring_to(case, State.MERCHANT_CONTACT, cast)
    case.request_customer_info()
    assert (case.state, case.resume_state) == (State.AWAITING_CUSTOMER, State.MERCHANT_CONTACT)


# --- the step services: input, messages, events -----------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_rejecting_without_a_reason_says_so(case, cast, reason):
    case = bring_to(case, State.VERIFYING, cast)
    with pytest.raises(ValidationError) as excinfo:
        case_reject(case=case, actor=cast["alice"], reason=reason)
    assert excinfo.value.message_dict == {"reason": ["Give the reason for rejecting the complaint."]}


def test_a_rejection_without_a_note_writes_an_event_with_no_message_and_the_reason(case, cast):
    case = bring_to(case, State.VERIFYING, cast)
    case_reject(case=case, actor=cast["alice"], reason="  Reversal posted on 21/11.  ")
    event = _last_event(case)
    assert (event.message, event.payload) == ("", {"reason": "Reversal posted on 21/11."})
    assert Case.objects.get(pk=case.pk).rejection_reason == "Reversal posted on 21/11."


@pytest.mark.parametrize("amount", [None, ""])
def test_proposing_a_refund_without_an_amount_asks_for_it(case, cast, amount):
    case = bring_to(case, State.VERIFYING, cast)
    with pytest.raises(ValidationError) as excinfo:
        case_propose_refund(case=case, actor=cast["alice"], amount=amount)
    assert excinfo.value.message_dict == {"amount": ["Enter the amount to refund."]}


def test_a_refund_above_the_disputed_amount_is_refused_with_the_disputed_amount_named(case, cast):
    case = bring_to(case, State.VERIFYING, cast)
    with pytest.raises(ValidationError) as excinfo:
        case_propose_refund(case=case, actor=cast["alice"], amount="128.51")
    assert excinfo.value.message_dict == {"amount": ["A refund cannot exceed the disputed amount of 128.50 CNY."]}


@pytest.mark.parametrize("amount", ["0.01", "1.00", "128.50"])
def test_a_refund_from_one_cent_to_the_whole_disputed_amount_is_proposed(case, cast, amount):
    case = bring_to(case, State.VERIFYING, cast)
    case_propose_refund(case=case, actor=cast["alice"], amount=amount)
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.refund_amount, stored.refund_proposed_by) == (
        State.REFUND_PENDING, Decimal(amount), cast["alice"])
    refund = Refund.objects.get(case=case)
    assert (refund.amount, refund.currency, refund.status, refund.proposed_by) == (
        Decimal(amount), "CNY", RefundStatus.PROPOSED, cast["alice"])
    event = _last_event(case)
    assert (event.message, event.payload) == ("", {"amount": amount, "currency": "CNY", "approvals_needed": 1})


def test_a_refund_in_a_currency_without_minor_units_is_recorded_in_that_currency(file_case, cast):
    case = bring_to(file_case(amount=Decimal("5000"), currency="JPY"), State.VERIFYING, cast)
    case_propose_refund(case=case, actor=cast["alice"], amount="1200")
    refund = Refund.objects.get(case=case)
    assert (refund.amount, refund.currency) == (Decimal("1200.00"), "JPY")
    assert _last_event(case).payload == {"amount": "1200.00", "currency": "JPY", "approvals_needed": 1}


def test_a_supervisor_approving_their_own_proposal_is_told_about_the_four_eyes_rule(case, cast):
    case = bring_to(case, State.VERIFYING, cast)
    case_propose_refund(case=case, actor=cast["bob"], amount="20.00")
    with pytest.raises(ActionForbidden, match="^A refund must be approved by a supervisor other than the one who "
                                              "proposed it.$"):
        case_approve_refund(case=case, actor=cast["bob"])


def test_an_agent_approving_a_refund_is_simply_not_allowed(case, cast):
    case = bring_to(case, State.REFUND_PENDING, cast)
    with pytest.raises(ActionForbidden, match="^You are not allowed to do this.$"):
        case_approve_refund(case=case, actor=cast["alice"])


def test_approving_decides_the_pending_refund_of_this_case_and_pays_it_after_commit(
        file_case, cast, clock, django_capture_on_commit_callbacks):
    other = bring_to(file_case(phone="+8613800138099"), State.REFUND_PENDING, cast)
    case = bring_to(file_case(), State.MERCHANT_CONTACT, cast)
    case_propose_refund(case=case, actor=cast["alice"], amount="10.00")
    case = case_decline_refund(case=case, actor=cast["bob"])
    case_propose_refund(case=case, actor=cast["alice"], amount="12.00")
    clock.now += timedelta(minutes=3)
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            case_approve_refund(case=case, actor=cast["carol"])
    finally:
        celery_app.conf.task_always_eager = False
    declined, approved = Refund.objects.filter(case=case).order_by("id")
    assert declined.status == RefundStatus.DECLINED
    assert (approved.amount, approved.status, approved.decided_by, approved.decided_at) == (
        Decimal("12.00"), RefundStatus.EXECUTED, cast["carol"], clock.now)
    assert Refund.objects.get(case=other).status == RefundStatus.PROPOSED
    approval, paid = CaseEvent.objects.filter(case=case, kind=EventKind.TRANSITION).order_by("-id")[:2][::-1]
    assert (approval.transition, approval.actor_label, approval.to_state, approval.message, approval.payload) == (
        "approve_refund", "carol", State.REFUND_PENDING, "",
        {"amount": "12.00", "currency": "CNY", "refund_id": approved.pk, "approval": 1, "approvals_needed": 1})
    assert (paid.transition, paid.actor_label, paid.to_state) == ("approve_refund", "system", State.REFUNDED)


@pytest.mark.parametrize("service", [case_reject, case_propose_refund, case_approve_refund, case_decline_refund,
                                     case_reopen])
def test_every_step_service_refuses_a_copy_older_than_the_expected_version(case, cast, service):
    state = {case_reject: State.VERIFYING, case_propose_refund: State.VERIFYING,
             case_approve_refund: State.REFUND_PENDING, case_decline_refund: State.REFUND_PENDING,
             case_reopen: State.REJECTED}[service]
    case = bring_to(case, state, cast)
    inputs = {case_reject: {"reason": "No debit."}, case_propose_refund: {"amount": "10.00"}}.get(service, {})
    with pytest.raises(StaleCase):
        service(case=case, actor=cast["bob"], expected_version=case.version - 1, **inputs)
    assert Case.objects.get(pk=case.pk).state == state


# --- paying a refund ---------------------------------------------------------------------


def test_paying_a_refund_pays_that_refund_only_stamps_it_and_writes_one_event(file_case, cast, clock):
    first = bring_to(file_case(phone="+8613800138098"), State.REFUND_PENDING, cast)
    second = bring_to(file_case(), State.REFUND_PENDING, cast)
    for case in (first, second):
        case_approve_refund(case=case, actor=cast["bob"])
    refund = Refund.objects.get(case=second)
    clock.now += timedelta(seconds=90)
    assert refund_execute(refund_id=refund.pk) is True
    refund.refresh_from_db()
    # The default gateway posts a ledger refund entry whose id is derived from the refund's.
    assert (refund.status, refund.executed_at, refund.execution_reference, refund.gateway) == (
        RefundStatus.EXECUTED, clock.now, f"DDRF{refund.pk:012d}", "ledger")
    assert Refund.objects.get(case=first).status == RefundStatus.APPROVED
    event = CaseEvent.objects.get(case=second, kind=EventKind.REFUND)
    assert (event.message, event.actor_label) == ("Refund paid", "system")
    assert event.payload == {"refund_id": refund.pk, "amount": "100.00", "currency": "CNY",
                             "execution_reference": f"DDRF{refund.pk:012d}", "gateway": "ledger",
                             "expected_credit_on": refund.expected_credit_on.isoformat()}
    assert not CaseEvent.objects.filter(case=first, kind=EventKind.REFUND).exists()
    assert_system_note(CaseEvent.objects.get(case=second, transition="approve_refund", actor_label="system"),
                       "refund_paid", "The refund is paid.", "退款已付出。")
    assert Case.objects.get(pk=second.pk).state == State.REFUNDED
    assert Case.objects.get(pk=first.pk).state == State.REFUND_PENDING


@pytest.mark.parametrize("status", [RefundStatus.PROPOSED, RefundStatus.DECLINED])
def test_a_refund_that_is_not_approved_is_not_paid(case, cast, status):
    case = bring_to(case, State.REFUND_PENDING, cast)
    if status == RefundStatus.DECLINED:
        case_decline_refund(case=case, actor=cast["bob"])
    refund = Refund.objects.get(case=case)
    assert refund_execute(refund_id=refund.pk) is False
    refund.refresh_from_db()
    assert (refund.status, refund.executed_at, refund.execution_reference) == (status, None, "")
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.REFUND).exists()


# --- the workflow core: notes, the steps offered ----------------------------------------


def test_a_note_of_the_maximum_length_is_kept_and_one_character_more_is_refused(case, cast):
    longest = "n" * NOTE_MAX_LENGTH
    case = case_transition(case=case, name="start_verification", actor=cast["alice"], note=f"  {longest}  ")
    assert _last_event(case).message == longest
    with pytest.raises(ValidationError) as excinfo:
        case_transition(case=case, name="confirm_debit", actor=cast["alice"], note=longest + "n")
    assert excinfo.value.message_dict == {"note": [f"A note has at most {NOTE_MAX_LENGTH} characters."]}
    assert Case.objects.get(pk=case.pk).state == State.VERIFYING


def test_a_step_without_a_note_writes_an_event_with_an_empty_message(case, cast):
    case = case_transition(case=case, name="start_verification", actor=cast["alice"], note=None)
    assert _last_event(case).message == ""


def test_a_step_whose_conditions_fail_is_not_offered_and_the_steps_after_it_still_are(case, cast):
    case = bring_to(case, State.REFUND_PENDING, cast)
    assert allowed_transitions(case, cast["bob"]) == ["approve_refund", "decline_refund", "withdraw"]
    case.refund_amount = case.amount + 1  # approving would pay more than is disputed
    assert allowed_transitions(case, cast["bob"]) == ["decline_refund", "withdraw"]


def test_a_reopening_without_a_note_writes_an_event_with_no_message(case, cast):
    case = bring_to(case, State.REJECTED, cast)
    case_reopen(case=case, actor=cast["bob"])
    event = _last_event(case)
    assert (event.transition, event.message, event.from_state, event.to_state) == (
        "reopen", "", State.REJECTED, State.VERIFYING)


def test_the_customers_reply_is_kept_as_their_note_and_returns_the_case_to_its_stage(case, cast):
    case = bring_to(case, State.MERCHANT_CONTACT, cast)
    case = case_transition(case=case, name="request_customer_info", actor=cast["alice"])
    case = case_customer_reply(case=case, actor=CUSTOMER, message="  The receipt is attached.  ")
    stored = Case.objects.get(pk=case.pk)
    assert stored.state == State.MERCHANT_CONTACT
    note = CaseNote.objects.get(case=case)
    assert (note.body, note.author_label, note.visibility) == ("The receipt is attached.", "customer",
                                                               NoteVisibility.CUSTOMER)
    step_event, note_event = CaseEvent.objects.filter(case=case).order_by("-id")[:2]
    assert (note_event.kind, note_event.message) == (EventKind.NOTE, "The receipt is attached.")
    assert (step_event.transition, step_event.actor_label, step_event.to_state, step_event.message) == (
        "customer_info_received", "customer", State.MERCHANT_CONTACT, "")


def test_an_empty_customer_reply_changes_nothing(case, cast):
    case = bring_to(case, State.AWAITING_CUSTOMER, cast)
    with pytest.raises(ValidationError):
        case_customer_reply(case=case, actor=CUSTOMER, message="   ")
    assert Case.objects.get(pk=case.pk).state == State.AWAITING_CUSTOMER
    assert not CaseNote.objects.filter(case=case).exists()


# --- reloading a case (the optimistic lock's reload) ---------------------------------------


def test_reloading_other_fields_leaves_the_state_in_memory_as_it_is(case):
    Case.objects.filter(pk=case.pk).update(state=State.VERIFYING, version=7)
    case.refresh_from_db(fields=["version"])
    assert (case.state, case.version) == (State.SUBMITTED, 7)
    case.refresh_from_db()
    assert (case.state, case.version) == (State.VERIFYING, 7)


def test_reloading_the_state_of_a_case_read_without_it(case):
    Case.objects.filter(pk=case.pk).update(state=State.VERIFYING)
    partial = Case.objects.only("reference").get(pk=case.pk)
    partial.refresh_from_db(fields=["state"])
    assert partial.state == State.VERIFYING


def test_a_failed_reload_keeps_the_state_it_had(case):
    Case.objects.filter(pk=case.pk).update(state=State.VERIFYING)  # changed meanwhile
    with pytest.raises(Case.DoesNotExist):
        case.refresh_from_db(from_queryset=Case.objects.filter(state=State.CLOSED))
    assert case.state == State.SUBMITTED  # the copy as it was, not half reloaded
    Case.objects.filter(pk=case.pk).update(state=State.SUBMITTED)
    case.refresh_from_db(using="default", from_queryset=Case.objects.filter(state=State.SUBMITTED))
    assert case.state == State.SUBMITTED


def test_a_case_read_with_only_some_fields_is_saved_under_the_optimistic_lock(case):
    partial = Case.objects.only("priority").get(pk=case.pk)
    partial.priority = 1
    partial.save(update_fields=["priority"])
    stored = Case.objects.get(pk=case.pk)
    assert (stored.priority, stored.state, stored.version) == (1, State.SUBMITTED, case.version)
    stale = Case.objects.only("priority", "version").get(pk=case.pk)
    Case.objects.filter(pk=case.pk).update(version=case.version + 1)
    stale.priority = 2
    with pytest.raises(StaleCase), transaction.atomic():
        stale.save(update_fields=["priority"])
    assert Case.objects.get(pk=case.pk).priority == 1


def test_a_step_taken_by_name_without_a_note_or_reason_has_none(case, cast):
    case = case_transition(case=case, name="start_verification", actor=cast["alice"])
    assert _last_event(case).message == ""
    with pytest.raises(ValidationError) as excinfo:
        case_transition(case=case, name="reject", actor=cast["alice"])
    assert excinfo.value.message_dict == {"reason": ["Give the reason for rejecting the complaint."]}


def test_a_step_from_the_wrong_state_names_the_step_and_the_state(case, cast):
    with pytest.raises(TransitionNotAvailable, match="^“Reject” is not possible while the case is submitted.$"):
        case_transition(case=case, name="reject", actor=cast["alice"], reason="No debit.")


# --- the customer's e-mail on each step ----------------------------------------------------


def test_a_step_that_moves_the_case_e_mails_the_customer_in_their_language(file_case, cast):
    case = file_case(preferred_language="en")  # while this test runs in English
    case = case_transition(case=case, name="start_verification", actor=cast["alice"])
    subject, body = Notification.objects.filter(case=case).order_by("id").values_list("subject", "body").last()
    assert subject == f"[{case.reference}] Your complaint: verifying"
    assert body.startswith("We are checking the transaction in our records.\n\n")


def test_a_chinese_speaking_customer_is_e_mailed_in_chinese_whatever_the_staff_language(case, cast):
    case = case_transition(case=case, name="start_verification", actor=cast["alice"])
    subject, body = Notification.objects.filter(case=case).order_by("id").values_list("subject", "body").last()
    assert subject == f"[{case.reference}] 投诉处理进度：核实中"
    assert body.startswith("我们正在核查该笔交易的记录。\n\n")


def test_closing_a_case_e_mails_nobody(case, cast):
    case = bring_to(case, State.RESOLVED, cast)
    before = Notification.objects.filter(case=case).count()
    case_transition(case=case, name="close", actor=cast["alice"])
    assert Notification.objects.filter(case=case).count() == before
