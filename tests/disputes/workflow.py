"""Bring a case to any state of the workflow, through the services only."""
from decimal import Decimal

from disputes.models import RefundStatus
from disputes.refunds.payment import refund_execute
from disputes.workflow.steps import case_transition
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.names import State

# The path of transitions (name, actor key, inputs) that reaches each state.
PATHS: dict[str, list[tuple[str, str, dict]]] = {
    State.SUBMITTED: [],
    State.VERIFYING: [("start_verification", "alice", {})],
    State.AWAITING_CUSTOMER: [("start_verification", "alice", {}), ("request_customer_info", "alice", {})],
    State.MERCHANT_CONTACT: [("start_verification", "alice", {}), ("confirm_debit", "alice", {})],
    State.PROCESSOR_INQUIRY: [
        ("start_verification", "alice", {}), ("confirm_debit", "alice", {}), ("escalate_to_processor", "alice", {}),
    ],
    State.REFUND_PENDING: [
        ("start_verification", "alice", {}), ("confirm_debit", "alice", {}),
        ("propose_refund", "alice", {"amount": Decimal("100.00")}),
    ],
    State.REFUNDED: [
        ("start_verification", "alice", {}), ("confirm_debit", "alice", {}),
        ("propose_refund", "alice", {"amount": Decimal("100.00")}), ("approve_refund", "bob", {}),
    ],
    State.RESOLVED: [("start_verification", "alice", {}), ("reversal_found", "alice", {})],
    State.REJECTED: [("start_verification", "alice", {}), ("reject", "alice", {"reason": "No debit in the ledger."})],
    State.WITHDRAWN: [("withdraw", "customer", {})],
    State.CLOSED: [("start_verification", "alice", {}), ("reversal_found", "alice", {}), ("close", "alice", {})],
}


def bring_to(case, state: str, cast: dict):
    """Take ``case`` along PATHS[state]; ``cast`` maps actor keys to users. To
    ``refunded``, the approved refund is then paid as the worker would (through
    the default gateway, the ledger)."""
    for name, who, inputs in PATHS[state]:
        actor = CUSTOMER if who == "customer" else cast[who]
        case = case_transition(case=case, name=name, actor=actor, **inputs)
    if state == State.REFUNDED:
        assert case.state == State.REFUND_PENDING  # approved, its payment queued
        assert refund_execute(refund_id=case.refunds.get(status=RefundStatus.APPROVED).pk)
        case.refresh_from_db()
    assert case.state == state
    return case
