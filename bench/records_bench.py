"""Benchmark of the transaction records on a real Celery worker: import one
million ledger rows and one million settlement rows, reconcile them, beside a
plain COPY of the same files.

    .venv/bin/python bench/records_bench.py [--rows 1000000] [--cases 10000]

The files are bench/dataset.py's (``records_files``: written once, then
reused); the database a copy of its ``history`` dataset at ``--cases``. In
the same run:

- a plain ``COPY`` of each file into a bare table of the same columns (no key,
  no index, no check), from this process: the floor;
- the import as the imports page (``/staff/imports/``) does it: the file stored
  by ``upload_store`` (the page's own code, run by ``manage.py shell``), then
  the ``import_upload`` task sent to a Celery worker (production settings,
  Redis, concurrency 2), which runs ``records_import`` (the same code as
  ``manage.py import_transactions``) and writes the run's progress; the
  figure is the task's own duration as the worker logs it. The upload's HTTP
  leg (the browser sending 100 MB) is not measured;
- ``ANALYZE`` of the two tables (what autovacuum does after such a load);
- the ``reconcile_daily`` task (beat's, once a day) on a fresh worker, as of now.

Each figure beside its plain COPY, and the worker's peak RSS during the imports
and during the reconciliation. ``bench/run.py`` (``make bench``) runs it with the others.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset
from sla_bench import connect
from stack import Stack

IMPORT = "disputes.tasks.import_upload"
RECONCILE = "disputes.tasks.reconcile_daily"
STORE = """
from django.contrib.auth.models import User
from transactions.importing.uploads import upload_store
with open(%(path)r, "rb") as handle:
    run = upload_store(kind=%(kind)r, file_name=%(name)r, chunks=iter(lambda: handle.read(1 << 20), b""),
                       user=User.objects.get(username="bench_supervisor"))
print(run.pk)
"""


def plain_copy(cursor, path: Path, table: str) -> float:
    """COPY the file as it is into a bare table of its columns: no key, no index, no check."""
    columns = path.open(encoding="utf-8").readline().strip().split(",")
    types = {"amount": "numeric(14,2)", "posted_at": "timestamptz", "transacted_at": "timestamptz"}
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    definition = ", ".join(f"{column} {types.get(column, 'text')}" for column in columns)
    cursor.execute(f"CREATE TABLE {table} ({definition})")
    started = time.perf_counter()
    with open(path, "rb") as file:
        cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)", file, size=1 << 20)
    elapsed = time.perf_counter() - started
    cursor.execute(f"DROP TABLE {table}")
    return elapsed


def run(rows: int, cases: int, *, base_url: str = dataset.DEFAULT_BASE, log=print) -> dict:
    directory, counts = dataset.records_files(rows, log=log)
    url, info = dataset.copy_of("history", cases, name=dataset.scratch_name(base_url, "records"), base_url=base_url,
                                log=log)
    conn = connect(url)
    out = {"rows": rows, "cases": cases, "files": counts, "dataset": info,
           "file_mb": {k: round((directory / f"{k}.csv").stat().st_size / 2**20) for k in ("ledger", "settlement")}}
    try:
        with conn.cursor() as cursor:
            out["copy"] = {kind: plain_copy(cursor, directory / f"{kind}.csv", f"bench_copy_{kind}")
                           for kind in ("ledger", "settlement")}
            cursor.execute("CHECKPOINT")
            log(f"plain COPY: ledger {out['copy']['ledger']:.1f} s, settlement {out['copy']['settlement']:.1f} s")
            with Stack(url, web=False, worker=True, name="import") as stack:
                out["import"] = {}
                for kind in ("ledger", "settlement"):
                    run_id = int(stack.manage("shell", "-v", "0", "-c", STORE % {
                        "path": str(directory / f"{kind}.csv"), "kind": kind, "name": f"{kind}.csv"}).split()[-1])
                    seconds, _ = stack.wait_task(stack.send(IMPORT, run_id), timeout=4 * 3600)
                    cursor.execute("SELECT status, rows_total, rows_imported, bad_rows FROM transactions_importrun"
                                   " WHERE id = %s", [run_id])
                    status, total, imported, bad = cursor.fetchone()
                    out["import"][kind] = {"seconds": seconds, "status": status, "rows": total, "imported": imported,
                                           "bad": bad}
                    log(f"import_upload {kind}: {seconds:.1f} s, {status}, {imported:,} of {total:,} rows imported")
                out["import_worker_peak_mb"] = stack.worker_peak_mb()
            cursor.execute("ANALYZE transactions_ledgerentry")
            cursor.execute("ANALYZE transactions_settlementrecord")
            with Stack(url, web=False, worker=True, name="reconcile") as stack:
                seconds, result = stack.wait_task(stack.send(RECONCILE), timeout=4 * 3600)
                out["reconcile"] = {"seconds": seconds, "result": result}
                out["reconcile_worker_peak_mb"] = stack.worker_peak_mb()
            log(f"reconcile_daily: {seconds:.1f} s — {result}")
    finally:
        conn.close()
        dataset.drop(url)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in each file")
    parser.add_argument("--cases", type=int, default=10_000, help="cases in the history dataset imported into")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.rows, args.cases)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    copy = result["copy"]
    for kind in ("ledger", "settlement"):
        done = result["import"][kind]
        print(f"import {kind}: {done['seconds']:.1f} s ({done['seconds'] / copy[kind]:.1f}x the plain COPY's "
              f"{copy[kind]:.1f} s), {done['imported']:,} rows")
    both = copy["ledger"] + copy["settlement"]
    print(f"reconcile: {result['reconcile']['seconds']:.1f} s ({result['reconcile']['seconds'] / both:.1f}x both COPYs)"
          f" — {result['reconcile']['result']}")
    print(f"peak RSS of the Celery worker: import {result['import_worker_peak_mb']} MB, "
          f"reconcile {result['reconcile_worker_peak_mb']} MB")


if __name__ == "__main__":
    main()
