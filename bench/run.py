"""Every benchmark of issue 12 in one run, one table (``make bench``).

    .venv/bin/python bench/run.py                      # everything at full size (1M cases, 1M + 1M rows)
    .venv/bin/python bench/run.py --quick              # everything at small sizes, a few minutes
    .venv/bin/python bench/run.py --cases 10000        # staff pages at 10k only, SLA over 10k open cases
    .venv/bin/python bench/run.py --only staff sla     # a subset; --json for machine-readable results

Builds or reuses the datasets (bench/dataset.py: template databases copied
for each benchmark, the records CSV files), then runs, each on its own
scratch copy with gunicorn (3 workers x 4 threads, DEBUG off) and/or a Celery
worker (concurrency 2) on Redis (bench/stack.py):

- ``filing``  bench/filing_bench.py: the API at 1, 8, 32 clients beside one
  ``INSERT … RETURNING`` per case and beside a DRF endpoint that does nothing;
- ``staff``   bench/staff_bench.py: queue, case page, dashboard over HTTP at each ``--cases`` size;
- ``sla``     bench/sla_bench.py: the sweep task over the ``open`` dataset, beside ``SELECT count(*)`` of the due cases;
- ``records`` bench/records_bench.py: the import task and the reconciliation task beside a plain COPY.

Prints the machine, the date, the command, and one table: step, figure,
baseline, ratio, peak RSS of a web worker and of the Celery worker. Timings
depend on the machine and its load: the load average before and after is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset
import records_bench
import sla_bench
import stack
import staff_bench

HERE = Path(__file__).resolve().parent
STEPS = ("filing", "staff", "sla", "records")
QUICK = {"cases": [10_000, 30_000], "open_cases": 30_000, "due": 1_000, "rows": 30_000, "filings": 100, "repeat": 15}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def machine(base_url: str) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or platform.machine())
    conn = dataset.admin(base_url)
    with conn.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0].split()[0]
    conn.close()
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf(
        "SC_PHYS_PAGES") / 2**30, 1), "os": platform.platform(), "python": platform.python_version(),
        "postgresql": postgres}


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def filing(args) -> dict:
    command = [sys.executable, str(HERE / "filing_bench.py"), "--json", "--filings", str(args.filings),
               "--cases", str(min(args.cases)), "--base-url", args.base_url, "--concurrency",
               *map(str, args.concurrency)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"filing_bench failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def _ms(phase: dict) -> str:
    return f"{phase['rps']} cases/s, p50 {phase['p50_ms']} / p95 {phase['p95_ms']} ms"


def table(results: dict) -> list[tuple]:
    """(step, figure, baseline, ratio, web peak MB, worker peak MB) rows."""
    rows = []
    if "filing" in results:
        found = results["filing"]
        for row in found["rows"]:
            api = row["api"]
            for name, label in (("sql", "one INSERT … RETURNING per case (psycopg2)"), ("noop", "DRF endpoint doing nothing")):
                base = row[name]
                rows.append((f"filing API, {row['clients']} client{'s' if row['clients'] > 1 else ''}, vs {label}", _ms(api), _ms(base),
                             f"{api['rps'] / base['rps']:.2f}" if base["rps"] else "", row["web_peak_rss_mb"],
                             row["worker_peak_rss_mb"]))
        rows.append(("filing API: SQL statements per filing", str(found["queries_per_filing"]), "1 (the INSERT)",
                     f"{found['queries_per_filing']:.0f}", "", ""))
    if "staff" in results:
        found = results["staff"]
        sizes = sorted(found)
        small, big = sizes[0], sizes[-1]
        for page in found[small]["pages"]:
            b, s = found[big]["pages"][page], found[small]["pages"][page]
            alone = big == small  # one size: no baseline
            rows.append((f"{page}, {big:,}" + ("" if alone else f" vs {small:,}") + " cases",
                         f"p50 {b['p50_ms']} / p95 {b['p95_ms']} ms",
                         "" if alone else f"p50 {s['p50_ms']} / p95 {s['p95_ms']} ms",
                         "" if alone else f"{b['p50_ms'] / s['p50_ms']:.2f}",
                         max(found[size]["web_peak_mb"] for size in sizes), ""))
    if "sla" in results:
        found = results["sla"]
        floor = found["floor_seconds"]
        for number, sweep in enumerate(found["sweeps"], 1):
            goal = " (goal < 2 s)" if number == 1 else ""
            rows.append((f"SLA sweep {number} over {found['cases']:,} open cases, {found['due_now']:,} due{goal}",
                         f"every alert raised {sweep['alerts_done']:.2f} s after sending: "
                         f"{sweep['raised']['reminders']:,} reminders, {sweep['raised']['breaches']:,} breaches, "
                         f"{sweep['raised']['e-mails']:,} e-mails (the sweep task {sweep['seconds']:.2f} s, its own "
                         f"share: {sweep['result'].strip(chr(39))})",
                         f"SELECT count(*) of the due: {floor * 1000:.1f} ms", f"{sweep['alerts_done'] / floor:,.0f}",
                         "", found["worker_peak_mb"]))
            rows.append((f"automatic steps {number}, sent with sweep {number}",
                         f"{sweep['steps_seconds']:.2f} s: {sweep['steps_result'].strip(chr(39))}; "
                         f"both done {sweep['wall']:.2f} s after sending", "", "", "", found["worker_peak_mb"]))
        drained, mails = found["emails_delivered_seconds"], found["after_first"]["e-mails"]
        rows.append((f"the first sweep's {mails:,} e-mails delivered by the worker",
                     f"{drained:.1f} s, {mails / drained:.0f}/s" if drained else "not within the time limit", "", "",
                     "", found["worker_peak_mb"]))
    if "records" in results:
        found = results["records"]
        copy = found["copy"]
        for kind in ("ledger", "settlement"):
            done = found["import"][kind]
            rows.append((f"import {kind}, {done['rows']:,} rows ({found['file_mb'][kind]} MB), import_upload task",
                         f"{done['seconds']:.1f} s, {done['imported']:,} imported ({done['status']})",
                         f"plain COPY: {copy[kind]:.1f} s", f"{done['seconds'] / copy[kind]:.1f}", "",
                         found["import_worker_peak_mb"]))
        both = copy["ledger"] + copy["settlement"]
        reconcile = found["reconcile"]
        rows.append((f"reconcile {found['rows']:,} × {found['rows']:,} rows, reconcile_daily task",
                     f"{reconcile['seconds']:.1f} s: {reconcile['result'].strip(chr(39))}",
                     f"both plain COPYs: {both:.1f} s", f"{reconcile['seconds'] / both:.1f}", "",
                     found["reconcile_worker_peak_mb"]))
    return rows


def _built(info: dict) -> str:
    return "reused" if info["reused"] else f"built in {info['seconds']:.0f} s"


def render(report: dict) -> str:
    m = report["machine"]
    lines = [(f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; {m['os']}; Python {m['python']}, "
              f"PostgreSQL {m['postgresql']}"),
             (f"Date: {report['started']} – {report['finished']}; load average {report['load_before']} before, "
              f"{report['load_after']} after"),
             f"Command: {report['command']}",
             "Datasets: " + "; ".join(f"{name} {_built(info)}" for name, info in report["datasets"].items()),
             "",
             "| step | figure | baseline | ratio | peak RSS web (MB) | peak RSS worker (MB) |",
             "|---|---|---|---:|---:|---:|"]
    lines += [f"| {' | '.join(str(cell) for cell in row)} |" for row in report["table"]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=STEPS, default=list(STEPS), help="a subset of the benchmarks")
    parser.add_argument("--quick", action="store_true", help="everything at small sizes (a few minutes)")
    parser.add_argument("--cases", type=int, nargs="+", help="history sizes for the staff pages (default 10000 1000000)")
    parser.add_argument("--open-cases", type=int, help="open cases of the SLA sweep (default: the largest --cases)")
    parser.add_argument("--due", type=int, help="of which due (default 1 in 100, 10,000 at 1M)")
    parser.add_argument("--rows", type=int, help="ledger and settlement rows (default 1000000)")
    parser.add_argument("--filings", type=int, help="filings per phase and concurrency (default 2000)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--repeat", type=int, help="requests per staff page (default 40)")
    parser.add_argument("--base-url", default=os.environ.get("BENCH_DATABASE_URL", dataset.DEFAULT_BASE),
                        help="PostgreSQL URL whose database name prefixes the benchmark databases")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    defaults = QUICK if args.quick else {"cases": [10_000, 1_000_000], "rows": 1_000_000, "filings": 2000, "repeat": 40}
    for name, value in defaults.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    args.cases = sorted(args.cases)
    args.open_cases = args.open_cases or args.cases[-1]
    args.due = args.due or max(1, args.open_cases // 100)

    try:
        import redis

        redis.Redis.from_url(stack.REDIS_URL).ping()
    except (redis.RedisError, OSError) as error:
        sys.exit(f"bench: Redis is needed at {stack.REDIS_URL} (BENCH_REDIS_URL): {error}")
    report = {"machine": machine(args.base_url), "started": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
              "command": " ".join(["python", "bench/run.py", *sys.argv[1:]]), "args": vars(args), "results": {},
              "datasets": {}}
    log("datasets…")
    for size in args.cases if {"staff", "filing", "records"} & set(args.only) else []:
        report["datasets"][f"history {size:,}"] = dataset.template("history", size, base_url=args.base_url, log=log)
    if "sla" in args.only:
        report["datasets"][f"open {args.open_cases:,} ({args.due:,} due)"] = dataset.template(
            "open", args.open_cases, args.due, base_url=args.base_url, log=log)
    if "records" in args.only:
        _, counts = dataset.records_files(args.rows, log=log)
        report["datasets"][f"records {args.rows:,} + {args.rows:,}"] = {"reused": counts["reused"],
                                                                         "seconds": counts["seconds"]}
    report["load_before"] = load()
    started = time.perf_counter()
    if "filing" in args.only:
        log("filing…")
        report["results"]["filing"] = filing(args)
    if "staff" in args.only:
        log("staff pages…")
        report["results"]["staff"] = staff_bench.run(args.cases, args.repeat, base_url=args.base_url, log=log)
    if "sla" in args.only:
        log("SLA sweep…")
        report["results"]["sla"] = sla_bench.run(args.open_cases, args.due, base_url=args.base_url, log=log)
    if "records" in args.only:
        log("import and reconciliation…")
        report["results"]["records"] = records_bench.run(args.rows, args.cases[0], base_url=args.base_url, log=log)
    report["load_after"] = load()
    report["finished"] = f"{datetime.now(UTC):%H:%M} UTC"
    report["seconds"] = round(time.perf_counter() - started)
    report["table"] = table(report["results"])
    saved = HERE.parent / "var" / "bench" / "last-run.json"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(report, indent=2, default=str))
    log(f"results also in {saved}")
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
