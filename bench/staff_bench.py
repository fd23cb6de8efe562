"""Benchmark of the staff workspace at 10 thousand and at 1 million cases.

    .venv/bin/python bench/staff_bench.py [--cases 10000 1000000] [--per-day 300] [--repeat 40] [--reuse]

For each size, a database of its own (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/dispute_desk_staff_bench, suffixed with the
size) is made anew, migrated and filled with one INSERT … SELECT
generate_series per table: complaints arrive at a constant rate (``--per-day``,
300 a day), so 10,000 cases are a month of them and 1,000,000 nine years; the
cases of the last 20 days are open (a third unassigned, the rest spread over 20
agents), older ones ended or closed. Every case has a customer with a card
(100,000 of them at most), a filing event and a step event; a few have SLA
breaches, refunded ones a paid refund.

Then, in that process, Django's test client (the whole stack: middleware,
session, permissions, templates; DEBUG off) times each page ``--repeat`` times
after a warm-up:

- queue, first page: a supervisor's "all open" tab;
- queue, filtered: merchant contact, on track, channel web;
- queue, deep keyset page: the "ended" tab from the middle of all ended cases;
- queue, search: a customer's phone number;
- queue, my cases: an agent's own tab;
- case page: a case with its events;
- dashboard: the last 30 days.

It prints p50/p95 per page and size, the ratio of the largest size to the
smallest, and the query plans of the queue's first and deep pages. Results
are in docs/performance.md ("Staff workspace"). Not part of the test command.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dispute_desk_staff_bench"
OPEN_DAYS = 20
AGENTS = 20


def database_url(size: int) -> str:
    base = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    parsed = urlparse(base)
    return parsed._replace(path=f"{parsed.path}_{size}").geturl()


def ensure_database(url: str, *, fresh: bool) -> None:
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username,
                             password=parsed.password, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cursor.fetchone() is not None
        if exists and fresh:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


# --- data ------------------------------------------------------------------------------

def _insert(cursor, model, expressions: dict[str, str], source: str, params: dict) -> None:
    """INSERT INTO model's table (every NOT NULL column: ``expressions`` or its default) SELECT … ``source``."""
    from django.db import connection

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.column in expressions:
            columns.append(field.column)
            values.append(expressions[field.column])
        elif not field.null:
            columns.append(field.column)
            values.append(f"%(d_{model._meta.db_table}_{field.column})s")
            params[f"d_{model._meta.db_table}_{field.column}"] = field.get_db_prep_save(field.get_default(), connection)
    cursor.execute(f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} {source}",
                   params)


