"""Filing benchmark: POST /api/v1/cases/ beside two baselines, in one run.

    python bench/filing_bench.py [--filings 2000] [--concurrency 1 8 32] [--cases 10000]

Serves the app with gunicorn and a Celery worker (bench/stack.py: DEBUG off,
Redis, ``bench.noop_settings``: the production settings plus a bench-only
``POST /bench/noop/``; the worker verifies the new cases and sends their
e-mails meanwhile, as in production; ``--no-worker`` leaves the tasks queued)
against its own scratch database, a copy of bench/dataset.py's ``history``
dataset of ``--cases`` cases (the filings land among them), and at each concurrency
(threads, each with a keep-alive connection or its own database connection) runs:

- ``api``: filings through the API, call-center token, a fresh Idempotency-Key each;
- ``sql``: the same rows (customer, card, case, filed event, customer e-mail,
  idempotency key) written by one ``INSERT … RETURNING`` statement per case
  with psycopg2 (data-modifying CTEs), one transaction each;
- ``noop``: a DRF endpoint that does nothing (parses the JSON body, answers 201).

It prints cases/s, p50 and p95 for each, the API's rate as a ratio of each
baseline's, and the SQL statements per API filing (a second filing by the same
client, counted in-process with CaptureQueriesContext on the same database),
the peak RSS of a gunicorn worker and of the Celery worker, and the CPU each
API filing cost the web, the worker (the verification it queued included: the
phase's CPU is read once the worker is idle again), PostgreSQL and the bench's
own client threads, all on the same cores; and the rate at which the cases
were filed *and checked* (from the phase's start to the worker's last check).
Results are in docs/performance.md ("Filing"). Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset
from api_bench import Phase, complaint, manage
from stack import WEB_THREADS, WEB_WORKERS, WORKER_CONCURRENCY, Stack

REPO = Path(__file__).resolve().parents[1]

SETUP = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from merchants.models import Merchant, Terminal
user = User.objects.create_user("bench")
user.groups.add(Group.objects.get(name="call_center"))
merchant = Merchant.objects.create(name="好又多超市", merchant_id="103287654110281")
Terminal.objects.create(merchant=merchant, terminal_id="41082857")
print(Token.objects.create(user=user).key)
"""

COUNT = """
import json, uuid
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
token = Token.objects.get(user__username="bench").key
client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT_LANGUAGE="en")
body = json.loads(%r)
def file():
    return client.post("/api/v1/cases/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
assert file().status_code == 201
with CaptureQueriesContext(connection) as queries:
    assert file().status_code == 201
print(len([q for q in queries if q["sql"] not in ("BEGIN", "COMMIT")]))  # Django logs these two; not statements of the filing
"""

# One statement per case: the rows a filing writes, with data-modifying CTEs.
INSERT_CASE = """
WITH customer AS (
  INSERT INTO customers_customer (name, phone, email, preferred_language, created_at, verified)
  VALUES (%(name)s, %(phone)s, '', 'zh-hans', now(), false) RETURNING id
), card AS (
  INSERT INTO customers_card (scheme, last4, bin6, customer_id)
  SELECT 'unionpay', %(last4)s, '', id FROM customer RETURNING id, customer_id
), filed AS (
  INSERT INTO disputes_case (reference, tracking_code_hash, channel, state, version, amount, currency, transaction_at,
    merchant_name, merchant_id, terminal_id, rrn, stan, auth_code, description, priority, root_cause, resolution,
    rejection_reason, resume_state, created_at, updated_at, stage_entered_at, sla_due_at, final_due_at, card_id,
    customer_id, deadline_extensions, sla_entry, sla_used, refund_approvals, sla_alert_at, final_alert_at)
  SELECT %(reference)s, md5(%(reference)s), 'api', 'submitted', 1, %(amount)s, 'CNY', %(transaction_at)s,
    %(merchant_name)s, %(merchant_id)s, %(terminal_id)s, %(rrn)s, %(stan)s, %(auth_code)s, %(description)s, 0, '', '',
    '', '', now(), now(), now(), now() + interval '1 day', now() + interval '45 days', card.id, card.customer_id,
    0, 0, interval '0', 0, now() + interval '20 hours', now() + interval '44 days' FROM card RETURNING id, reference
), event AS (
  INSERT INTO disputes_caseevent (kind, actor_label, transition, from_state, to_state, message, payload, case_version,
    created_at, actor_id, case_id)
  SELECT 'filed', 'bench', '', '', 'submitted', '', '{"channel": "api"}', 1, now(), %(user_id)s, id FROM filed
), mail AS (
  INSERT INTO disputes_notification (recipient, subject, body, status, attempts, last_error, created_at, case_id)
  SELECT 'bench@example.com', '[' || reference || '] received', 'We have received your complaint.', 'pending', 0, '',
    now(), id FROM filed
), idempotency AS (
  INSERT INTO disputes_idempotencykey (user_id, key_hash, request_fingerprint, response_status, response_body,
    response_headers, created_at)
  SELECT %(user_id)s, md5(%(key)s), '', 201, '{}', '{}', now() FROM filed
)
SELECT id, reference FROM filed
"""


