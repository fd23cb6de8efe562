"""manage.py import_transactions: all or nothing, every bad line named, idempotent,
recorded (docs/design.md, "Commands" and "Transaction records")."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from tests.app_role_plugin import application_role
from tests.transactions.files import csv_text, ledger_row, run_import, settlement_row, write_file
from transactions import importing
from transactions.importing import BAD_LINES_SHOWN, records_import
from transactions.models import ImportRun, ImportStatus, LedgerEntry, LedgerKind, SettlementRecord

SAMPLES = Path(settings.BASE_DIR) / "docs" / "samples"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def import_bytes(kind: str, data: bytes, name: str = "file.csv", **kwargs) -> importing.ImportReport:
    return records_import(kind=kind, file=io.BytesIO(data), file_name=name, **kwargs)


def problems_of(report) -> dict[int, list[str]]:
    return {bad.line: [f"{p.field}: {p.message}" if p.field else p.message for p in bad.problems]
            for bad in report.bad_lines}


# --- a good file ----------------------------------------------------------------------------------


def test_the_sample_files_import_completely_and_the_run_is_recorded(db, alice):
    with open(SAMPLES / "ledger.csv", "rb") as file:
        report = records_import(kind="ledger", file=file, file_name=str(SAMPLES / "ledger.csv"), user=alice)
    output, error = run_import("settlement", SAMPLES / "settlement.csv")

    assert report.succeeded and error is None
    assert (report.rows_total, report.rows_imported, report.rows_already_present, report.bad_rows) == (22, 22, 0, 0)
    assert LedgerEntry.objects.count() == 22 and SettlementRecord.objects.count() == 18
    run = ImportRun.objects.get(pk=report.run_id)
    assert (run.kind, run.file_name, run.user, run.status) == ("ledger", "ledger.csv", alice, ImportStatus.SUCCEEDED)
    assert run.sha256 == __import__("hashlib").sha256((SAMPLES / "ledger.csv").read_bytes()).hexdigest()
    assert run.finished_at >= run.started_at and run.errors == []
    assert "18 rows in the file, 18 imported, 0 already present" in output


def test_every_field_arrives_as_written(db):
    import_bytes("ledger", csv_text("ledger", [ledger_row(
        "L1", customer_ref="C77", card_last4="0042", amount="128.5", currency="CNY",
        posted_at="2026-11-20T14:03:00.250+08:00", kind="refund", rrn="100000000347", stan="508225",
        auth_code="A1B2C3", merchant_id="103287654110281", terminal_id="AB12CD34")]).encode())

    entry = LedgerEntry.objects.get(entry_id="L1")
    assert (entry.customer_ref, entry.card_last4, entry.amount, entry.currency, entry.kind) == (
        "C77", "0042", Decimal("128.50"), "CNY", "refund")
    assert entry.posted_at == datetime.fromisoformat("2026-11-20T06:03:00.250+00:00")
    assert (entry.rrn, entry.stan, entry.auth_code, entry.merchant_id, entry.terminal_id) == (
        "100000000347", "508225", "A1B2C3", "103287654110281", "AB12CD34")


def test_a_hold_is_a_ledger_kind_of_its_own(db):
    report = import_bytes("ledger", csv_text("ledger", [ledger_row("H1", kind="hold")]).encode())

    assert report.succeeded
    assert LedgerEntry.objects.get(entry_id="H1").kind == LedgerKind.HOLD


def test_empty_optional_fields_are_stored_empty_quoted_or_not(db):
    data = csv_text("ledger", [ledger_row("L1", merchant_id="", terminal_id="")]).encode()
    data += b'L2,"",1234,10.00,CNY,2026-11-10T12:00:00+08:00,debit,"","","","",""\n'

    assert import_bytes("ledger", data).succeeded
    assert set(LedgerEntry.objects.values_list("customer_ref", "merchant_id", "terminal_id", "rrn")) == {
        ("C00001", "", "", ""), ("", "", "", "")}


def test_a_byte_order_mark_and_windows_line_ends_are_read(db):
    data = "\ufeff" + csv_text("ledger", [ledger_row("L1"), ledger_row("L2")]).replace("\n", "\r\n")

    report = import_bytes("ledger", data.encode())

    assert report.succeeded and report.rows_imported == 2


def test_blank_lines_hold_no_row_and_are_skipped(db):
    data = csv_text("ledger", [ledger_row("L1")]) + "\n" + csv_text("ledger", [ledger_row("L2")]).split("\n", 1)[1]

    report = import_bytes("ledger", data.encode())

    assert report.succeeded and report.rows_imported == 2


# --- idempotent -------------------------------------------------------------------------------------


def test_importing_the_same_file_again_changes_nothing_but_is_recorded(db, tmp_path):
    path = write_file(tmp_path, "settlement", [settlement_row("S1"), settlement_row("S2")])
    run_import("settlement", path)
    before = list(SettlementRecord.objects.order_by("pk").values())

    output, error = run_import("settlement", path)

    assert error is None and "0 imported, 2 already present" in output
    assert list(SettlementRecord.objects.order_by("pk").values()) == before
    first, second = ImportRun.objects.order_by("pk")
    assert first.sha256 == second.sha256 and second.rows_already_present == 2


def test_an_overlapping_file_imports_only_its_new_rows(db, tmp_path):
    run_import("ledger", write_file(tmp_path, "ledger", [ledger_row("L1"), ledger_row("L2")], "a.csv"))

    output, error = run_import("ledger", write_file(
        tmp_path, "ledger", [ledger_row("L2"), ledger_row("L3"), ledger_row("L4")], "b.csv"))

    assert error is None and "3 rows in the file, 2 imported, 1 already present" in output
    assert sorted(LedgerEntry.objects.values_list("entry_id", flat=True)) == ["L1", "L2", "L3", "L4"]


def test_the_same_values_written_differently_are_the_same_row(db):
    import_bytes("ledger", csv_text("ledger", [ledger_row("L1", amount="10.5", posted_at="2026-11-10T12:00:00+08:00")]).encode())

    report = import_bytes("ledger", csv_text("ledger", [ledger_row(
        "L1", amount="10.50", posted_at="2026-11-10T04:00:00Z")]).encode())

    assert report.succeeded and report.rows_already_present == 1


def test_an_id_already_imported_with_other_values_is_a_conflict_and_nothing_is_imported(db, tmp_path):
    run_import("ledger", write_file(tmp_path, "ledger", [ledger_row("L1", amount="10.00")], "a.csv"))

    output, error = run_import("ledger", write_file(
        tmp_path, "ledger", [ledger_row("L2"), ledger_row("L1", amount="10.01")], "b.csv"))

    assert "line 3: entry_id: This id was imported before with other values." in output
    assert "Nothing imported from b.csv: 1 bad line, 2 rows read" in error
    assert not LedgerEntry.objects.filter(entry_id="L2").exists()
    assert LedgerEntry.objects.get(entry_id="L1").amount == Decimal("10.00")


# --- a bad file imports nothing ------------------------------------------------------------------


def test_a_file_with_one_bad_row_imports_nothing_and_names_that_line(db, tmp_path):
    rows = [ledger_row(f"L{n}") for n in range(1, 11)]
    rows[6]["card_last4"] = "12345"
    path = write_file(tmp_path, "ledger", rows)

    output, error = run_import("ledger", path)

    assert output.splitlines() == ["line 8: card_last4: Enter the last 4 digits of the card."]
    assert error == "Nothing imported from ledger.csv: 1 bad line, 10 rows read (import #%d)." % ImportRun.objects.get().pk
    assert not LedgerEntry.objects.exists()
    run = ImportRun.objects.get()
    assert (run.status, run.rows_total, run.bad_rows, run.rows_imported) == (ImportStatus.FAILED, 10, 1, 0)
    assert run.errors == [{"line": 8, "problems": [["card_last4", "Enter the last 4 digits of the card."]]}]


def test_naive_timestamps_are_refused(db):
    report = import_bytes("ledger", csv_text("ledger", [
        ledger_row("L1", posted_at="2026-11-10T12:00:00"),
        ledger_row("L2", posted_at="2026-11-10 12:00"),
        ledger_row("L3", posted_at="2026-11-10"),
        ledger_row("L4", posted_at="2026-11-10T12:00:00+08:00"),
    ]).encode())

    naive = "posted_at: The time has no UTC offset: add one, such as +08:00."
    assert problems_of(report) == {2: [naive], 3: [naive], 4: [naive]}
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("written", [
    "2026-11-10T12:00:00+0800", "2026/11/10 12:00:00+08:00", "2026-11-10T12:00+08:00", "2026-13-10T12:00:00+08:00",
    "2026-02-29T12:00:00+08:00", "2026-11-10T24:00:00+08:00", "2026-11-10T12:00:00+15:00", "1763000000",
    "2026-11-10T12:00:00.1234567+08:00", "tomorrow", "2026-11-10T12:00:00+08:00 ",
])
def test_times_that_are_not_iso_8601_with_an_offset_are_refused(db, written):
    report = import_bytes("ledger", csv_text("ledger", [ledger_row("L1", posted_at=written)]).encode())

    assert problems_of(report) == {2: [
        "posted_at: Write the time in ISO 8601 with its offset, such as 2026-11-20T14:03:00+08:00."]}


def test_times_before_2000_or_in_the_future_are_refused(db):
    soon = (timezone.now() + timedelta(hours=1)).isoformat(timespec="seconds")
    report = import_bytes("settlement", csv_text("settlement", [
        settlement_row("S1", transacted_at="1999-12-31T23:59:59Z"),
        settlement_row("S2", transacted_at="0001-01-01T00:00:00Z"),
        settlement_row("S3", transacted_at=soon),
        settlement_row("S4", transacted_at="2000-01-01T08:00:00+08:00"),
    ]).encode())

    assert problems_of(report) == {
        2: ["transacted_at: The time is before 2000-01-01."],
        3: ["transacted_at: The time is before 2000-01-01."],
        4: ["transacted_at: The time is in the future."],
    }


@pytest.mark.parametrize("written", ["1e3", "1E3", "10.", ".5", "+10", "-10", " 10", "10 ", "1,000", "1_000", "NaN",
                                     "Infinity", "0x10", "10.0.0", "１０", "10,5", "￥10"])
def test_amounts_that_are_not_plain_decimal_strings_are_refused(db, written):
    report = import_bytes("ledger", csv_text("ledger", [ledger_row("L1", amount=written)]).encode())

    assert problems_of(report) == {2: ["amount: Write the amount as a plain decimal number, such as 128.50."]}


def test_amounts_keep_to_the_currency_minor_units_and_range(db):
    report = import_bytes("ledger", csv_text("ledger", [
        ledger_row("L1", amount="10.001"),
        ledger_row("L2", amount="10.000"),
        ledger_row("L3", amount="100.5", currency="JPY"),
        ledger_row("L4", amount="100.0", currency="JPY"),
        ledger_row("L5", amount="0.00"),
        ledger_row("L6", amount="1000000000000"),
        ledger_row("L7", amount="1" + "0" * 200),
        ledger_row("L8", amount="999999999999.99"),
        ledger_row("L9", amount="100", currency="JPY"),
        ledger_row("L10", amount="007.5"),
    ]).encode())

    assert problems_of(report) == {
        2: ["amount: CNY amounts have at most 2 decimal places."],
        3: ["amount: CNY amounts have at most 2 decimal places."],
        4: ["amount: JPY amounts have at most 0 decimal places."],
        5: ["amount: JPY amounts have at most 0 decimal places."],
        6: ["amount: The amount must be greater than zero."],
        7: ["amount: The amount is too large."],
        8: ["amount: The amount is too large."],
    }


def test_currencies_must_be_ones_the_bank_handles(db):
    report = import_bytes("ledger", csv_text("ledger", [
        ledger_row("L1", currency="cny"), ledger_row("L2", currency="XXX"), ledger_row("L3", currency="")]).encode())

    unknown = "currency: Not a currency code this bank handles (ISO 4217, such as CNY)."
    assert problems_of(report) == {2: [unknown], 3: [unknown], 4: ["currency: This field is required."]}


def test_slip_fields_kinds_and_statuses_keep_their_shapes(db):
    ledger = import_bytes("ledger", csv_text("ledger", [
        ledger_row("L1", rrn="10000000034", stan="50822A", auth_code="34019", merchant_id="10328765411028",
                   terminal_id="4108285", kind="credit"),
        ledger_row("L2", card_last4="", kind=""),
    ]).encode())
    settlement = import_bytes("settlement", csv_text("settlement", [
        settlement_row("S1", status="ok", processor=""),
    ]).encode())

    assert problems_of(ledger) == {
        2: ["auth_code: An authorisation code (授权码) has exactly 6 letters or digits.",
            "kind: One of: debit, reversal, refund, hold.",
            "merchant_id: A merchant id (商户编号) has exactly 15 digits.",
            "rrn: A reference number (参考号) has exactly 12 digits.",
            "stan: A trace number (凭证号) has exactly 6 digits.",
            "terminal_id: A terminal id (终端编号) has exactly 8 letters or digits."],
        3: ["card_last4: This field is required.", "kind: This field is required."],
    }
    assert problems_of(settlement) == {2: ["processor: This field is required.",
                                           "status: One of: approved, declined, timeout, reversed."]}


def test_ids_must_be_present_short_and_unique_within_the_file(db):
    report = import_bytes("ledger", csv_text("ledger", [
        ledger_row("L1"), ledger_row(""), ledger_row("L 3"), ledger_row("L" * 33), ledger_row("L1"), ledger_row("L1"),
    ]).encode())

    shape = "entry_id: An id has 1 to 32 characters: letters, digits or punctuation, no spaces."
    assert problems_of(report) == {
        3: ["entry_id: This field is required."], 4: [shape], 5: [shape],
        6: ["entry_id: The same id as line 2: each id appears once in a file."],
        7: ["entry_id: The same id as line 2: each id appears once in a file."],
    }


def test_free_text_fields_refuse_line_breaks_and_overlong_values(db):
    report = import_bytes("settlement", csv_text("settlement", [
        settlement_row("S1", processor="银联\n商务"), settlement_row("S2", processor="x" * 101),
        settlement_row("S3", processor="x" * 100),
    ]).encode())

    too_long = "processor: At most 100 characters, without line breaks or other control characters."
    assert problems_of(report) == {2: [too_long], 4: [too_long]}  # S1 took lines 2 and 3 of the file


CARD_REFUSED = ("A full card number is not allowed here: the records never hold one (give at most its last 4 "
                "digits, in card_last4).")


def test_a_card_number_in_a_free_text_field_is_refused_and_nothing_is_imported(db):
    """customer_ref and processor are free text: a full card number there (with any separator, in any
    script's digits) refuses the file; a long number that is not a card (fails Luhn) is a plain reference."""
    ledger = import_bytes("ledger", csv_text("ledger", [
        ledger_row("L1", customer_ref="4111111111111111"), ledger_row("L2", customer_ref="C 4111-1111-1111-1111"),
        ledger_row("L3", customer_ref="４１１１１１１１１１１１１１１１"), ledger_row("L4", customer_ref="100000000347"),
        ledger_row("L5", customer_ref="CIF0001234567890"),
    ]).encode())
    assert problems_of(ledger) == {2: [f"customer_ref: {CARD_REFUSED}"], 3: [f"customer_ref: {CARD_REFUSED}"],
                                   4: [f"customer_ref: {CARD_REFUSED}"]}
    settlement = import_bytes("settlement", csv_text("settlement", [
        settlement_row("S1", processor="银联商务 6222 0212 3456 7890 128"), settlement_row("S2", processor="银联商务"),
    ]).encode())
    assert problems_of(settlement) == {2: [f"processor: {CARD_REFUSED}"]}
    assert not LedgerEntry.objects.exists() and not SettlementRecord.objects.exists()


def test_a_card_number_of_13_characters_is_refused_and_shorter_values_pass(db):
    """The shortest card number, 13 digits (Luhn-valid) and nothing else, in ASCII and in full-width digits;
    12-character values (digits, a name in Chinese) cannot hold one."""
    ledger = import_bytes("ledger", csv_text("ledger", [
        ledger_row("L1", customer_ref="4222222222222"), ledger_row("L2", customer_ref="４２２２２２２２２２２２２"),
        ledger_row("L3", customer_ref="422222222222"), ledger_row("L4", customer_ref="中国银联商务有限公司上海"),
    ]).encode())
    assert problems_of(ledger) == {2: [f"customer_ref: {CARD_REFUSED}"], 3: [f"customer_ref: {CARD_REFUSED}"]}
    settlement = import_bytes("settlement", csv_text("settlement", [
        settlement_row("S1", processor="银联4222222222222"), settlement_row("S2", processor="银联商务有限公司"),
    ]).encode())
    assert problems_of(settlement) == {2: [f"processor: {CARD_REFUSED}"]}


def test_the_sqlite_checker_refuses_the_same_card_numbers():
    fmt = importing.FORMATS["ledger"]
    now = timezone.now()
    for customer_ref, refused in (("4111111111111111", True), ("C 4111-1111-1111-1111", True),
                                  ("４１１１１１１１１１１１１１１１", True), ("100000000347", False), ("CIF0001234567890", False)):
        row = ledger_row("L1", customer_ref=customer_ref)
        problems, _values = importing.checks._python_check(fmt.rules, [row[name] for name in fmt.columns], now)
        assert (("customer_ref", "card_number", "") in problems) is refused, customer_ref


def test_a_wrong_header_refuses_the_whole_file(db):
    data = csv_text("ledger", [ledger_row("L1")]).replace("entry_id,customer_ref", "customer_ref,entry_id", 1)

    report = import_bytes("ledger", data.encode())

    assert problems_of(report) == {1: ["header: The first line must be exactly: " + ",".join(
        importing.FORMATS["ledger"].columns)]}
    assert report.rows_total == 0 and not LedgerEntry.objects.exists()


def test_a_settlement_file_is_not_a_ledger_file(db):
    report = import_bytes("ledger", (SAMPLES / "settlement.csv").read_bytes())

    assert list(problems_of(report)) == [1]


def test_an_empty_file_is_refused(db):
    report = import_bytes("ledger", b"")

    assert not report.succeeded and list(problems_of(report)) == [1]


def test_lines_that_are_not_csv_rows_of_the_format_are_named(db):
    good = csv_text("ledger", [ledger_row("L1")]).splitlines()[1]
    data = "\n".join([
        ",".join(importing.FORMATS["ledger"].columns),
        good,
        good.replace("L1", "L2") + ",extra",
        "L3,C1,1234",
        "\\.",
        good.replace("L1", "L5"),
    ]).encode() + b"\n" + good.replace("L1", "L6").encode().replace(b"C00001", b"C\xff\xfe") + b"\n" + (
        good.replace("L1", "L7").encode().replace(b"C00001", b"C\x00") + b"\n")

    report = import_bytes("ledger", data)

    assert problems_of(report) == {
        3: ["12 fields expected, 13 found."], 4: ["12 fields expected, 3 found."], 5: ["12 fields expected, 1 found."],
        7: ["Not UTF-8 text."], 8: ["A NUL character: not text."],
    }
    assert report.rows_total == 7 and not LedgerEntry.objects.exists()


def test_the_end_of_data_mark_of_copy_does_not_end_a_good_file_early(db):
    """A line holding only \\. ends a PostgreSQL COPY: the import must not stop there silently."""
    rows = csv_text("ledger", [ledger_row("L1"), ledger_row("L2")]).replace("\nL2", "\n\\.\nL2")

    report = import_bytes("ledger", rows.encode())

    assert problems_of(report) == {3: ["12 fields expected, 1 found."]}


def test_at_most_a_thousand_bad_lines_are_listed_but_all_are_counted(db):
    rows = [ledger_row(f"L{n}", amount="1e3") for n in range(BAD_LINES_SHOWN + 5)]

    report = import_bytes("ledger", csv_text("ledger", rows).encode())

    assert report.bad_rows == BAD_LINES_SHOWN + 5 and report.bad_lines_not_shown == 5
    assert [bad.line for bad in report.bad_lines] == list(range(2, BAD_LINES_SHOWN + 2))
    assert len(ImportRun.objects.get().errors) == BAD_LINES_SHOWN


def test_the_command_lists_the_bad_lines_then_how_many_more(db, tmp_path):
    path = write_file(tmp_path, "ledger", [ledger_row(f"L{n}", amount="-1") for n in range(BAD_LINES_SHOWN + 2)])

    output, error = run_import("ledger", path)

    assert output.splitlines()[-1] == "… and 2 more bad lines."
    assert f"{BAD_LINES_SHOWN + 2} bad lines, {BAD_LINES_SHOWN + 2} rows read" in error


def test_bad_values_are_never_echoed_in_the_report(db):
    card_number = "6222021234567890128"
    report = import_bytes("ledger", csv_text("ledger", [ledger_row("L1", card_last4=card_number, rrn=card_number)]).encode())

    assert card_number not in str(report.bad_lines) and card_number not in str(ImportRun.objects.get().errors)


def test_a_card_number_in_the_file_name_is_masked(db):
    report = import_bytes("ledger", csv_text("ledger", [ledger_row("L1")]).encode(), name="6222021234567890128.csv")

    assert ImportRun.objects.get(pk=report.run_id).file_name == "***************0128.csv"


# --- progress -------------------------------------------------------------------------------------


def test_progress_is_reported_while_reading_and_at_each_phase(db):
    heard: list[importing.ImportProgress] = []
    rows = [ledger_row(f"L{n:07d}", rrn=f"{n:012d}") for n in range(12_000)]  # about 1.6 MB
    data = csv_text("ledger", rows).encode()

    report = import_bytes("ledger", data, progress=heard.append)

    assert report.succeeded
    phases = [progress.phase for progress in heard]
    assert phases[0] == "reading" and phases[-3:] == ["checking", "writing", "done"]
    reading = [progress for progress in heard if progress.phase == "reading"]
    assert reading[0].bytes_read >= importing.PROGRESS_EVERY and reading[0].bytes_total == len(data)
    assert 0 < reading[0].rows_read < 12_000 and 0 < reading[0].percent < 80
    assert heard[-1].rows_read == 12_000 and heard[-1].percent == 100


def test_the_progress_bar_draws_on_a_terminal_only(db, tmp_path):
    from transactions.management.commands.import_transactions import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    bar = ProgressBar(screen, enabled=True)
    bar(importing.ImportProgress("checking", 1500, 2, 100, 100))
    bar.finish()

    assert screen.getvalue().startswith("\r[" + "#" * 24 + "------]  80.0% checking")
    assert "1,500 rows, 2 bad" in screen.getvalue() and screen.getvalue().endswith("\n")


# --- the two checkers agree ------------------------------------------------------------------------


LEDGER_VALUES = {
    "entry_id": ["L1", "", "L 1", "L" * 32, "L" * 33, "Ｌ1", "L\x011"],
    "customer_ref": ["", "C1", "C\t1", "C" * 32, "C" * 33, "客户1"],
    "card_last4": ["1234", "", "123", "12a4", "１２３４", "12345"],
    "amount": ["10", "10.5", "10.55", "10.555", "0", "0.00", "0.01", "1e3", "-1", "1000000000000", "999999999999.99",
               "", "00000000000001.00", ".5", "5.", "1,0"],
    "currency": ["CNY", "JPY", "XXX", "", "cny"],
    "posted_at": ["2026-11-10T12:00:00+08:00", "2026-11-10T12:00:00Z", "2026-11-10 12:00:00.123456-05:30",
                  "2026-11-10T12:00:00", "2026-02-30T12:00:00Z", "2024-02-29T00:00:00Z", "2026-02-29T00:00:00Z",
                  "2026-04-31T00:00:00Z", "2026-12-31T23:59:59+14:00", "2026-11-10T12:00:00+15:00",
                  "2026-11-10T12:00:00.1234567Z", "1999-12-31T23:59:59Z", "2099-01-01T00:00:00Z", "2026-11-10T24:00:00Z",
                  "2026-11-10T12:60:00Z", "2026-13-10T12:00:00Z", "2026-00-10T12:00:00Z", "", "2026-11-10t12:00:00z",
                  "0000-01-01T00:00:00Z"],
    "kind": ["debit", "hold", "Debit", ""],
    "rrn": ["", "100000000347", "10000000034", "10000000034x"],
    "stan": ["", "508225", "5082250", "50822a"],
    "auth_code": ["", "A1b2C3", "A1b2C", "A1b2C!"],
    "merchant_id": ["", "103287654110281", "10328765411028a"],
    "terminal_id": ["", "AB12cd34", "AB12cd3-"],
}


@st.composite
def nearly_good_rows(draw):
    """A good row with one or two of its values taken from the list above (good or bad)."""
    row = ledger_row("L0", rrn="100000000347", stan="508225", auth_code="A1b2C3")
    for name in draw(st.lists(st.sampled_from(list(LEDGER_VALUES)), min_size=1, max_size=2, unique=True)):
        row[name] = draw(st.sampled_from(LEDGER_VALUES[name]))
    return row


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(nearly_good_rows(), min_size=1, max_size=40))
def test_the_sql_shortcut_passes_only_rows_the_full_check_finds_nothing_wrong_with(db, rows):
    """PostgreSQL runs the full check only on rows the cheaper test does not pass:
    a row it passes must have no problem at all, and a plain good row must pass it."""
    rows = [*every_single_change(), *rows, ledger_row("GOOD1"), ledger_row("GOOD2", amount="0.5",
                                                    posted_at="2026-11-10 12:00:00.5Z", rrn="100000000347")]
    fmt = importing.FORMATS["ledger"]
    good, good_params = importing.checks._sql_certainly_good(fmt.rules)
    checks, check_params = importing.checks._sql_check(fmt.rules)
    latest = timezone.now() + timedelta(minutes=10)
    values = [latest if value == "now" else value for value in [*check_params, *good_params]]
    with transaction.atomic():
        importing.staging._create_temporary_tables(fmt)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {importing.STAGE} (line, {', '.join(fmt.columns)}) VALUES (%s{', %s' * len(fmt.columns)})",
                [(line, *[row[name] or None for name in fmt.columns]) for line, row in enumerate(rows, start=2)])
            cursor.execute(f"SELECT line, array_remove({checks}, NULL), {good} FROM {importing.STAGE} ORDER BY line",
                           values)
            found = cursor.fetchall()
        transaction.set_rollback(True)

    assert [line for line, problems, certainly_good in found if certainly_good and problems] == []
    assert found[-1][2] and found[-2][2]