def generate(cases: int, per_day: int) -> dict:
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.utils import timezone

    from customers.models import Card, Customer
    from disputes.models import Case, CaseEvent, Refund, SlaAlert
    from disputes.workflow.names import Role
    from merchants.models import PaymentProcessor

    agents = []
    for n in range(1, AGENTS + 1):
        user = User.objects.create(username=f"bench_agent{n:02d}", email=f"agent{n}@bank.example")
        user.groups.add(Group.objects.get(name=Role.AGENT))
        agents.append(user.pk)
    supervisor = User.objects.create(username="bench_supervisor", email="sup@bank.example")
    supervisor.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    processors = [PaymentProcessor.objects.create(name=f"Processor {n:02d}", licensed=n % 7 != 0).pk for n in range(20)]
    customers = min(100_000, max(1_000, cases // 10))
    now = timezone.now()
    params = {"now": now, "cases": cases, "customers": customers, "per_day": per_day, "open_days": OPEN_DAYS,
              "agents": agents, "processors": processors, "supervisor": supervisor.pk}
    with connection.cursor() as cursor:
        _insert(cursor, Customer, {
            "name": "'客户' || k", "phone": "'+86139' || lpad(k::text, 8, '0')", "email": "''",
            "verified": "true", "preferred_language": "'zh-hans'", "created_at": "%(now)s::timestamptz",
        }, "FROM generate_series(1, %(customers)s) AS s(k)", params)
        cursor.execute("SELECT min(id) FROM customers_customer")
        params["first_customer"] = cursor.fetchone()[0]
        _insert(cursor, Card, {
            "customer_id": "id", "scheme": "'unionpay'", "last4": "lpad(mod(id, 10000)::text, 4, '0')", "bin6": "''",
        }, "FROM customers_customer", params)
        cursor.execute("SELECT min(id) FROM customers_card")
        params["first_card"] = cursor.fetchone()[0]

        # i = 1 is the newest case; one case every 1/per_day of a day going back.
        filed = "(%(now)s::timestamptz - (i - 1) * interval '1 day' / %(per_day)s)"
        is_open = f"({filed} > %(now)s::timestamptz - %(open_days)s * interval '1 day')"
        open_state = ("(ARRAY['submitted','verifying','awaiting_customer','merchant_contact','processor_inquiry',"
                      "'refund_pending'])[1 + mod(i, 6)]")
        ended_state = "(ARRAY['refunded','resolved','rejected','withdrawn','closed','closed'])[1 + mod(i, 6)]"
        paused = f"({is_open} AND mod(i, 6) = 2)"
        _insert(cursor, Case, {
            "reference": "'DB' || lpad(i::text, 12, '0')",
            "tracking_code_hash": "md5(i::text)",
            "channel": "(ARRAY['web','web','api','staff'])[1 + mod(i, 4)]",
            "state": f"CASE WHEN {is_open} THEN {open_state} ELSE {ended_state} END",
            "customer_id": "%(first_customer)s + mod(i, %(customers)s)",
            "card_id": "%(first_card)s + mod(i, %(customers)s)",
            "amount": "(10 + mod(i * 37, 5000))::numeric(14,2)",
            "currency": "'CNY'",
            "transaction_at": f"{filed} - interval '3 hours'",
            "merchant_name": "'商户' || mod(i, 2000)",
            "merchant_id": "'1032876541' || lpad(mod(i, 2000)::text, 5, '0')",
            "terminal_id": "'T' || lpad(mod(i, 5000)::text, 7, '0')",
            "rrn": "lpad(i::text, 12, '0')",
            "processor_id": "CASE WHEN mod(i, 2) = 0 THEN (%(processors)s::bigint[])[1 + mod(i / 2, 20)] END",
            "assignee_id": f"CASE WHEN {is_open} AND mod(i, 3) > 0 THEN (%(agents)s::bigint[])[1 + mod(i / 3, {AGENTS})] END",
            "root_cause": f"CASE WHEN {is_open} THEN '' ELSE (ARRAY['network_failure','response_timeout',"
                          "'terminal_fault','processor_error','unknown'])[1 + mod(i, 5)] END",
            "resume_state": f"CASE WHEN {paused} THEN 'verifying' ELSE '' END",
            "created_at": filed, "updated_at": filed, "stage_entered_at": f"{filed} + interval '2 hours'",
            "sla_due_at": f"CASE WHEN {is_open} AND NOT {paused} THEN {filed} + (6 + mod(i, 90)) * interval '1 hour' END",
            "final_due_at": f"CASE WHEN NOT {paused} THEN {filed} + interval '15 days' END",
            "final_remaining": f"CASE WHEN {paused} THEN interval '10 days' END",
            "sla_paused_at": f"CASE WHEN {paused} THEN {filed} + interval '1 day' END",
            "ended_at": f"CASE WHEN NOT {is_open} THEN {filed} + interval '5 days' END",
            "sla_entry": "2",
        }, "FROM generate_series(1, %(cases)s) AS s(i)", params)
        common = {"actor_label": "'bench'", "message": "''", "payload": "'{}'::jsonb", "case_version": "1"}
        _insert(cursor, CaseEvent, {**common, "case_id": "id", "kind": "'filed'", "to_state": "'submitted'",
                                    "created_at": "created_at"}, "FROM disputes_case", params)
        _insert(cursor, CaseEvent, {**common, "case_id": "id", "kind": "'transition'", "transition": "'start_verification'",
                                    "from_state": "'submitted'", "to_state": "'verifying'",
                                    "created_at": "created_at + interval '2 hours'"}, "FROM disputes_case", params)
        _insert(cursor, SlaAlert, {"case_id": "id", "clock": "'stage'", "entry": "2", "kind": "'breach'",
                                   "stage": "'verifying'", "due_at": "created_at + interval '1 day'",
                                   "created_at": "created_at + interval '1 day'"},
                "FROM disputes_case WHERE mod(id, 20) = 0", params)
        refund = {"case_id": "id", "amount": "amount", "currency": "currency", "proposed_by_id": "assignee_or_agent",
                  "proposed_at": "created_at + interval '3 days'"}
        source = "FROM (SELECT *, coalesce(assignee_id, (%(agents)s::bigint[])[1]) " \
                 "AS assignee_or_agent FROM disputes_case) c "
        _insert(cursor, Refund, {**refund, "status": "'executed'", "decided_by_id": "%(supervisor)s",
                                 "decided_at": "created_at + interval '4 days'", "executed_at": "created_at + interval '4 days'",
                                 "execution_reference": "'RF' || lpad(id::text, 12, '0')"},
                source + "WHERE state = 'refunded'", params)
        _insert(cursor, Refund, {**refund, "status": "'proposed'"}, source + "WHERE state = 'refund_pending'", params)
        for table in ("customers_customer", "customers_card", "disputes_case", "disputes_caseevent",
                      "disputes_slaalert", "disputes_refund"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"customers": customers}


# --- timing --------------------------------------------------------------------------------

def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(repeat: int) -> dict:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from disputes.models import Case
    from disputes.models.queue import ended_or_filed
    from disputes.selectors.queue import Cursor
    from disputes.workflow.names import ENDED_STATES, State

    settings.DEBUG = False
    supervisor, agent = Client(), Client()
    supervisor.force_login(User.objects.get(username="bench_supervisor"))
    agent.force_login(User.objects.get(username="bench_agent01"))

    ended = Case.objects.filter(state__in=[*ENDED_STATES, State.CLOSED]).annotate(key=ended_or_filed())
    middle = ended.order_by("-key", "-id").values("key", "id")[ended.count() // 2]  # set-up only: OFFSET here is fine
    deep = Cursor(key=middle["key"], pk=middle["id"]).encode()
    case = Case.objects.filter(state="merchant_contact").order_by("-created_at").first()
    phone = case.customer.phone
    pages = {
        "queue: first page (all open)": (supervisor, "/staff/?tab=open"),
        "queue: filtered page": (supervisor, "/staff/?tab=open&state=merchant_contact&sla=on_track&channel=web"),
        "queue: deep keyset page (ended)": (supervisor, f"/staff/?tab=ended&after={deep}"),
        "queue: search by phone": (supervisor, f"/staff/?q={phone.replace('+', '%2B')}"),
        "queue: my cases (agent)": (agent, "/staff/"),
        "case page": (supervisor, f"/staff/cases/{case.reference}/"),
        "dashboard (30 days)": (supervisor, "/staff/dashboard/"),
    }
    results = {}
    for label, (client, url) in pages.items():
        for _ in range(3):  # warm: caches, the SLA settings, the plan cache
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        results[label] = {"p50": statistics.median(timings), "p95": _percentile(timings, 0.95),
                          "queries": len(queries), "rows": response.content.decode().count("<tr data-reference=")}
    plans = {}
    for label, url in (("first page", "/staff/?tab=open"), ("deep keyset page", f"/staff/?tab=ended&after={deep}")):
        with CaptureQueriesContext(connection) as queries:
            supervisor.get(url)
        sql = next(q["sql"] for q in queries if 'FROM "disputes_case"' in q["sql"] and "LIMIT" in q["sql"])
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF, SUMMARY OFF) " + sql)
            plans[label] = [row[0] for row in cursor.fetchall()][:8]
    return {"pages": results, "plans": plans}


def run_one(size: int, per_day: int, repeat: int, reuse: bool) -> None:
    url = database_url(size)
    ensure_database(url, fresh=not reuse)
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    generated = None
    if not reuse:
        started = time.perf_counter()
        generate(size, per_day)
        generated = time.perf_counter() - started
    result = measure(repeat)
    result.update(size=size, generated_seconds=generated)
    print("RESULT " + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--per-day", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--reuse", action="store_true", help="keep databases made by an earlier run")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if args.one:
        run_one(args.one, args.per_day, args.repeat, args.reuse)
        return

    results = {}
    for size in args.cases:  # one process per size: Django binds to one database
        command = [sys.executable, __file__, "--one", str(size), "--per-day", str(args.per_day),
                   "--repeat", str(args.repeat)] + (["--reuse"] if args.reuse else [])
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            sys.exit(f"{size:,} cases failed:\n{done.stderr}")
        output = done.stdout
        results[size] = json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])
        generated = results[size]["generated_seconds"]
        print(f"{size:,} cases" + (f" (generated in {generated:.0f} s)" if generated else ""), flush=True)

    sizes = sorted(results)
    print("\n| page | " + " | ".join(f"{s:,}: p50 / p95 ms (queries)" for s in sizes) + " | p50 ratio |")
    print("|---|" + "---:|" * (len(sizes) + 1))
    for label in results[sizes[0]]["pages"]:
        cells = [f"{results[s]['pages'][label]['p50']:.1f} / {results[s]['pages'][label]['p95']:.1f} "
                 f"({results[s]['pages'][label]['queries']})" for s in sizes]
        ratio = results[sizes[-1]]["pages"][label]["p50"] / results[sizes[0]]["pages"][label]["p50"]
        print(f"| {label} | " + " | ".join(cells) + f" | {ratio:.2f}× |")
    for size in sizes:
        for label, plan in results[size]["plans"].items():
            print(f"\nplan at {size:,}, {label}:\n    " + "\n    ".join(plan))
    print(f"\nmachine: {platform.platform()}, {os.cpu_count()} CPUs, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB")


if __name__ == "__main__":
    main()
