"""Benchmark of the transaction records: import one million ledger rows and one
million settlement rows, reconcile them, and compare with a plain COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispute_desk_records_bench \\
        .venv/bin/python bench/records_bench.py [--rows 1000000] [--seed 9] [--keep-files DIR] [--statements 0.5]

Creates its own database (the name in DATABASE_URL; dropped and created again),
migrates it, and writes two CSV files in the formats of docs/design.md with a
fixed seed. Proportions, per payment: most are settled (an approved settlement
record with the same RRN, 1 in 20 without its RRN so the later passes match
them); some are declined at the POS (no debit); some time out and are reversed;
some are refunded in part; some are authorisation holds; about 1 % of debits
are orphans (a timed-out record or none, and no reversal), a few of them paid
twice. Then, in the same run:

- a plain ``COPY`` of each file into a bare table of the same columns
  (no key, no index, no check): the floor;
- ``manage.py import_transactions`` of each file (the command, with its checks,
  its staging table, its conflict check and the insert into the indexed table);
- ``manage.py reconcile`` as of a day after the last payment.

It prints each step's time and its ratio to the plain COPY. Not run by the
test command; results go in docs/performance.md.
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dispute_desk_records_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_LANGUAGE_CODE", "en")

CST = timezone(timedelta(hours=8))
START = datetime(2026, 10, 1, tzinfo=CST)
DAYS = 30
AS_OF = START + timedelta(days=DAYS + 1)
LEDGER_HEADER = "entry_id,customer_ref,card_last4,amount,currency,posted_at,kind,rrn,stan,auth_code,merchant_id,terminal_id\n"
SETTLEMENT_HEADER = "record_id,processor,merchant_id,terminal_id,rrn,stan,auth_code,amount,currency,transacted_at,status\n"
PROCESSORS = ["银联商务", "通联支付", "拉卡拉", "Sumpay", "Lakala"]


def ensure_database(url: str) -> None:
    from urllib.parse import urlparse

    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username,
                             password=parsed.password, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def generate(directory: Path, rows: int, seed: int) -> dict[str, int]:
    """Write ledger.csv and settlement.csv with exactly ``rows`` rows each; return what went in."""
    rng = random.Random(seed)
    merchants = [f"{102000000000000 + rng.randrange(10 ** 12):015d}" for _ in range(20_000)]
    terminals = {m: [f"{rng.randrange(10 ** 8):08d}" for _ in range(rng.randint(1, 3))] for m in merchants}
    stans: dict[str, int] = {}
    counts = dict.fromkeys(["settled", "settled without rrn", "declined", "timeout reversed", "refunded in part",
                            "holds", "orphans", "paid twice"], 0)
    ledger = open(directory / "ledger.csv", "w", encoding="utf-8", newline="")
    settlement = open(directory / "settlement.csv", "w", encoding="utf-8", newline="")
    ledger.write(LEDGER_HEADER)
    settlement.write(SETTLEMENT_HEADER)
    written = {"ledger": 0, "settlement": 0}
    sequence = 0
    span = DAYS * 86_400

    def posted(moment: datetime) -> str:
        return moment.isoformat()

    def ledger_line(kind: str, amount: str, at: datetime, rrn: str, stan: str, auth: str, mid: str, tid: str,
                    customer: int) -> None:
        if written["ledger"] >= rows:
            return
        written["ledger"] += 1
        ledger.write(f"L{written['ledger']:09d},C{customer:06d},{customer % 10_000:04d},{amount},CNY,{posted(at)},"
                     f"{kind},{rrn},{stan},{auth},{mid},{tid}\n")

    def settlement_line(status: str, amount: str, at: datetime, rrn: str, stan: str, auth: str, mid: str,
                        tid: str) -> None:
        if written["settlement"] >= rows:
            return
        written["settlement"] += 1
        settlement.write(f"S{written['settlement']:09d},{PROCESSORS[written['settlement'] % 5]},{mid},{tid},{rrn},"
                         f"{stan},{auth},{amount},CNY,{posted(at)},{status}\n")

    while written["ledger"] < rows or written["settlement"] < rows:
        sequence += 1
        at = START + timedelta(seconds=span * sequence / (rows * 1.02))
        merchant = merchants[rng.randrange(len(merchants))]
        terminal = terminals[merchant][rng.randrange(len(terminals[merchant]))]
        stans[terminal] = (stans.get(terminal, 0) + 1) % 1_000_000
        stan = f"{stans[terminal]:06d}"
        rrn = f"{100000000000 + sequence:012d}"
        auth = f"{rng.randrange(10 ** 6):06d}"
        amount = f"{rng.randrange(100, 200_000) / 100:.2f}"
        customer = rng.randrange(200_000)
        debit_at = at + timedelta(seconds=rng.randint(1, 20))
        roll = rng.random()
        if roll < 0.86:
            without_rrn = rng.random() < 0.05
            counts["settled without rrn" if without_rrn else "settled"] += 1
            ledger_line("debit", amount, debit_at, rrn, stan, auth, merchant, terminal, customer)
            settlement_line("approved", amount, at, "" if without_rrn else rrn, stan, auth, merchant, terminal)
        elif roll < 0.90:
            counts["declined"] += 1
            settlement_line("declined", amount, at, rrn, stan, "", merchant, terminal)
        elif roll < 0.93:
            counts["timeout reversed"] += 1
            ledger_line("debit", amount, debit_at, rrn, stan, auth, merchant, terminal, customer)
            settlement_line("timeout", amount, at, rrn, stan, auth, merchant, terminal)
            ledger_line("reversal", amount, debit_at + timedelta(hours=rng.randint(1, 20)), rrn, stan, "", merchant,
                        terminal, customer)
        elif roll < 0.95:
            counts["refunded in part"] += 1
            ledger_line("debit", amount, debit_at, rrn, stan, auth, merchant, terminal, customer)
            settlement_line("approved", amount, at, rrn, stan, auth, merchant, terminal)
            ledger_line("refund", "1.00", debit_at + timedelta(days=rng.randint(1, 5)), rrn, stan, "", merchant,
                        terminal, customer)
        elif roll < 0.99:
            counts["holds"] += 1
            ledger_line("hold", amount, debit_at, rrn, stan, auth, merchant, terminal, customer)
        else:
            counts["orphans"] += 1
            ledger_line("debit", amount, debit_at, rrn, stan, auth, merchant, terminal, customer)
            if rng.random() < 0.7:
                settlement_line("timeout", amount, at, rrn, stan, auth, merchant, terminal)
            if rng.random() < 0.2:  # the customer paid again, and that went through
                counts["paid twice"] += 1
                stans[terminal] = (stans[terminal] + 1) % 1_000_000
                again = at + timedelta(minutes=rng.randint(1, 20))
                rrn2 = f"{900000000000 + sequence:012d}"
                ledger_line("debit", amount, again + timedelta(seconds=3), rrn2, f"{stans[terminal]:06d}", auth,
                            merchant, terminal, customer)
                settlement_line("approved", amount, again, rrn2, f"{stans[terminal]:06d}", auth, merchant, terminal)
    ledger.close()
    settlement.close()
    return counts


def plain_copy(path: Path, table: str, columns: list[str]) -> float:
    """COPY the file as it is into a bare table: no key, no index, no check."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        types = {"amount": "numeric(14,2)", "posted_at": "timestamptz", "transacted_at": "timestamptz"}
        definition = ", ".join(f"{column} {types.get(column, 'text')}" for column in columns)
        cursor.execute(f"CREATE TABLE {table} ({definition})")
        started = time.perf_counter()
        with open(path, "rb") as file:
            cursor.cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)", file, size=1 << 20)
        elapsed = time.perf_counter() - started
        cursor.execute(f"DROP TABLE {table}")
    return elapsed


