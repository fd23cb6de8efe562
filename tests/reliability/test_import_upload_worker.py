"""A real Celery worker imports a file uploaded on /staff/imports/: the page
queues the task after commit, the worker (another process, through Redis)
runs the same import as the command, writes its progress to the run while it
reads and checks, and the run ends ``succeeded`` with its counts; a file with
one bad row ends ``failed`` with that line named, and nothing imported."""
from pathlib import Path

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile

from transactions.models import ImportRun, LedgerEntry
from tests.transactions.files import csv_text, ledger_row

from .processes import Processes, celery_publishing_to, wait_for

BROKER = "redis://127.0.0.1:6379/7"
ROWS = 60_000

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path, settings):
    upload_dir = tmp_path / "imports"
    settings.DISPUTE_IMPORT_UPLOAD_DIR = upload_dir
    redis.Redis.from_url(BROKER).flushdb()
    procs = Processes(tmp_path, BROKER, DISPUTE_IMPORT_UPLOAD_DIR=str(upload_dir))
    with celery_publishing_to(BROKER):
        procs.worker()
        yield procs
        procs.stop_all()
    redis.Redis.from_url(BROKER).flushdb()


def a_big_ledger(rows: int) -> str:
    return csv_text("ledger", [ledger_row(f"L{n:07d}", card_last4=f"{n % 10000:04d}", amount=f"{10 + n % 500}.{n % 100:02d}",
                                          posted_at=f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00+08:00")
                               for n in range(rows)])


def upload(client, kind: str, name: str, text: str) -> ImportRun:
    response = client.post("/staff/imports/", {"kind": kind, "file": SimpleUploadedFile(name, text.encode())},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 303, response.content[:300]
    return ImportRun.objects.get(pk=int(response["Location"].split("=")[1]))


def test_a_worker_imports_the_upload_and_writes_its_progress_to_the_run(worker, client, bob):
    client.force_login(bob)
    run = upload(client, "ledger", "ledger-big.csv", a_big_ledger(ROWS))
    seen: list[tuple[str, int, int]] = []

    def finished() -> bool:
        row = ImportRun.objects.values_list("status", "progress_percent", "rows_read").get(pk=run.pk)
        if not seen or seen[-1] != row:
            seen.append(row)
        return row[0] in ("succeeded", "failed")

    try:
        wait_for(finished, 90, "the worker to finish the import", interval=0.02)
    except AssertionError:
        print(worker.logs())
        raise
    run.refresh_from_db()
    assert (run.status, run.rows_total, run.rows_imported, run.rows_already_present, run.bad_rows) == (
        "succeeded", ROWS, ROWS, 0, 0), worker.logs()
    assert run.progress_percent == 100 and run.user == bob and len(run.sha256) == 64
    assert LedgerEntry.objects.count() == ROWS
    # While it ran, the page could read how far it was (the import's own transaction hides nothing of that).
    during = [(percent, rows) for status, percent, rows in seen if status == "running"]
    assert any(0 < percent < 100 for percent, _rows in during), seen
    assert [percent for percent, _rows in during] == sorted(percent for percent, _rows in during), seen
    # The stored upload is removed once the run is recorded (the worker's last act).
    wait_for(lambda: not list(Path(worker.env["DISPUTE_IMPORT_UPLOAD_DIR"]).glob("*")), 30, "the stored upload to be removed")


def test_a_worker_imports_nothing_from_a_file_with_one_bad_row_and_names_the_line(worker, client, bob):
    client.force_login(bob)
    rows = [ledger_row(f"L{n}") for n in range(5)]
    rows[3]["currency"] = "XXX"
    run = upload(client, "ledger", "ledger-bad.csv", csv_text("ledger", rows))
    try:
        wait_for(lambda: ImportRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).exists(), 60,
                 "the worker to finish the import")
    except AssertionError:
        print(worker.logs())
        raise
    run.refresh_from_db()
    assert (run.status, run.rows_total, run.bad_rows, run.rows_imported) == ("failed", 5, 1, 0)
    assert [error["line"] for error in run.errors] == [5]  # the header is line 1
    assert run.errors[0]["problems"] == [["currency", "Not a currency code this bank handles (ISO 4217, such as CNY)."]]
    assert LedgerEntry.objects.count() == 0
