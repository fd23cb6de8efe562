"""One service per workflow step that has rules of its own, over the shared
core (``workflow.transitions.take_step``), and ``case_transition``: a step
taken by its name (the API, the admin and the staff pages get the name from
the URL), which hands the step to its service or, for a step with no rules
of its own, straight to the core.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.cardguard import mask_card_numbers
from disputes.delivery import outbox
from disputes.delivery.outbox import enqueue_after_commit
from disputes.models import Case, Refund, RefundStatus
from disputes.models.rules import refund_approvals_needed
from disputes.workflow.actors import CustomerActor, actor_user
from disputes.workflow.casework import case_add_note
from disputes.workflow.outstanding import refund_outstanding
from disputes.workflow.transitions import parse_amount_for_field, take_step


def case_reject(*, case: Case, actor, reason: str, note: str = "", expected_version: int | None = None) -> Case:
    """Reject the complaint; the reason is required and kept on the case."""

    def prepare(case: Case, payload: dict) -> None:
        text = (reason or "").strip()
        if not text:
            raise ValidationError({"reason": _("Give the reason for rejecting the complaint.")})
        case.rejection_reason = mask_card_numbers(text)
        payload["reason"] = case.rejection_reason

    return take_step(case=case, name="reject", actor=actor, note=note, expected_version=expected_version,
                     prepare=prepare)


def case_propose_refund(*, case: Case, actor, amount: Decimal | str | None, note: str = "",
                        expected_version: int | None = None) -> Case:
    """Propose a refund of ``amount``: above zero, at most the disputed amount and
    at most what is still outstanding (``workflow.outstanding``), for one
    supervisor other than the proposer to approve (two above the threshold)."""

    def prepare(case: Case, payload: dict) -> None:
        if amount in (None, ""):
            raise ValidationError({"amount": _("Enter the amount to refund.")})
        refund_amount = parse_amount_for_field(amount, case.currency, field="amount")
        if refund_amount > case.amount:
            raise ValidationError({"amount": _("A refund cannot exceed the disputed amount of %(amount)s %(currency)s.")
                                   % {"amount": case.amount, "currency": case.currency}})
        _check_outstanding(case, refund_amount)
        case.refund_amount = refund_amount
        case.refund_proposed_by = actor_user(actor)
        payload.update(amount=str(refund_amount), currency=case.currency,
                       approvals_needed=refund_approvals_needed(refund_amount))

    def after(case: Case, payload: dict, now: datetime) -> None:
        Refund.objects.create(case=case, debit=case.ledger_entry, amount=case.refund_amount, currency=case.currency,
                              proposed_by=actor_user(actor))

    try:
        return take_step(case=case, name="propose_refund", actor=actor, note=note, expected_version=expected_version,
                         prepare=prepare, after=after)
    except IntegrityError as exc:  # the database's check: another refund of the debit got in first
        if "refund_within_outstanding" not in str(exc):
            raise
        raise _above_outstanding(case, refund_outstanding(case)) from None


def _check_outstanding(case: Case, refund_amount: Decimal) -> None:
    outstanding = refund_outstanding(case)
    if refund_amount > outstanding:
        raise _above_outstanding(case, outstanding)


def _above_outstanding(case: Case, outstanding: Decimal) -> ValidationError:
    return ValidationError({"amount": _("A refund cannot exceed what is still outstanding: %(amount)s %(currency)s "
                                        "(the disputed amount less reversals and earlier refunds).")
                            % {"amount": outstanding, "currency": case.currency}})


def case_approve_refund(*, case: Case, actor, note: str = "", expected_version: int | None = None) -> Case:
    """Approve the proposed refund: a supervisor who neither proposed it nor
    approved it already. The case stays ``refund_pending``; the last approval
    the refund needs queues its payment after commit (``disputes.refunds``)."""
    user = actor_user(actor)
    needed = refund_approvals_needed(case.refund_amount)

    def prepare(case: Case, payload: dict) -> None:
        refund = Refund.objects.filter(case=case, status=RefundStatus.PROPOSED).first()
        if refund is not None and refund.amount > refund_outstanding(case, besides=refund):
            raise ValidationError(_("Reversals or other refunds posted since this refund was proposed leave less "
                                    "outstanding than its amount: decline it and propose the right amount."))
        if case.refund_approvals + 1 < needed:
            case.refund_approved_by = user
        payload.update(approval=case.refund_approvals + 1, approvals_needed=needed)

    def after(case: Case, payload: dict, now: datetime) -> None:
        refund = Refund.objects.select_for_update().get(case=case, status=RefundStatus.PROPOSED)
        payload.update(amount=str(refund.amount), currency=refund.currency, refund_id=refund.pk)
        if case.refund_approvals < needed:
            refund.first_approved_by, refund.first_approved_at = user, now
            refund.save(update_fields=["first_approved_by", "first_approved_at"])
            return
        refund.status, refund.decided_by, refund.decided_at = RefundStatus.APPROVED, user, now
        refund.save(update_fields=["status", "decided_by", "decided_at"])
        enqueue_after_commit(outbox.EXECUTE_REFUND, refund.pk)

    forbidden = _not_the_decider(
        case, actor, proposed=_("A refund must be approved by a supervisor other than the one who proposed it."),
        approved=_("You have approved this refund already: the second approval must be another supervisor's."))
    return take_step(case=case, name="approve_refund", actor=actor, note=note, expected_version=expected_version,
                     prepare=prepare, after=after, forbidden_message=forbidden,
                     conditions_message=_("This refund has all its approvals: it is being paid."))


def _not_the_decider(case: Case, actor, *, proposed: str, approved: str) -> str | None:
    """Why a supervisor may not decide on this refund (``rules.may_decide_refund``):
    ``proposed`` for its proposer, ``approved`` for its first approver; None for anyone
    else (who either may, or is no supervisor and gets the plain refusal)."""
    if not actor.has_perm("disputes.supervise_case"):
        return None
    return proposed if case.refund_proposed_by_id == getattr(actor_user(actor), "pk", None) else approved


def _decide_refund(case: Case, actor, status: str, payload: dict, now: datetime) -> Refund:
    refund = Refund.objects.select_for_update().get(case=case, status=RefundStatus.PROPOSED)
    refund.status = status
    refund.decided_by = actor_user(actor)
    refund.decided_at = now
    refund.save(update_fields=["status", "decided_by", "decided_at"])
    payload.update(amount=str(refund.amount), currency=refund.currency, refund_id=refund.pk)
    return refund


def case_decline_refund(*, case: Case, actor, note: str = "", expected_version: int | None = None) -> Case:
    """Decline the proposed refund (before its last approval): a supervisor who
    neither proposed it nor approved it; the case returns to the stage it came from."""

    def after(case: Case, payload: dict, now: datetime) -> None:
        _decide_refund(case, actor, RefundStatus.DECLINED, payload, now)

    forbidden = _not_the_decider(
        case, actor, proposed=_("A refund must be declined by a supervisor other than the one who proposed it."),
        approved=_("You have approved this refund: declining it is another supervisor's decision."))
    return take_step(case=case, name="decline_refund", actor=actor, note=note, expected_version=expected_version,
                     after=after, forbidden_message=forbidden,
                     conditions_message=_("This refund has all its approvals: it is being paid."))


def case_reopen(*, case: Case, actor, note: str = "", expected_version: int | None = None) -> Case:
    """Reopen a rejected or closed case (a supervisor, within the reopen window)."""
    return take_step(case=case, name="reopen", actor=actor, note=note, expected_version=expected_version,
                     conditions_message=_("The reopen window of this case has passed."))


def case_customer_reply(*, case: Case, actor: CustomerActor, message: str) -> Case:
    """The customer answers a request for information on the tracking page: their
    answer (a note the customer wrote) and the return to the working stage
    succeed or fail together."""
    with transaction.atomic():
        case_add_note(case=case, actor=actor, body=message)
        return take_step(case=case, name="customer_info_received", actor=actor)


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
    """Take the workflow step ``name`` on ``case``, through its service.

    Raises TransitionUnknown (no such step), ActionForbidden (the actor's role
    may not, or the four-eyes rule), TransitionNotAvailable (not from this
    state, or outside the reopen window), ValidationError (missing reason,
    refund amount not in (0, disputed amount]) and StaleCase (the case changed
    since it was read, or ``expected_version`` is not the current one). On any
    of these nothing is written and ``case`` is reloaded from the database.
    """
    common = dict(case=case, actor=actor, note=note, expected_version=expected_version)
    service = STEP_SERVICES.get(name)
    if service is None:
        return take_step(**common, name=name)
    given = {"reason": reason, "amount": amount}
    return service(**common, **{field: given[field] for field in STEP_INPUTS.get(name, ())})


# The steps with a service of their own, and what each asks for beyond a note.
STEP_SERVICES = {
    "reject": case_reject,
    "propose_refund": case_propose_refund,
    "approve_refund": case_approve_refund,
    "decline_refund": case_decline_refund,
    "reopen": case_reopen,
}
STEP_INPUTS = {"reject": ("reason",), "propose_refund": ("amount",)}
