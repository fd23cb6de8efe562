"""Case openers for the tests of ``reconcile --open-cases`` (settings.RECONCILE_CASE_OPENER).

The disputes side plugs in the real one; these record what they were asked."""
from __future__ import annotations

import threading
import time

from transactions.models import OrphanDebit

CALLS: list[str] = []
_lock = threading.Lock()


def open_case(orphan: OrphanDebit) -> str:
    with _lock:
        CALLS.append(orphan.entry.entry_id)
    return f"DD-{orphan.entry.entry_id}"


def open_case_slowly(orphan: OrphanDebit) -> str:
    time.sleep(0.05)
    return open_case(orphan)


def open_case_or_fail(orphan: OrphanDebit) -> str:
    if orphan.entry.customer_ref == "UNKNOWN":
        raise LookupError("no customer for this debit")
    return open_case(orphan)
