"""Case openers for the tests of ``reconcile --open-cases`` (settings.RECONCILE_CASE_OPENER).

The disputes side's real one is tested in tests/disputes/test_orphan_case_open.py;
these record what they were asked."""
from __future__ import annotations

import threading
import time

from transactions.models import OrphanDebit
from transactions.reconciliation import CaseForOrphan

CALLS: list[str] = []
_lock = threading.Lock()


def open_case(orphan: OrphanDebit) -> CaseForOrphan:
    with _lock:
        CALLS.append(orphan.entry.entry_id)
    return CaseForOrphan(reference=f"DD-{orphan.entry.entry_id}", opened=True)


def open_case_slowly(orphan: OrphanDebit) -> CaseForOrphan:
    time.sleep(0.05)
    return open_case(orphan)


def open_case_or_fail(orphan: OrphanDebit) -> CaseForOrphan:
    if orphan.entry.customer_ref == "UNKNOWN":
        raise LookupError("no customer for this debit")
    return open_case(orphan)