def sql_phase(url: str, *, clients: int, filings: int, user_id: int) -> dict:
    import psycopg2

    parts = urllib.parse.urlparse(url)
    lock, latencies, issued = threading.Lock(), [], [0]

    def client() -> None:
        conn = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                                password=parts.password, dbname=parts.path.lstrip("/"))
        conn.autocommit = True
        with conn.cursor() as cursor:
            while True:
                with lock:
                    if issued[0] >= filings:
                        break
                    issued[0] += 1
                    index = issued[0] + 10**6
                body = complaint(index)
                row = {"name": body["customer"]["name"], "phone": body["customer"]["phone"], "last4": body["card_last4"],
                           "amount": body["amount"], "transaction_at": body["transaction_at"],
                           "merchant_name": body["merchant_name"], "merchant_id": body["merchant_id"],
                           "terminal_id": body["terminal_id"], "rrn": body["rrn"], "stan": body["stan"],
                           "auth_code": body["auth_code"], "description": body["description"],
                           "reference": f"BB{uuid.uuid4().hex[:14].upper()}", "user_id": user_id, "key": str(uuid.uuid4())}
                started = time.perf_counter()
                cursor.execute(INSERT_CASE, row)
                cursor.fetchone()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summary("sql", latencies, time.perf_counter() - started, {201: len(latencies)})


def checked_since(url: str, started: datetime) -> dict:
    """The API filings since ``started`` that the worker has checked, and the
    rate at which the whole system filed and checked them: cases per second
    from the phase's start to the last check (a filing's work is not over when
    the API answers: the worker checks the case on the same cores, and a rate
    that leaves that for later is not one the system can keep up)."""
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*), max(v.checked_at) FROM disputes_verification v"
                       " JOIN disputes_case c ON c.id = v.case_id WHERE c.created_at >= %s AND c.channel = 'api'",
                       [started])
        count, last = cursor.fetchone()
    conn.close()
    seconds = (last - started).total_seconds() if last else 0.0
    return {"cases": count, "seconds": round(seconds, 2), "rps": round(count / seconds, 1) if seconds else 0.0}