def copy_into_indexed(path: Path, model) -> float:
    """COPY the file into an empty copy of the records table with its keys and
    indexes (and no checks): what the table's indexes cost by themselves."""
    from django.db import connection

    table = model._meta.db_table
    with open(path, encoding="utf-8") as file:
        columns = file.readline().strip()  # the file's own column order (the model's puts the slip fields first)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_indexed_copy")
        cursor.execute(f"CREATE TABLE bench_indexed_copy (LIKE {table} INCLUDING ALL)")
        started = time.perf_counter()
        with open(path, "rb") as file:
            cursor.cursor.copy_expert(f"COPY bench_indexed_copy ({columns}) FROM STDIN"
                                      f" WITH (FORMAT csv, HEADER true, FORCE_NOT_NULL ({columns}))",
                                      file, size=1 << 20)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_indexed_copy")
    return elapsed


def log_slow_statements(threshold: float) -> None:
    """Print every SQL statement (and COPY) of the steps that takes longer than ``threshold`` seconds."""
    from django.db.backends.utils import CursorWrapper

    execute = CursorWrapper.execute

    def timed(self, sql, params=None):
        started = time.perf_counter()
        try:
            return execute(self, sql, params)
        finally:
            elapsed = time.perf_counter() - started
            if elapsed >= threshold:
                print(f"    {elapsed:6.2f} s  {' '.join(str(sql).split())[:110]}", flush=True)

    CursorWrapper.execute = timed
    from transactions.importing import run as importing

    copy_file = importing._copy_file

    def timed_copy(*args):
        started = time.perf_counter()
        try:
            return copy_file(*args)
        finally:
            print(f"    {time.perf_counter() - started:6.2f} s  COPY the file into the staging table", flush=True)

    importing._copy_file = timed_copy


