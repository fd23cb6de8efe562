"""The case and event rows of bench/dataset.py's two profiles (see its docstring)."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from dataset import ENDED, OPEN_DAYS, OPEN_STAGES, PER_DAY, RUNNING_STAGES

DESCRIPTION = "持卡人称POS机显示交易失败，但银行卡已被扣款。"
ROOT_CAUSES = ["network_failure", "response_timeout", "terminal_fault", "processor_error", "unknown"]
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def _slip(i: int, world: dict) -> dict:
    """The payment slip: a merchant (a few get most cases) and one of its terminals."""
    rng = world["rng"]
    k = 1 + int(world["merchants"] * rng.random() ** 3)
    k = min(k, world["merchants"])
    terminals = world["terminals"][k]
    return {"merchant_name": f"商户{k:05d}", "merchant_id": f"10{k:013d}",
            "terminal_id": terminals[rng.randrange(len(terminals))], "rrn": f"{i:012d}", "stan": f"{i % 1000000:06d}",
            "auth_code": f"{(i * 7919) % 1000000:06d}"}


def _common(i: int, world: dict) -> dict:
    customer = 1 + i % world["customers"]
    return {"id": i, "reference": f"DB{i:012d}", "tracking_code_hash": hashlib.sha256(b"%d" % i).hexdigest(),
            "channel": ("web", "web", "api", "staff")[i % 4], "customer_id": customer, "card_id": customer,
            "amount": f"{10 + (i * 37) % 5000}.00", "currency": "CNY", "description": DESCRIPTION,
            "processor_id": 1 + (i // 2) % 20 if i % 2 == 0 else None, **_slip(i, world)}


def case_rows(profile: str, cases: int, world: dict):
    rows = _history if profile == "history" else _open
    for i in range(1, cases + 1):
        yield rows(i, world)


def _history(i: int, world: dict) -> dict:
    """i = 1 is the newest case; one filed every 1/PER_DAY of a day going back."""
    now, agents = world["now"], world["agents"]
    filed = now - (i - 1) * DAY / PER_DAY
    is_open = filed > now - OPEN_DAYS * DAY
    state = OPEN_STAGES[i % 6] if is_open else ENDED[i % 6]
    paused = state == "awaiting_customer"
    assigned = not is_open or i % 3 > 0
    sla_due = filed + (6 + i % 90) * HOUR if is_open and not paused else None
    final_due = None if paused else filed + 15 * DAY
    row = {**_common(i, world), "state": state, "version": 3 if is_open else 5, "sla_entry": 2,
           "transaction_at": filed - 3 * HOUR, "created_at": filed, "updated_at": filed + (2 * HOUR if is_open else 5 * DAY),
           "stage_entered_at": filed + 2 * HOUR,
           "assignee_id": agents[(i // 3) % len(agents)] if assigned else None,
           "resume_state": "verifying" if paused else "",
           "sla_due_at": sla_due, "sla_alert_at": sla_due - 2 * HOUR if sla_due else None,
           "final_due_at": final_due, "final_alert_at": final_due - 2 * DAY if final_due and is_open else None,
           "final_remaining": 10 * DAY if paused else None, "sla_paused_at": filed + DAY if paused else None,
           "ended_at": None if is_open else filed + 5 * DAY,
           "closed_at": filed + 6 * DAY if state == "closed" else None,
           "root_cause": "" if is_open else ROOT_CAUSES[i % 5],
           "resolution": "商户确认后退款。" if state in ("resolved", "refunded") else "",
           "rejection_reason": "交易已成功，款项已到商户。" if state == "rejected" else "",
           "refund_amount": None, "refund_paid_at": None, "refund_proposed_by_id": None, "refund_approved_by_id": None}
    if state == "refunded":
        row.update(refund_amount=row["amount"], refund_paid_at=filed + 4 * DAY, refund_proposed_by_id=row["assignee_id"],
                   refund_approved_by_id=world["supervisors"][0])
    return row


def _open(i: int, world: dict) -> dict:
    """The first ``due`` cases are due now (odd: a breach an hour ago; even: a reminder);
    nothing else falls due for ``max_age`` (the template's lifetime)."""
    now, later = world["now"], world["now"] + world["max_age"]
    due = i <= world["due"]
    if due:
        alert_at, due_at = now - timedelta(minutes=1), (now - HOUR if i % 2 else later)
    else:
        alert_at = later + (i % 20) * HOUR
        due_at = alert_at + DAY
    final_due = later + (5 + i % 10) * DAY
    return {**_common(i, world), "state": RUNNING_STAGES[i % 5], "version": 2, "sla_entry": 1,
            "transaction_at": now - DAY - 3 * HOUR, "created_at": now - (i % 10) * DAY - HOUR, "updated_at": now,
            "stage_entered_at": now - HOUR, "sla_alert_at": alert_at, "sla_due_at": due_at,
            "final_due_at": final_due, "final_alert_at": final_due - 2 * DAY, "assignee_id": None}


def event_rows(connection, profile: str):
    """A filing event and a step event (submitted → verifying) per case."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, channel, created_at FROM disputes_case ORDER BY id")
        for case_id, channel, created in cursor.fetchall():
            base = {"case_id": case_id, "actor_label": "bench", "message": "", "actor_id": None}
            yield {**base, "id": 2 * case_id - 1, "kind": "filed", "transition": "", "from_state": "",
                   "to_state": "submitted", "payload": {"channel": channel}, "case_version": 1, "created_at": created}
            yield {**base, "id": 2 * case_id, "kind": "transition", "transition": "start_verification",
                   "from_state": "submitted", "to_state": "verifying", "payload": {}, "case_version": 2,
                   "created_at": created + 2 * HOUR}