def summary(name: str, latencies: list[float], wall: float, statuses: dict) -> dict:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] * 1000

    return {"phase": name, "requests": len(ordered), "seconds": round(wall, 2), "rps": round(len(ordered) / wall, 1),
            "p50_ms": round(pct(0.50), 1), "p95_ms": round(pct(0.95), 1), "statuses": statuses}


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--filings", type=int, default=2000, help="per phase and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--max-seconds", type=float, default=120.0, help="per phase")
    parser.add_argument("--no-worker", action="store_true", help="no Celery worker: the queued tasks wait in Redis")
    parser.add_argument("--cases", type=int, default=10_000, help="cases of the history dataset filed among")
    parser.add_argument("--base-url", default=os.environ.get("BENCH_DATABASE_URL", dataset.DEFAULT_BASE),
                        help="the datasets' database URL (bench/dataset.py)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    log = (lambda text: print(text, file=sys.stderr)) if args.json else print
    args.database_url, _ = dataset.copy_of("history", args.cases, name=dataset.scratch_name(args.base_url, "filing"),
                                           base_url=args.base_url, log=log)
    rows, load_before = [], load_average()
    try:
        stack = Stack(args.database_url, web=True, worker=not args.no_worker, name="filing")
        env = stack.env
        token = manage(env, "shell", "-v", "0", "-c", SETUP).strip().splitlines()[-1]
        user_id = int(manage(env, "shell", "-v", "0", "-c",
                             "from django.contrib.auth.models import User; print(User.objects.get(username='bench').pk)"))
        queries = int(manage(env, "shell", "-v", "0", "-c", COUNT % json.dumps(complaint(7))).strip().splitlines()[-1])
        with stack:
            offset = 0
            for clients in args.concurrency:
                common = {"clients": clients, "requests": args.filings, "max_seconds": args.max_seconds, "port": stack.port,
                              "token": token}
                base = offset
                stack.wait_worker_idle()
                cpu_before, client_before = stack.cpu_seconds(), time.process_time()
                phase_started = datetime.now(timezone.utc)
                api = Phase("api", lambda i, base=base: ("POST", "/api/v1/cases/", complaint(base + i),
                                                         {"Idempotency-Key": str(uuid.uuid4())}), **common).run()
                client_cpu = time.process_time() - client_before
                stack.wait_worker_idle()
                used = {name: value - cpu_before[name] for name, value in stack.cpu_seconds().items()}
                used["bench client"] = client_cpu
                api["cpu_ms_per_filing"] = {name: round(1000 * value / api["requests"], 1) for name, value in used.items()}
                api["checked"] = checked_since(args.database_url, phase_started)
                offset += args.filings
                sql = sql_phase(args.database_url, clients=clients, filings=args.filings, user_id=user_id)
                noop = Phase("noop", lambda i: ("POST", "/bench/noop/", complaint(i), {}), **common).run()
                rows.append({"clients": clients, "api": api, "sql": sql, "noop": noop,
                             "web_peak_rss_mb": stack.web_peak_mb(), "worker_peak_rss_mb": stack.worker_peak_mb()})
    finally:
        dataset.drop(args.database_url)

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    report = {"machine": machine, "load_average_before": load_before, "load_average_after": load_average(),
              "queries_per_filing": queries, "args": vars(args), "rows": rows}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        worker = "no Celery worker" if args.no_worker else f"a Celery worker x {WORKER_CONCURRENCY}"
        print(f"{machine}; gunicorn {WEB_WORKERS} workers x {WEB_THREADS} threads, {worker}; {args.filings} per phase; "
              f"load average {load_before} -> {report['load_average_after']}; {queries} SQL statements per API filing")
        print(f"{'clients':>7} {'phase':<5}{'cases/s':>9}{'p50 ms':>9}{'p95 ms':>9}  {'api/phase':>9}  statuses")
        for row in rows:
            for name in ("api", "sql", "noop"):
                r = row[name]
                ratio = row["api"]["rps"] / r["rps"] if r["rps"] else 0
                print(f"{row['clients']:>7} {name:<5}{r['rps']:>9}{r['p50_ms']:>9}{r['p95_ms']:>9}  {ratio:>9.2f}  {r['statuses']}")
            checked = row["api"]["checked"]
            print(f"{row['clients']:>7} filed and checked by the worker: {checked['cases']} in {checked['seconds']} s, "
                  f"{checked['rps']} cases/s")
            cpu = row["api"]["cpu_ms_per_filing"]
            print(f"{row['clients']:>7} CPU per API filing: " + ", ".join(f"{name} {ms} ms" for name, ms in cpu.items())
                  + f" (the web, the worker and the database: {sum(cpu[n] for n in ('web', 'worker', 'database')):.1f} ms)")
            print(f"{row['clients']:>7} peak RSS so far: gunicorn worker {row['web_peak_rss_mb']} MB, "
                  f"Celery worker {row['worker_peak_rss_mb']} MB")
    ok = all(set(row[name]["statuses"]) <= {200, 201} for row in rows for name in ("api", "noop"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
