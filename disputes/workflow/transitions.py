"""The workflow core: every step of a case goes through here.
"""
from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.cardguard import mask_card_numbers
from core.money import parse_amount

from disputes.delivery import outbox
from disputes.delivery.notifications import notify_customer
from disputes.delivery.outbox import enqueue_after_commit
from disputes.models import Case, Refund, RefundStatus, TRANSITION_NAMES
from disputes.sla import clocks as sla
from disputes.workflow.actors import actor_user
from disputes.workflow.errors import ActionForbidden, StaleCase, TransitionNotAvailable, TransitionUnknown
from disputes.workflow.events import record_event
from disputes.workflow.names import CUSTOMER_WORDING, ENDED_STATES, EventKind, NOTE_MAX_LENGTH, State, TRANSITION_LABELS

def _transition_method(name: str):
    if name not in TRANSITION_NAMES:
        raise TransitionUnknown()
    return getattr(Case, name)


def _may_take(case: Case, name: str, actor) -> bool:
    """Whether the actor's role allows the transition at all (state aside)."""
    meta = _transition_method(name)._django_fsm
    return any(t.has_perm(case, actor) for t in meta.transitions.values())


def allowed_transitions(case: Case, actor) -> list[str]:
    """The transitions this actor may take on the case now, in workflow order.

    Transitions whose conditions depend on input (reject's reason, the refund
    amount) are listed: the input is asked for when they are taken."""
    input_driven = {"reject", "propose_refund"}
    names = []
    for name in TRANSITION_NAMES:
        meta = getattr(Case, name)._django_fsm
        transition_ = meta.get_transition(case.state)
        if transition_ is None or not transition_.has_perm(case, actor):
            continue
        if name not in input_driven and not meta.conditions_met(case, case.state):
            continue
        names.append(name)
    return names


@contextmanager
def case_restored_on_failure(case: Case):
    """On any failure, put the caller's copy of the case back as the database
    has it, so nobody goes on with a half-changed object."""
    try:
        yield
    except Exception:
        if case.pk is not None:
            case.refresh_from_db()
        raise


def case_transition(
    *,
    case: Case,
    name: str,
    actor,
    note: str = "",
    reason: str = "",
    amount: Decimal | str | None = None,
    expected_version: int | None = None,
) -> Case:
    """Take the workflow step ``name`` on ``case``.

    Raises TransitionUnknown (no such step), ActionForbidden (the actor's role
    may not, or the four-eyes rule), TransitionNotAvailable (not from this
    state, or outside the reopen window), ValidationError (missing reason,
    refund amount not in (0, disputed amount]) and StaleCase (the case changed
    since it was read, or ``expected_version`` is not the current one). On any
    of these nothing is written and ``case`` is reloaded from the database.
    """
    with case_restored_on_failure(case):
        return _take_transition(case, name, actor, note, reason, amount, expected_version)


def _take_transition(case, name, actor, note, reason, amount, expected_version) -> Case:
    method = _transition_method(name)
    if not _may_take(case, name, actor):
        raise ActionForbidden(
            _("A refund must be approved by a supervisor other than the one who proposed it.")
            if name == "approve_refund" and actor.has_perm("disputes.supervise_case")
            else None
        )
    if expected_version is not None and expected_version != case.version:
        raise StaleCase()
    meta = method._django_fsm
    if not meta.has_transition(case.state):
        raise TransitionNotAvailable(
            _("“%(step)s” is not possible while the case is %(state)s.")
            % {"step": TRANSITION_LABELS[name], "state": State(case.state).label}
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError({"note": _("A note has at most %(n)s characters.") % {"n": NOTE_MAX_LENGTH}})
    payload: dict = {}
    if name == "reject":
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError({"reason": _("Give the reason for rejecting the complaint.")})
        case.rejection_reason = mask_card_numbers(reason)
        payload["reason"] = case.rejection_reason
    if name == "propose_refund":
        if amount in (None, ""):
            raise ValidationError({"amount": _("Enter the amount to refund.")})
        refund_amount = parse_amount_for_field(amount, case.currency, field="amount")
        if refund_amount > case.amount:
            raise ValidationError({"amount": _("A refund cannot exceed the disputed amount of %(amount)s %(currency)s.")
                                   % {"amount": case.amount, "currency": case.currency}})
        case.refund_amount = refund_amount
        case.refund_proposed_by = actor_user(actor)
        payload["amount"] = str(refund_amount)
        payload["currency"] = case.currency
    if not meta.conditions_met(case, case.state):
        raise TransitionNotAvailable(
            _("The reopen window of this case has passed.") if name == "reopen" else None
        )

    with transaction.atomic():
        source = case.state
        now = timezone.now()
        getattr(case, name)()
        target = case.state
        sla.case_clocks_move(case, source=source, target=target, now=now)  # pause, resume or restart the clocks
        if target != source:
            case.stage_entered_at = now
        if target in ENDED_STATES:
            case.ended_at = now
        case.version += 1
        case.save()
        if name == "propose_refund":
            Refund.objects.create(case=case, amount=case.refund_amount, currency=case.currency, proposed_by=actor_user(actor))
        elif name in ("approve_refund", "decline_refund"):
            refund = Refund.objects.select_for_update().get(case=case, status=RefundStatus.PROPOSED)
            refund.status = RefundStatus.APPROVED if name == "approve_refund" else RefundStatus.DECLINED
            refund.decided_by = actor_user(actor)
            refund.decided_at = now
            refund.save(update_fields=["status", "decided_by", "decided_at"])
            payload.update(amount=str(refund.amount), currency=refund.currency, refund_id=refund.pk)
            if name == "approve_refund":
                enqueue_after_commit(outbox.EXECUTE_REFUND, refund.pk)
        record_event(
            case, kind=EventKind.TRANSITION, actor=actor, transition=name,
            from_state=source, to_state=target, message=note, payload=payload,
        )
        if target != source and target != State.CLOSED:
            with translation.override(case.customer.preferred_language):
                notify_customer(case, _("Your complaint: %(state)s") % {"state": State(target).label},
                                 [str(CUSTOMER_WORDING[target])])
    return case


def parse_amount_for_field(value, currency: str, *, field: str) -> Decimal:
    try:
        return parse_amount(value, currency)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None
