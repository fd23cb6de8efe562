"""The embedded demo runs on SQLite: the same import and reconciliation there.

SQLite takes the Python path of the import (rows checked in Python, batched
inserts) and the same matching SQL with two Python functions in place of
PostgreSQL's AT TIME ZONE and epoch; this runs both commands in a fresh
process on a fresh SQLite database and compares with what PostgreSQL gives."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.transactions.files import csv_text, ledger_row, run_import

ROOT = Path(settings.BASE_DIR)

SCRIPT = r"""
import io, json, sys
import django
django.setup()
from django.core.management import call_command, CommandError
call_command("migrate", verbosity=0)
results = {}
for kind, path in [("ledger", sys.argv[1]), ("settlement", sys.argv[2]), ("ledger", sys.argv[1]), ("ledger", sys.argv[3])]:
    out = io.StringIO()
    try:
        call_command("import_transactions", kind, path, stdout=out, stderr=io.StringIO())
        error = None
    except CommandError as exc:
        error = str(exc)
    results.setdefault("imports", []).append([out.getvalue(), error])
out = io.StringIO()
call_command("reconcile", "--as-of", "2026-11-25T00:00:00+08:00", "--output", sys.argv[4], stdout=out)
results["reconcile"] = out.getvalue()
print(json.dumps(results))
"""


def bad_file(directory: Path) -> Path:
    path = directory / "bad.csv"
    rows = [ledger_row("X1", amount="1e3"), ledger_row("X2", posted_at="2026-11-10T12:00:00"),
            ledger_row("X1"), ledger_row("L0000017", amount="10.14")]
    path.write_bytes(csv_text("ledger", rows).encode() + b"X5,C1,1234\n")
    return path


@pytest.mark.slow
def test_sqlite_imports_and_reconciles_the_samples_as_postgresql_does(db, tmp_path, settings):
    settings.LANGUAGE_CODE = "en"
    samples = ROOT / "docs" / "samples"
    bad = bad_file(tmp_path)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
           "DISPUTE_DESK_VAR_DIR": str(tmp_path / "var"), "DJANGO_LANGUAGE_CODE": "en",
           "DJANGO_SETTINGS_MODULE": "config.settings", "CELERY_BROKER_URL": "memory://"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(samples / "ledger.csv"), str(samples / "settlement.csv"), str(bad),
         str(tmp_path / "sqlite-orphans.csv")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    on_sqlite = json.loads(done.stdout.strip().splitlines()[-1])

    on_postgresql = [run_import("ledger", samples / "ledger.csv"), run_import("settlement", samples / "settlement.csv"),
                     run_import("ledger", samples / "ledger.csv"), run_import("ledger", bad)]
    printed = io.StringIO()
    call_command("reconcile", "--as-of", "2026-11-25T00:00:00+08:00", "--output", str(tmp_path / "pg-orphans.csv"),
                 stdout=printed)

    def without_run_numbers(text):
        return text.split("(SHA-256")[0].split("(import #")[0] if text else text

    assert [[without_run_numbers(out), without_run_numbers(error)] for out, error in on_sqlite["imports"]] == [
        [without_run_numbers(out), without_run_numbers(error)] for out, error in on_postgresql]
    assert on_sqlite["imports"][3][0].splitlines() == [
        "line 2: amount: Write the amount as a plain decimal number, such as 128.50.",
        "line 3: posted_at: The time has no UTC offset: add one, such as +08:00.",
        "line 4: entry_id: The same id as line 2: each id appears once in a file.",
        "line 5: entry_id: This id was imported before with other values.",
        "line 6: 12 fields expected, 3 found.",
    ]
    assert (tmp_path / "sqlite-orphans.csv").read_text() == (tmp_path / "pg-orphans.csv").read_text()

    def summary(text):
        return [line.split(" as of ", 1)[-1] for line in text.splitlines() if "written to" not in line]

    assert summary(on_sqlite["reconcile"]) == summary(printed.getvalue())
    assert "8 orphan debits." in on_sqlite["reconcile"]
