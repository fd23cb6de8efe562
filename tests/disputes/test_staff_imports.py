"""The imports page (/staff/imports/): supervisors only; a missing, empty,
oversized or non-CSV upload is refused with a clear message in the user's
language and stores nothing; a good upload is stored, queued, and imported by
``upload_import`` (what the worker runs) all or nothing; the page shows the
result, the bad lines with why, and the history newest first in pages.

A real worker running the upload's task: tests/reliability/test_import_upload_worker.py;
in the browser: tests/e2e/test_staff_imports.py."""
from datetime import timedelta
from html import escape
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from disputes.delivery.outbox import outbox_pending
from transactions.importing.uploads import upload_import
from transactions.models import ImportRun, LedgerEntry, SettlementRecord
from tests.transactions.files import csv_text, ledger_row

pytestmark = pytest.mark.django_db
IMPORTS = "/staff/imports/"
SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path) -> Path:
    settings.DISPUTE_IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.DISPUTE_IMPORT_UPLOAD_DIR


def stored_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*")) if folder.exists() else []


def csv_upload(text: str, name: str = "ledger.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def upload(client, kind: str, file, language: str = "en"):
    data = {"kind": kind}
    if file is not None:
        data["file"] = file
    return client.post(IMPORTS, data, HTTP_ACCEPT_LANGUAGE=language)


def run_of(response) -> ImportRun:
    assert response.status_code == 303, response.content[:500]
    assert response["Location"].startswith(f"{IMPORTS}?run=")
    return ImportRun.objects.get(pk=int(response["Location"].split("=")[1]))


# --- who may enter ------------------------------------------------------------------------------

def test_an_anonymous_visitor_is_sent_to_log_in(client):
    for url in (IMPORTS, f"{IMPORTS}1/progress/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["alice", "dave", "mallory"])
def test_only_supervisors_may_see_or_use_the_imports_page(client, request, who, upload_dir):
    client.force_login(request.getfixturevalue(who))
    assert client.get(IMPORTS).status_code == 403
    response = upload(client, "ledger", csv_upload(csv_text("ledger", [ledger_row("L1")])))
    assert response.status_code == 403
    assert ImportRun.objects.count() == 0 and stored_files(upload_dir) == []


def test_only_supervisors_may_poll_a_runs_progress(client, alice, bob):
    client.force_login(bob)
    run = run_of(upload(client, "ledger", csv_upload(csv_text("ledger", [ledger_row("L1")]))))
    assert client.get(f"{IMPORTS}{run.pk}/progress/").status_code == 200
    client.force_login(alice)
    assert client.get(f"{IMPORTS}{run.pk}/progress/").status_code == 403


def test_the_supervisors_menu_links_the_imports_page_and_the_agents_does_not(client, alice, bob):
    client.force_login(bob)
    assert f'href="{IMPORTS}"' in client.get("/staff/").content.decode()
    client.force_login(alice)
    assert f'href="{IMPORTS}"' not in client.get("/staff/").content.decode()


def test_the_page_shows_the_header_line_each_kind_of_file_must_start_with(client, bob):
    """The supervisor who uploads has no copy of docs/design.md: the page says
    what the first line must be, as the bank's sample files have it."""
    client.force_login(bob)
    page = client.get(IMPORTS, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for kind in ("ledger", "settlement"):
        header = (SAMPLES / f"{kind}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert f"A {kind} file starts with this line, exactly:</p>\n    <pre><code data-kind-header>{header}</code>" in page
    assert "docs/design.md" not in page


# --- bad uploads ----------------------------------------------------------------------------------

BAD_UPLOADS = {
    "missing": (lambda: None, "Choose the CSV file to import.", "请选择要导入的 CSV 文件。"),
    "empty": (lambda: csv_upload(""), "The file is empty: choose the bank's CSV file.",
              "文件是空的：请选择银行的 CSV 文件。"),
    "not csv": (lambda: SimpleUploadedFile("ledger.xlsx", b"entry_id\n", content_type="application/vnd.ms-excel"),
                "Only CSV files (ending in .csv) can be imported.", "只能导入 CSV 文件（以 .csv 结尾）。"),
    "binary": (lambda: SimpleUploadedFile("ledger.csv", b"PK\x03\x04\x00\x00 a zipped spreadsheet"),
               "This file is not text (a spreadsheet or a PDF?): save it as CSV first.",
               "这个文件不是文本（是电子表格或 PDF 吗？）：请先另存为 CSV。"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_bad_upload_is_refused_with_a_clear_message_and_nothing_stored(client, bob, upload_dir, case, language):
    make, english, chinese = BAD_UPLOADS[case]
    client.force_login(bob)
    response = upload(client, "ledger", make(), language=language)
    assert response.status_code == 400
    assert escape(english if language == "en" else chinese) in response.content.decode()
    assert ImportRun.objects.count() == 0 and stored_files(upload_dir) == []


def test_a_file_above_the_limit_is_refused(client, bob, settings, upload_dir):
    settings.DISPUTE_IMPORT_MAX_BYTES = 100
    client.force_login(bob)
    text = csv_text("ledger", [ledger_row("L1")])
    assert len(text.encode()) > 100
    response = upload(client, "ledger", csv_upload(text))
    assert response.status_code == 400
    assert escape("The file is larger than 100\xa0bytes, the most this page accepts.") in response.content.decode()
    assert ImportRun.objects.count() == 0 and stored_files(upload_dir) == []


def test_a_kind_that_is_neither_ledger_nor_settlement_is_refused(client, bob, upload_dir):
    client.force_login(bob)
    response = upload(client, "refunds", csv_upload(csv_text("ledger", [ledger_row("L1")])))
    assert response.status_code == 400
    assert ImportRun.objects.count() == 0 and stored_files(upload_dir) == []


# --- a good upload, imported ------------------------------------------------------------------------

def test_an_upload_is_stored_queued_then_imported_and_its_file_removed(client, bob, upload_dir):
    client.force_login(bob)
    text = (SAMPLES / "ledger.csv").read_text(encoding="utf-8")
    rows = len(text.splitlines()) - 1
    run = run_of(upload(client, "ledger", csv_upload(text, "ledger-2026-11.csv")))
    assert (run.status, run.kind, run.file_name, run.user) == ("queued", "ledger", "ledger-2026-11.csv", bob)
    stored = stored_files(upload_dir)
    assert [path.read_text(encoding="utf-8") for path in stored] == [text]
    page = client.get(f"{IMPORTS}?run={run.pk}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Waiting for a worker" in page and 'hx-trigger="every 1s"' in page

    report = upload_import(run_id=run.pk)

    run.refresh_from_db()
    assert (run.status, run.rows_total, run.rows_imported, run.rows_already_present, run.bad_rows) == (
        "succeeded", rows, rows, 0, 0)
    assert run.progress_percent == 100 and run.upload_name == "" and stored_files(upload_dir) == []
    assert report.sha256 == run.sha256 and len(run.sha256) == 64
    assert LedgerEntry.objects.count() == rows
    fragment = client.get(f"{IMPORTS}{run.pk}/progress/", HTTP_ACCEPT_LANGUAGE="en")
    assert fragment["HX-Trigger"] == "import-finished"
    body = fragment.content.decode()
    assert f"{rows} rows in the file: {rows} imported, 0 already present." in body
    assert "every 1s" not in body and run.sha256 in body
    assert upload_import(run_id=run.pk) is None  # a task delivered twice does nothing the second time
    assert LedgerEntry.objects.count() == rows


def test_a_run_or_page_that_does_not_exist_is_answered_plainly(client, bob):
    client.force_login(bob)
    huge = "9" * 30
    assert client.get(f"{IMPORTS}?run={huge}").status_code == 200
    assert client.get(f"{IMPORTS}?before={huge}").status_code == 200
    assert client.get(f"{IMPORTS}?run=-1&before=x").status_code == 200
    assert client.get(f"{IMPORTS}{huge}/progress/").status_code == 404
    assert client.get(f"{IMPORTS}12345/progress/").status_code == 404


def test_a_running_import_polls_and_a_finished_one_does_not(client, bob):
    client.force_login(bob)
    run = run_of(upload(client, "ledger", csv_upload(csv_text("ledger", [ledger_row("L1")]))))
    ImportRun.objects.filter(pk=run.pk).update(status="running", progress_percent=42, rows_read=1234, bad_rows=2)
    fragment = client.get(f"{IMPORTS}{run.pk}/progress/", HTTP_ACCEPT_LANGUAGE="en")
    assert "HX-Trigger" not in fragment
    body = fragment.content.decode()
    assert 'value="42"' in body and "1234 rows read" in body and "2 bad rows" in body and "every 1s" in body


def test_uploading_the_same_file_again_changes_nothing(client, bob):
    client.force_login(bob)
    text = (SAMPLES / "settlement.csv").read_text(encoding="utf-8")
    rows = len(text.splitlines()) - 1
    first = run_of(upload(client, "settlement", csv_upload(text, "settlement.csv")))
    upload_import(run_id=first.pk)
    before = list(SettlementRecord.objects.order_by("pk").values())
    again = run_of(upload(client, "settlement", csv_upload(text, "settlement.csv")))
    upload_import(run_id=again.pk)
    again.refresh_from_db()
    first.refresh_from_db()
    assert (again.status, again.rows_imported, again.rows_already_present) == ("succeeded", 0, rows)
    assert again.sha256 == first.sha256
    assert list(SettlementRecord.objects.order_by("pk").values()) == before


@pytest.mark.parametrize("language, line_words, why, summary", [
    ("en", "line 3", "Write the amount as a plain decimal number, such as 128.50.",
     "1 bad line (3 rows read): correct it and upload the whole file again."),
    ("zh-hans", "第 3 行", "金额应写成普通的十进制数，例如 128.50。", "1 行有误（已读 3 行）：请改正后重新上传整个文件。"),
])
def test_a_file_with_one_bad_row_imports_nothing_and_the_page_names_the_line(client, bob, language, line_words, why,
                                                                             summary):
    client.force_login(bob)
    text = csv_text("ledger", [ledger_row("L1"), ledger_row("L2", amount="1,000.00"), ledger_row("L3")])
    run = run_of(upload(client, "ledger", csv_upload(text), language=language))
    upload_import(run_id=run.pk, language=language)
    run.refresh_from_db()
    assert (run.status, run.rows_total, run.bad_rows, run.rows_imported) == ("failed", 3, 1, 0)
    assert LedgerEntry.objects.count() == 0
    body = client.get(f"{IMPORTS}{run.pk}/progress/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'data-line="3"' in body and line_words in body and escape(why) in body
    assert 'data-line="2"' not in body and 'data-line="4"' not in body
    assert summary in body


def test_a_file_of_one_row_is_told_in_the_singular(client, bob):
    client.force_login(bob)
    run = run_of(upload(client, "ledger", csv_upload(csv_text("ledger", [ledger_row("L1")]))))
    upload_import(run_id=run.pk)
    body = client.get(f"{IMPORTS}{run.pk}/progress/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 row in the file: 1 imported, 0 already present." in body


def test_an_upload_whose_file_is_gone_ends_failed(client, bob, upload_dir):
    client.force_login(bob)
    run = run_of(upload(client, "ledger", csv_upload(csv_text("ledger", [ledger_row("L1")]))))
    for path in stored_files(upload_dir):
        path.unlink()
    assert upload_import(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.status == "failed" and LedgerEntry.objects.count() == 0
    body = client.get(f"{IMPORTS}{run.pk}/progress/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert escape("The import stopped before it finished.") in body


def test_the_sweep_resends_an_upload_left_queued_and_only_that(bob):
    old = timezone.now() - timedelta(minutes=5)
    queued = ImportRun.objects.create(kind="ledger", file_name="a.csv", started_at=old, status="queued", user=bob)
    ImportRun.objects.create(kind="ledger", file_name="b.csv", started_at=old, status="running", user=bob)
    ImportRun.objects.create(kind="ledger", file_name="c.csv", started_at=timezone.now(), status="queued", user=bob)
    assert outbox_pending(older_than=timedelta(seconds=60)).import_run_ids == [queued.pk]


# --- the history --------------------------------------------------------------------------------

def test_the_history_lists_every_import_newest_first_in_pages_of_twenty(client, bob, alice):
    start = timezone.now() - timedelta(days=1)
    runs = [ImportRun.objects.create(kind="ledger" if n % 2 else "settlement", file_name=f"file-{n:02d}.csv",
                                     sha256=f"{n:064x}", user=bob if n % 3 else None,
                                     started_at=start + timedelta(minutes=n), status="succeeded",
                                     rows_total=n, rows_imported=n)
            for n in range(25)]
    client.force_login(bob)
    with CaptureQueriesContext(connection) as queries:
        first = client.get(IMPORTS, HTTP_ACCEPT_LANGUAGE="en")
    assert len(queries) <= 8
    shown = [run.pk for run in first.context["history"].runs]
    assert shown == [run.pk for run in reversed(runs)][:20]
    body = first.content.decode()
    assert body.index("file-24.csv") < body.index("file-23.csv")
    assert f"{24:064x}" in body and "command line" in body  # run 24 has no user: the command imported it
    second = client.get(first.context["next_url"])
    assert [run.pk for run in second.context["history"].runs] == [run.pk for run in reversed(runs)][20:]
    assert second.context["next_url"] == ""