def every_single_change() -> list[dict]:
    """The good row with each value of the list above in turn."""
    rows = []
    for name, options in LEDGER_VALUES.items():
        for value in options:
            row = ledger_row("L0", rrn="100000000347", stan="508225", auth_code="A1b2C3")
            row[name] = value
            rows.append(row)
    return rows


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(nearly_good_rows(), min_size=1, max_size=40))
def test_python_and_postgresql_find_the_same_problems(db, rows):
    """SQLite's import checks rows in Python, PostgreSQL's in SQL: the same rows, the same problems."""
    rows = every_single_change() + rows
    for number, row in enumerate(rows):
        if row["entry_id"] == "L0":
            row["entry_id"] = f"L{number}"
    fmt = importing.FORMATS["ledger"]
    with transaction.atomic():
        report = import_bytes("ledger", csv_text("ledger", rows).encode())
        transaction.set_rollback(True)

    now = timezone.now()
    expected = {}
    for line, row in enumerate(rows, start=2):
        found, _values = importing.checks._python_check(fmt.rules, [row[name] for name in fmt.columns], now)
        if found:
            expected[line] = sorted(f"{field}: {importing.checks._message(fmt, field, code, detail)}"
                                    for field, code, detail in found)
    got = {line: sorted(problem for problem in problems if "The same id as line" not in problem)
           for line, problems in problems_of(report).items()}
    assert {line: problems for line, problems in got.items() if problems} == expected


