"""Property: reconcile finds exactly the orphan debits a generated ledger and
settlement file were built to have.

The oracle is the generator's own construction (``tests/transactions/stories.py``),
never the code under test. The files go through ``import_transactions`` and
``reconcile --output`` as an operator would run them.
"""
from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from tests.transactions.files import csv_text, run_import
from tests.transactions.stories import AS_OF, draw_stories
from transactions.models import OrphanDebit, ReconciliationRun


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"


@hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data())
def test_reconcile_finds_exactly_the_orphans_the_files_were_built_with(db, english, tmp_path, data):
    drawn = draw_stories(data)
    ledger, settlement, expected = drawn.ledger, drawn.settlement, drawn.orphans

    with transaction.atomic():  # each example's rows are rolled back for the next
        (tmp_path / "ledger.csv").write_text(csv_text("ledger", ledger), encoding="utf-8")
        (tmp_path / "settlement.csv").write_text(csv_text("settlement", settlement), encoding="utf-8")
        for kind in ("ledger", "settlement"):
            _output, error = run_import(kind, tmp_path / f"{kind}.csv")
            assert error is None, error
        call_command("reconcile", "--as-of", AS_OF.isoformat(), "--output", str(tmp_path / "orphans.csv"),
                     stdout=io.StringIO())
        with open(tmp_path / "orphans.csv", encoding="utf-8", newline="") as written:
            found = {row["entry_id"] for row in csv.DictReader(written)}
        run = ReconciliationRun.objects.latest("id")
        outstanding = dict(OrphanDebit.objects.filter(reconciliation=run)
                           .values_list("entry__entry_id", "outstanding"))
        transaction.set_rollback(True)

    assert found == set(expected)
    assert outstanding == expected
