"""The state machine's permissions and conditions: pure functions of the case
(and of the user and the settings), declared on ``disputes.models.case.Case``.

Refunds (docs/design.md, "Transitions"): ``approve_refund`` is taken once per
approval a refund needs (one; two when its amount is above
``DISPUTE_REFUND_SECOND_APPROVAL_ABOVE``), each by a supervisor who neither
proposed it nor approved it already; the case stays ``refund_pending``. Once
the payment is confirmed by the gateway, the system takes it a last time, to
``refunded``. The case row mirrors what these rules need (the approvals given,
the first approver, the payment time), so lists answer them without a query.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from disputes.workflow.names import State

if TYPE_CHECKING:
    from disputes.models.case import Case

# --- permissions: callables of (case, user) -----------------------------------
# ``user`` is a django User, or a ``disputes.actors`` stand-in for the customer;
# both answer ``has_perm``. Active superusers hold every permission.


# Runs at import, where mutmut cannot switch mutants in (docs/testing.md).
def _any_permission(*codenames: str):  # pragma: no mutate block
    perms = [f"disputes.{codename}" for codename in codenames]

    def check(case: Case, user) -> bool:
        return any(user.has_perm(perm) for perm in perms)

    check.__name__ = "any_of_" + "_or_".join(codenames)
    return check


can_work = _any_permission("work_case")
can_work_or_system = _any_permission("work_case", "act_as_system")
can_reply = _any_permission("work_case", "reply_as_customer")
can_withdraw = _any_permission("withdraw_case")
can_supervise = _any_permission("supervise_case")


def refund_approvals_needed(amount: Decimal | None) -> int:
    """One supervisor's approval; two above ``DISPUTE_REFUND_SECOND_APPROVAL_ABOVE`` (exactly at it: one)."""
    return 2 if amount is not None and amount > settings.DISPUTE_REFUND_SECOND_APPROVAL_ABOVE else 1


def refund_fully_approved(case: Case) -> bool:
    """Every approval the proposed refund needs is given: it is being paid."""
    return case.refund_approvals >= refund_approvals_needed(case.refund_amount)


def can_approve_refund(case: Case, user) -> bool:
    """Before the payment: a supervisor who neither proposed the refund nor
    approved it already (four eyes, six above the threshold). After the
    gateway confirmed the payment: the system, which marks the case refunded."""
    if case.refund_paid_at is not None:
        return user.has_perm("disputes.act_as_system")
    return may_decide_refund(case, user)


def may_decide_refund(case: Case, user) -> bool:
    """Who decides on a proposed refund, approving or declining it: a
    supervisor who neither proposed it nor approved it already. The database
    holds the decider to the same rule (``refund_four_eyes``,
    ``refund_six_eyes`` on ``Refund``)."""
    return (user.has_perm("disputes.supervise_case") and case.refund_proposed_by_id != user.pk
            and case.refund_approved_by_id != user.pk)


# Declining is the other decision on a refund, under the same eyes as approving.
can_decline_refund = may_decide_refund


# --- conditions: pure functions of the case ----------------------------------


def has_rejection_reason(case: Case) -> bool:
    return bool((case.rejection_reason or "").strip())


def refund_amount_within_dispute(case: Case) -> bool:
    return case.refund_amount is not None and 0 < case.refund_amount <= case.amount


def refund_approvable(case: Case) -> bool:
    """An approval is still wanted, or the payment is confirmed (the system's last step)."""
    if not refund_amount_within_dispute(case):
        return False
    return case.refund_paid_at is not None or not refund_fully_approved(case)


def refund_not_ordered(case: Case) -> bool:
    """No payment under way: a refund still awaiting its approvals can be declined, the
    case withdrawn; once the last approval ordered the payment, neither."""
    return case.state != State.REFUND_PENDING or not refund_fully_approved(case)


def approval_target(case: Case, *args, **kwargs) -> str:
    """``approve_refund`` ends the case only once the refund is paid."""
    return State.REFUNDED if case.refund_paid_at is not None else State.REFUND_PENDING


def within_reopen_window(case: Case) -> bool:
    ended_at = case.ended_at
    return ended_at is not None and timezone.now() - ended_at <= settings.DISPUTE_REOPEN_WINDOW