def timed_command(*args: str) -> tuple[float, str]:
    from django.core.management import call_command

    out = io.StringIO()
    started = time.perf_counter()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return time.perf_counter() - started, out.getvalue().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in each file (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--keep-files", help="write the CSV files here and keep them (default: a temporary folder)")
    parser.add_argument("--statements", type=float, metavar="SECONDS",
                        help="also print each statement of the import and reconcile steps slower than this")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from transactions.models import LEDGER_COLUMNS, SETTLEMENT_COLUMNS, LedgerEntry, SettlementRecord

    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(args.keep_files or scratch)
        directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        counts = generate(directory, args.rows, args.seed)
        print(f"generated {args.rows:,} + {args.rows:,} rows in {time.perf_counter() - started:.1f} s: "
              + ", ".join(f"{name} {count:,}" for name, count in counts.items()), flush=True)
        sizes = {name: (directory / f"{name}.csv").stat().st_size for name in ("ledger", "settlement")}

        copy_ledger = plain_copy(directory / "ledger.csv", "bench_copy_ledger", LEDGER_COLUMNS)
        copy_settlement = plain_copy(directory / "settlement.csv", "bench_copy_settlement", SETTLEMENT_COLUMNS)
        print(f"plain COPY: ledger {copy_ledger:.2f} s, settlement {copy_settlement:.2f} s", flush=True)
        indexed_ledger = copy_into_indexed(directory / "ledger.csv", LedgerEntry)
        indexed_settlement = copy_into_indexed(directory / "settlement.csv", SettlementRecord)
        print(f"COPY into the indexed tables: ledger {indexed_ledger:.2f} s, settlement {indexed_settlement:.2f} s",
              flush=True)
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
        if args.statements is not None:
            log_slow_statements(args.statements)

        import_ledger, said = timed_command("import_transactions", "ledger", str(directory / "ledger.csv"),
                                            "--no-progress")
        print(said, flush=True)
        import_settlement, said = timed_command("import_transactions", "settlement",
                                                str(directory / "settlement.csv"), "--no-progress")
        print(said, flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE transactions_ledgerentry")
            cursor.execute("VACUUM ANALYZE transactions_settlementrecord")
        reconcile_time, said = timed_command("reconcile", "--as-of", AS_OF.isoformat(),
                                             "--output", str(directory / "orphans.csv"))
        print(said, flush=True)
        again, said = timed_command("import_transactions", "ledger", str(directory / "ledger.csv"), "--no-progress")
        print(said, flush=True)

    copy_total = copy_ledger + copy_settlement
    work_total = import_ledger + import_settlement + reconcile_time
    print()
    print(f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
          f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 100} · "
          f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print()
    print("| step | rows | file | time | × its plain COPY |")
    print("|---|---:|---:|---:|---:|")
    mb = 1 << 20
    print(f"| plain COPY, ledger | {args.rows:,} | {sizes['ledger'] / mb:.0f} MB | {copy_ledger:.1f} s | 1.0 |")
    print(f"| plain COPY, settlement | {args.rows:,} | {sizes['settlement'] / mb:.0f} MB | {copy_settlement:.1f} s | 1.0 |")
    print(f"| COPY into the ledger table's copy, with its keys and indexes | {args.rows:,} | | {indexed_ledger:.1f} s | "
          f"{indexed_ledger / copy_ledger:.1f} |")
    print(f"| COPY into the settlement table's copy, with its keys and indexes | {args.rows:,} | | "
          f"{indexed_settlement:.1f} s | {indexed_settlement / copy_settlement:.1f} |")
    print(f"| import_transactions ledger | {args.rows:,} | | {import_ledger:.1f} s | {import_ledger / copy_ledger:.1f} |")
    print(f"| import_transactions settlement | {args.rows:,} | | {import_settlement:.1f} s | "
          f"{import_settlement / copy_settlement:.1f} |")
    print(f"| reconcile | {args.rows:,} + {args.rows:,} | | {reconcile_time:.1f} s | {reconcile_time / copy_total:.1f} (of both COPYs) |")
    print(f"| **import both + reconcile** | | | **{work_total:.1f} s** | **{work_total / copy_total:.1f}** |")
    print(f"| import_transactions ledger again (nothing new) | {args.rows:,} | | {again:.1f} s | {again / copy_ledger:.1f} |")


if __name__ == "__main__":
    main()
