"""reconcile --open-cases: one case per orphan debit, ever, even with two runs at once."""
from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import translation

from tests.transactions import openers
from tests.transactions.records import T, debit, record
from transactions.models import OrphanCase, OrphanDebit
from transactions.reconciliation import (
    CaseForOrphan,
    NoCaseOpener,
    OpenedCases,
    case_opener,
    orphan_cases_open,
    reconcile,
)

AS_OF = T + timedelta(days=2)


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def opener(settings):
    settings.RECONCILE_CASE_OPENER = "tests.transactions.openers.open_case"
    openers.CALLS.clear()
    yield
    openers.CALLS.clear()


def reconcile_command(*args: str) -> str:
    out = io.StringIO()
    call_command("reconcile", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_each_orphan_gets_one_case_and_a_second_run_opens_none(db):
    debit("L1", T, rrn="100000000001")
    debit("L2", T, rrn="100000000002")
    debit("L3", T, rrn="100000000003")
    record("S3", T, rrn="100000000003")

    first = reconcile_command("--as-of", AS_OF.isoformat(), "--open-cases")
    second = reconcile_command("--as-of", (AS_OF + timedelta(days=1)).isoformat(), "--open-cases")

    assert "Cases: 2 opened, 0 already open, 0 failed." in first
    assert "Cases: 0 opened, 2 already open, 0 failed." in second
    assert sorted(openers.CALLS) == ["L1", "L2"]
    assert sorted(OrphanCase.objects.values_list("entry__entry_id", "case_reference")) == [
        ("L1", "DD-L1"), ("L2", "DD-L2")]


def test_a_debit_whose_case_cannot_be_opened_stays_unclaimed_and_is_tried_again(db, settings):
    settings.RECONCILE_CASE_OPENER = "tests.transactions.openers.open_case_or_fail"
    debit("L1", T, rrn="100000000001", customer_ref="UNKNOWN")
    debit("L2", T, rrn="100000000002")

    with pytest.raises(CommandError, match="1 cases could not be opened"):
        reconcile_command("--as-of", AS_OF.isoformat(), "--open-cases")

    assert list(OrphanCase.objects.values_list("entry__entry_id", flat=True)) == ["L2"]
    settings.RECONCILE_CASE_OPENER = "tests.transactions.openers.open_case"
    assert "Cases: 1 opened, 1 already open, 0 failed." in reconcile_command(
        "--as-of", AS_OF.isoformat(), "--open-cases")


def test_open_cases_without_an_opener_refuses_before_doing_anything(db, settings):
    settings.RECONCILE_CASE_OPENER = ""
    debit("L1", T)

    with pytest.raises(CommandError, match="RECONCILE_CASE_OPENER"):
        reconcile_command("--as-of", AS_OF.isoformat(), "--open-cases")

    assert not OrphanCase.objects.exists()


def test_the_opener_is_the_function_the_setting_names(db, settings):
    assert case_opener() is openers.open_case
    del settings.RECONCILE_CASE_OPENER
    with pytest.raises(NoCaseOpener, match=r"^RECONCILE_CASE_OPENER is not set$"):
        case_opener()


class Unnamed(Exception):
    pass


def test_open_cases_counts_what_it_opened_found_and_could_not_open(db):
    """Five orphans, oldest first: L1 already claimed, L2 fails with a message, L3 fails without one,
    L4 already has a case from a complaint, L5 gets a new case."""
    for n in range(1, 6):
        debit(f"L{n}", T + timedelta(minutes=n), rrn=f"10000000000{n}")
    run = reconcile(as_of=AS_OF)
    OrphanCase.objects.create(entry=run.orphan_debits.get(entry__entry_id="L1").entry, case_reference="DD-OLD",
                              opened_at=T)

    def opener(orphan: OrphanDebit) -> CaseForOrphan:
        entry_id = orphan.entry.entry_id
        if entry_id == "L2":
            raise LookupError("no customer for this debit")
        if entry_id == "L3":
            raise Unnamed()
        return CaseForOrphan(reference=f"DD-{entry_id}", opened=entry_id == "L5")

    result = orphan_cases_open(run, opener=opener)

    assert result == OpenedCases(opened=1, already_open=2,
                                 failed=(("L2", "no customer for this debit"), ("L3", "Unnamed")))
    claims = OrphanCase.objects.filter(reconciliation=run).order_by("entry__entry_id")
    assert [(c.entry.entry_id, c.case_reference, c.opened_at is not None) for c in claims] == [
        ("L4", "DD-L4", True), ("L5", "DD-L5", True)]
    assert openers.CALLS == []  # the opener given, not the setting's


def test_open_cases_takes_the_settings_opener_by_default(db):
    debit("L1", T, rrn="100000000001")
    debit("L2", T + timedelta(minutes=1), rrn="100000000002")

    assert orphan_cases_open(reconcile(as_of=AS_OF)) == OpenedCases(opened=2, already_open=0, failed=())
    assert openers.CALLS == ["L1", "L2"]


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_never_open_two_cases_for_one_debit():
    for n in range(8):
        debit(f"L{n}", T, rrn=f"10000000000{n}")
    runs = [reconcile(as_of=AS_OF), reconcile(as_of=AS_OF)]
    start = threading.Barrier(2)
    results, errors = [], []

    def open_cases(run):
        try:
            start.wait()
            results.append(orphan_cases_open(run, opener=openers.open_case_slowly))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=open_cases, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sorted(openers.CALLS) == [f"L{n}" for n in range(8)]
    assert OrphanCase.objects.count() == 8
    assert sum(result.opened for result in results) == 8
    assert sum(result.already_open for result in results) == 8
