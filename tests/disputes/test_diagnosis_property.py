"""Property: the diagnosis of a debit says what reconciliation says of it.

The generated payments of ``tests/transactions/stories.py`` (the same ones the
reconciliation property runs on) know by construction which debits are orphans
and for how much, which were reversed in full, and that every other debit was
settled; a complaint's diagnosis must give each debit that answer, although it
reads only the records linked to that debit, not the whole ledger.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from disputes.models import Outcome
from disputes.verification.diagnosis import diagnose_debit
from tests.transactions.files import csv_text, run_import
from tests.transactions.stories import AS_OF, CUTOFF, draw_stories
from transactions.models import LedgerEntry


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_each_debit_is_diagnosed_as_the_files_were_built(db, tmp_path, data):
    drawn = draw_stories(data)
    # Debits past the grace cut-off are left out: reconciliation waits for them, the diagnosis does not.
    amounts = {row["entry_id"]: Decimal(row["amount"]) for row in drawn.ledger
               if row["kind"] == "debit" and datetime.fromisoformat(row["posted_at"]) <= CUTOFF}
    expected = {}
    for entry_id, amount in amounts.items():
        if entry_id in drawn.orphans:
            expected[entry_id] = (Outcome.ORPHAN, drawn.orphans[entry_id])
        elif entry_id in drawn.reversed:
            expected[entry_id] = (Outcome.REVERSED, Decimal(0))
        else:
            expected[entry_id] = (Outcome.SETTLED, amount)

    with transaction.atomic():  # each example's rows are rolled back for the next
        for kind, rows in (("ledger", drawn.ledger), ("settlement", drawn.settlement)):
            (tmp_path / f"{kind}.csv").write_text(csv_text(kind, rows), encoding="utf-8")
            _output, error = run_import(kind, tmp_path / f"{kind}.csv")
            assert error is None, error
        found = {}
        for entry in LedgerEntry.objects.filter(entry_id__in=amounts):
            diagnosis = diagnose_debit(entry, as_of=AS_OF)
            assert len(diagnosis.records) == (diagnosis.outcome == Outcome.SETTLED)
            found[entry.entry_id] = (diagnosis.outcome, diagnosis.outstanding)
        transaction.set_rollback(True)

    assert found == expected
