"""The first load (transactions/importing/firstload.py): a plain file into an
empty records table goes straight in; anything else leaves no trace of the
attempt and goes the staging way, with the same report."""
from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from tests.app_role_plugin import application_role
from tests.transactions.files import csv_text, ledger_row, settlement_row
from tests.transactions.test_import_transactions import (
    import_bytes,
    indexes_of,
    planner_distinct,
    planner_statistics_forgotten,
    problems_of,
)
from transactions import importing
from transactions.models import ImportRun, LedgerEntry, SettlementRecord


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _rows(count: int) -> list[dict]:
    return [ledger_row(f"L{n}", rrn=f"{n:012d}", customer_ref="" if n % 3 else f"C{n}") for n in range(1, count + 1)]


def _stored() -> list[tuple]:
    return list(LedgerEntry.objects.order_by("entry_id").values_list(*importing.FORMATS["ledger"].columns))


def _imported_with_statements(kind: str, data: bytes):
    with CaptureQueriesContext(connection) as queries:
        report = import_bytes(kind, data)
    return report, " ".join(query["sql"] for query in queries.captured_queries)


def test_a_plain_file_into_an_empty_table_is_written_once_and_stored_as_the_staging_way_stores_it(db):
    rows = _rows(40)
    data = csv_text("ledger", rows).encode()

    report, statements = _imported_with_statements("ledger", data)
    first = _stored()
    # The oracle: the same file the staging way, into a table that is not empty.
    LedgerEntry.objects.all().delete()
    LedgerEntry.objects.create(**{**dict(zip(importing.FORMATS["ledger"].columns, first[0])), "entry_id": "X"})
    again, staged = _imported_with_statements("ledger", data)

    assert (report.rows_total, report.rows_imported, report.rows_already_present) == (40, 40, 0)
    assert importing.STAGE not in statements and importing.STAGE in staged
    assert again.rows_imported == 40 and [row for row in _stored() if row[0] != "X"] == first
    assert {row[1] for row in first} >= {"", "C3"} and all(row[7] for row in first)  # '' where empty, never NULL


@pytest.mark.needs_owner
def test_the_first_load_builds_the_indexes_again_and_the_id_stays_unique(db):
    before = indexes_of("transactions_ledgerentry")

    report = import_bytes("ledger", csv_text("ledger", _rows(5)).encode())

    after = indexes_of("transactions_ledgerentry")
    assert report.succeeded
    assert [(name, definition) for name, definition, _oid in after] == [
        (name, definition) for name, definition, _oid in before]
    rebuilt = {name for (name, _d, old), (_n, _e, new) in zip(before, after) if old != new}
    assert "ledger_entry_id_unique" in rebuilt and "transactions_ledgerentry_pkey" not in rebuilt
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(**{**LedgerEntry.objects.values(*importing.FORMATS["ledger"].columns).first(),
                                      "rrn": "999999999999"})


@pytest.mark.needs_owner
def test_the_first_load_leaves_the_planner_statistics_of_what_it_loaded(db):
    """The check of the open cases queued by the import plans at once with them, not
    with guesses for a table it knows nothing of (autovacuum's ANALYZE may come minutes later)."""
    planner_statistics_forgotten("transactions_ledgerentry")

    import_bytes("ledger", csv_text("ledger", _rows(7)).encode())

    distinct = planner_distinct("transactions_ledgerentry")
    assert distinct.get("entry_id") == -1 and "kind" in distinct  # every id distinct; every column known


def _bad_files() -> dict[str, tuple[list[dict], dict[int, list[str]]]]:
    twice = _rows(6)
    twice[4]["entry_id"] = "L2"
    card = _rows(6)
    card[2]["customer_ref"] = "6222021234567890128"[:19]
    late = _rows(6)
    late[5]["amount"] = "0"
    return {
        "an id twice": (twice, {6: ["entry_id: The same id as line 3: each id appears once in a file."]}),
        "a card number": (card, {4: [("customer_ref: A full card number is not allowed here: the records never"
                                      " hold one (give at most its last 4 digits, in card_last4).")]}),
        "a bad last line": (late, {7: ["amount: The amount must be greater than zero."]}),
    }


@pytest.mark.parametrize("case", list(_bad_files()))
def test_a_file_the_first_load_stops_at_is_reported_as_the_staging_way_reports_it(db, case):
    rows, expected = _bad_files()[case]

    report = import_bytes("ledger", csv_text("ledger", rows).encode())

    assert problems_of(report) == expected
    assert not LedgerEntry.objects.exists()
    assert len(indexes_of("transactions_ledgerentry")) == 6  # the savepoint gave the dropped indexes back


def test_the_progress_never_goes_back_when_the_first_load_gives_up(db):
    """An id twice shows only when the first load builds the unique id again, after its COPY (80-90 %):
    the file is then read again the staging way. The bar stays where it was until that reading gets
    further; it used to go back to 0 %."""
    rows = [ledger_row(f"L{n:07d}", rrn=f"{n:012d}") for n in range(12_000)]  # about 1.6 MB
    rows.append(ledger_row("L0000007", rrn="999999999999"))
    heard: list[importing.ImportProgress] = []

    report = import_bytes("ledger", csv_text("ledger", rows).encode(), progress=heard.append)

    assert problems_of(report) == {12_002: ["entry_id: The same id as line 9: each id appears once in a file."]}
    phases = [progress.phase for progress in heard]
    read_again = phases.index("reading", phases.index("writing"))  # the staging way's reading, after the first load's
    assert heard[read_again].rows_read < 12_000 and heard[read_again].bytes_read < heard[read_again].bytes_total
    percents = [progress.percent for progress in heard]
    assert percents[read_again - 1] == 90 and percents[read_again] == 90
    assert percents == sorted(percents) and percents[-1] == 100


@pytest.mark.needs_owner  # it makes the role itself
def test_the_application_role_loads_first_with_the_indexes_kept_and_an_id_twice_still_refused(db):
    before = indexes_of("transactions_ledgerentry")
    rows, expected = _bad_files()["an id twice"]

    with application_role():
        refused = import_bytes("ledger", csv_text("ledger", rows).encode())
        loaded = import_bytes("ledger", csv_text("ledger", _rows(6)).encode())

    assert problems_of(refused) == expected
    assert loaded.succeeded and loaded.rows_imported == 6 and len(_stored()) == 6
    assert indexes_of("transactions_ledgerentry") == before


def test_a_quoted_file_into_an_empty_table_goes_the_staging_way_and_imports(db):
    rows = [settlement_row(f"S{n}", processor=f"Processor, branch {n}") for n in range(5)]

    report = import_bytes("settlement", csv_text("settlement", rows).encode())

    assert report.succeeded and report.rows_imported == 5
    assert SettlementRecord.objects.get(record_id="S3").processor == "Processor, branch 3"


@pytest.mark.django_db(transaction=True)
def test_two_first_loads_of_one_file_at_once_store_each_row_once():
    data = csv_text("ledger", _rows(300)).encode()
    start = threading.Barrier(2)
    reports, errors = [], []

    def load():
        try:
            start.wait()
            reports.append(import_bytes("ledger", data))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sorted((report.rows_imported, report.rows_already_present) for report in reports) == [(0, 300), (300, 0)]
    assert LedgerEntry.objects.count() == 300 and ImportRun.objects.count() == 2
