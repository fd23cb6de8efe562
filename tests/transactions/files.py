"""Building ledger and settlement files for the tests, and importing them with the real command."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from django.core.management import CommandError, call_command

from transactions.models import LEDGER_COLUMNS, SETTLEMENT_COLUMNS

COLUMNS = {"ledger": LEDGER_COLUMNS, "settlement": SETTLEMENT_COLUMNS}


def ledger_row(entry_id: str, **fields) -> dict:
    row = dict(entry_id=entry_id, customer_ref="C00001", card_last4="1234", amount="10.00", currency="CNY",
               posted_at="2026-11-10T12:00:00+08:00", kind="debit", rrn="", stan="", auth_code="",
               merchant_id="103287654110281", terminal_id="41082857")
    row.update(fields)
    return row


def settlement_row(record_id: str, **fields) -> dict:
    row = dict(record_id=record_id, processor="银联商务", merchant_id="103287654110281", terminal_id="41082857",
               rrn="", stan="", auth_code="", amount="10.00", currency="CNY",
               transacted_at="2026-11-10T12:00:00+08:00", status="approved")
    row.update(fields)
    return row


def csv_text(kind: str, rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS[kind], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_file(directory: Path, kind: str, rows: list[dict], name: str | None = None) -> Path:
    path = directory / (name or f"{kind}.csv")
    path.write_text(csv_text(kind, rows), encoding="utf-8")
    return path


def run_import(kind: str, path: Path) -> tuple[str, str | None]:
    """The command's output, and its error message when it failed."""
    out = io.StringIO()
    try:
        call_command("import_transactions", kind, str(path), stdout=out, stderr=io.StringIO())
    except CommandError as error:
        return out.getvalue(), str(error)
    return out.getvalue(), None