def indexes_of(table: str) -> list[tuple[str, str, int]]:
    """Each index's name, definition and object id (a rebuilt index has a new one)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef, (quote_ident(indexname))::regclass::oid FROM pg_indexes"
                       " WHERE tablename = %s ORDER BY indexname", [table])
        return cursor.fetchall()


def planner_statistics_forgotten(table: str) -> None:
    """As after a table's first rows: the planner knows nothing of its columns (this
    test's transaction only; the tests run as a superuser)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = %s::regclass", [table])


def planner_distinct(table: str) -> dict[str, float]:
    """The planner's count of distinct values per column (-1: every value distinct)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname, n_distinct FROM pg_stats WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


@pytest.mark.needs_owner
def test_a_file_bigger_than_the_table_goes_in_with_its_indexes_built_again(db, monkeypatch):
    monkeypatch.setattr(importing.staging, "REBUILD_INDEXES_FROM", 2)
    rows = [ledger_row(f"L{n}", rrn=f"{n:012d}") for n in range(1, 5)]
    import_bytes("ledger", csv_text("ledger", rows[:1]).encode())
    before = indexes_of("transactions_ledgerentry")
    planner_statistics_forgotten("transactions_ledgerentry")

    report = import_bytes("ledger", csv_text("ledger", rows).encode())

    after = indexes_of("transactions_ledgerentry")
    assert report.succeeded and report.rows_imported == 3
    assert [(name, definition) for name, definition, _oid in after] == [
        (name, definition) for name, definition, _oid in before]
    rebuilt = {name for (name, _d, old), (_n, _e, new) in zip(before, after) if old != new}
    assert rebuilt == {"ledger_rrn_idx", "ledger_card_posted_idx", "ledger_mid_amount_idx", "ledger_tid_stan_idx",
                       "ledger_entry_id_unique"}
    assert "transactions_ledgerentry_pkey" not in rebuilt  # other tables' foreign keys point at it
    assert LedgerEntry.objects.filter(rrn="000000000003").count() == 1
    assert planner_distinct("transactions_ledgerentry").get("entry_id") == -1  # the planner knows the rows
    # The id's unique constraint is back, as a constraint, and holds.
    with connection.cursor() as cursor:
        cursor.execute("SELECT contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
                       ["ledger_entry_id_unique"])
        assert cursor.fetchall() == [("u", "UNIQUE (entry_id)")]
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(**{**LedgerEntry.objects.values(*importing.FORMATS["ledger"].columns).first(),
                                      "rrn": "999999999999"})


def test_a_file_bigger_than_the_table_with_an_id_already_there_imports_the_rest_once(db, monkeypatch):
    """The insert without the unique constraint (dropped with the indexes) still adds no id twice."""
    monkeypatch.setattr(importing.staging, "REBUILD_INDEXES_FROM", 2)
    rows = [ledger_row(f"L{n}", rrn=f"{n:012d}") for n in range(1, 6)]
    import_bytes("ledger", csv_text("ledger", rows[1:2]).encode())

    report = import_bytes("ledger", csv_text("ledger", rows).encode())

    assert (report.rows_imported, report.rows_already_present) == (4, 1)
    assert sorted(LedgerEntry.objects.values_list("entry_id", flat=True)) == ["L1", "L2", "L3", "L4", "L5"]


@pytest.mark.needs_owner  # it makes the role itself
def test_the_application_role_imports_a_big_first_file_keeping_the_indexes(db, monkeypatch):
    """In production the application does not own the tables: the import of a
    file bigger than the table cannot drop their indexes, and keeps them."""
    monkeypatch.setattr(importing.staging, "REBUILD_INDEXES_FROM", 2)
    rows = [ledger_row(f"L{n}", rrn=f"{n:012d}") for n in range(1, 5)]
    import_bytes("ledger", csv_text("ledger", rows[:1]).encode())
    before = indexes_of("transactions_ledgerentry")

    with application_role():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0].startswith("dd_test_app_")
        report = import_bytes("ledger", csv_text("ledger", rows).encode())

    assert report.succeeded and report.rows_imported == 3
    assert indexes_of("transactions_ledgerentry") == before
    assert sorted(LedgerEntry.objects.values_list("entry_id", flat=True)) == ["L1", "L2", "L3", "L4"]


def test_a_file_no_bigger_than_the_table_keeps_the_indexes(db, monkeypatch):
    monkeypatch.setattr(importing.staging, "REBUILD_INDEXES_FROM", 2)
    rows = [ledger_row(f"L{n}", rrn=f"{n:012d}") for n in range(1, 5)]
    import_bytes("ledger", csv_text("ledger", rows).encode())
    before = indexes_of("transactions_ledgerentry")

    again = import_bytes("ledger", csv_text("ledger", rows).encode())
    more = import_bytes("ledger", csv_text("ledger", rows[:2] + [ledger_row("L9")]).encode())

    assert again.rows_already_present == 4 and more.rows_imported == 1
    assert indexes_of("transactions_ledgerentry") == before


@pytest.mark.parametrize("table, unique", [("transactions_ledgerentry", "ledger_entry_id_unique"),
                                           ("transactions_settlementrecord", "settlement_record_id_unique")])
def test_the_records_tables_carry_only_the_indexes_their_queries_use(db, table, unique):
    """No LIKE index on the ids (no query uses LIKE on them; docs/performance.md),
    and the id stays unique in the database itself."""
    names = {name for name, _definition, _oid in indexes_of(table)}
    assert not [name for name in names if name.endswith("_like")]
    # Nor on (kind, posted_at) or (status, transacted_at): no query needs them, and
    # the second lured the planner, before any ANALYZE, away from the right ones.
    assert not names & {"ledger_kind_posted_idx", "settlement_status_at_idx"}
    assert unique in names
    with connection.cursor() as cursor:
        cursor.execute("SELECT contype FROM pg_constraint WHERE conname = %s", [unique])
        assert cursor.fetchone() == ("u",)
