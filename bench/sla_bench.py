"""Benchmark of the SLA sweep: 1 million open cases, 10 thousand of them due.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispute_desk_bench \\
        .venv/bin/python bench/sla_bench.py [--cases 1000000] [--due 10000] [--reuse]

Creates its own database (the name in DATABASE_URL, default dispute_desk_bench),
migrates it, generates the cases with one INSERT … SELECT generate_series, then
times ``sla_sweep``: the first sweep raises the due alerts (half reminders,
half breaches, each with its event and staff e-mails), the second raises
nothing new but takes the remaining escalations of breached merchant-contact
cases (500 a sweep), the third finds nothing at all. Celery publishes to the
in-memory broker, so the figures are the database's and Python's. Not run by the test command; results go in docs/performance.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dispute_desk_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ.setdefault("LOG_LEVEL", "WARNING")


def _admin(url: str):
    from urllib.parse import urlparse

    import psycopg2

    parsed = urlparse(url)
    admin = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username,
                             password=parsed.password, dbname="postgres")
    admin.autocommit = True
    return admin, parsed.path.lstrip("/")


def ensure_database(url: str, *, fresh: bool) -> bool:
    """Create the bench database; with ``fresh`` False, reuse it, or copy it from its
    pristine seed ``<name>_seed`` when there is one (then every run's first sweep is a
    first sweep). Returns whether the database holds generated cases."""
    admin, name = _admin(url)
    seed = f"{name}_seed"
    with admin.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname IN (%s, %s)", [name, seed])
        existing = {row[0] for row in cursor.fetchall()}
        if fresh:
            for db in existing:
                cursor.execute(f'DROP DATABASE "{db}"')
            existing = set()
        if seed in existing:
            if name in existing:
                cursor.execute(f'DROP DATABASE "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{seed}"')
            existing.add(name)
        elif name not in existing:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return name in existing


def save_seed(url: str) -> None:
    """Keep a pristine copy of the generated database for the next ``--reuse``."""
    from django.db import connection

    connection.close()
    admin, name = _admin(url)
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}_seed"')
        cursor.execute(f'CREATE DATABASE "{name}_seed" TEMPLATE "{name}"')
    admin.close()


def generate(cases: int, due: int) -> None:
    """One customer and card; ``cases`` open cases spread over the open stages; the
    first ``due`` cases have their stage clock due now: half a reminder, half a breach."""
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.utils import timezone

    from customers.models import Card, Customer
    from disputes.models import Case
    from disputes.workflow.names import Role

    for name in ("bench_sup1", "bench_sup2"):
        user, _ = User.objects.get_or_create(username=name, defaults={"email": f"{name}@bank.example"})
        user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    customer, _ = Customer.objects.get_or_create(phone="+8613800000000", defaults={"name": "Bench", "email": ""})
    card, _ = Card.objects.get_or_create(customer=customer, scheme="unionpay", last4="0000", bin6="")
    now = timezone.now()
    open_stages = ["submitted", "verifying", "merchant_contact", "processor_inquiry", "refund_pending"]
    # Column -> SQL expression over the series value i (1-based) and the parameters.
    expressions = {
        "reference": "'BENCH' || lpad(i::text, 12, '0')",
        "tracking_code_hash": "md5(i::text)",
        "channel": "'web'",
        "state": f"(ARRAY{open_stages!r})[1 + mod(i, 5)]",
        "customer_id": str(customer.pk),
        "card_id": str(card.pk),
        "amount": "(10 + mod(i, 5000))::numeric(14,2)",
        "currency": "'CNY'",
        "transaction_at": "%(now)s::timestamptz - interval '1 day'",
        "created_at": "%(now)s::timestamptz - mod(i, 10) * interval '1 day'",
        "updated_at": "%(now)s::timestamptz",
        "stage_entered_at": "%(now)s::timestamptz - interval '1 hour'",
        # Due cases: alert a minute ago; reminders (even i) due tomorrow, breaches (odd i) an hour ago.
        "sla_alert_at": "CASE WHEN i <= %(due)s THEN %(now)s::timestamptz - interval '1 minute' "
                        "ELSE %(now)s::timestamptz + (1 + mod(i, 20)) * interval '1 hour' END",
        "sla_due_at": "CASE WHEN i <= %(due)s AND mod(i, 2) = 1 THEN %(now)s::timestamptz - interval '1 hour' "
                      "ELSE %(now)s::timestamptz + (1 + mod(i, 20)) * interval '1 day' END",
        "final_due_at": "%(now)s::timestamptz + (5 + mod(i, 10)) * interval '1 day'",
        "final_alert_at": "%(now)s::timestamptz + (3 + mod(i, 10)) * interval '1 day'",
        "sla_entry": "1",
    }
    columns, values, params = [], [], {"now": now, "due": due, "cases": cases}
    for field in Case._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.column in expressions:
            columns.append(field.column)
            values.append(expressions[field.column])
        elif not field.null:
            columns.append(field.column)
            values.append(f"%(d_{field.column})s")
            params[f"d_{field.column}"] = field.get_db_prep_save(field.get_default(), connection)
    sql = (f"INSERT INTO {Case._meta.db_table} ({', '.join(columns)}) "
           f"SELECT {', '.join(values)} FROM generate_series(1, %(cases)s) AS s(i)")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.execute(f"VACUUM ANALYZE {Case._meta.db_table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the generated cases: a fresh copy of the pristine seed database when there is one")
    parser.add_argument("--only-generate", action="store_true", help="generate the seed, do not sweep")
    args = parser.parse_args()

    reused = ensure_database(os.environ["DATABASE_URL"], fresh=not args.reuse)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from disputes.models import Case, CaseEvent, Notification, SlaAlert
    from disputes.sla.sweep import sla_sweep

    call_command("migrate", verbosity=0)
    if not reused:
        started = time.perf_counter()
        generate(args.cases, args.due)
        print(f"generated {args.cases:,} open cases ({args.due:,} due) in {time.perf_counter() - started:.1f} s")
        save_seed(os.environ["DATABASE_URL"])
    if args.only_generate:
        return

    # The sweeps run as of the generation's instant (every case's updated_at), so a
    # seed reused hours later has the same 10,000 due cases, not more.
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(updated_at) FROM disputes_case")
        now = cursor.fetchone()[0] + timedelta(seconds=1)
        cursor.execute("EXPLAIN SELECT id FROM disputes_case WHERE sla_alert_at <= %s ORDER BY sla_alert_at LIMIT 500",
                       [now])
        plan = "\n    ".join(row[0] for row in cursor.fetchall())
        print(f"plan of the due-case query:\n    {plan}")
        # The floor: only counting the due cases, on the same index.
        floors = []
        for _i in range(3):
            started = time.perf_counter()
            cursor.execute("SELECT count(*) FROM disputes_case WHERE sla_alert_at <= %s", [now])
            due_count = cursor.fetchone()[0]
            floors.append(time.perf_counter() - started)
        floor = sorted(floors)[1]
        print(f"floor: SELECT count(*) of the {due_count:,} due cases on case_sla_alert_idx: {floor * 1000:.1f} ms "
              f"(median of 3)")

    labels = ("first sweep: the due alerts, their events and e-mails, the first escalations",
              "second sweep: the remaining escalations (500 a sweep)", "third sweep: nothing left to do")
    for label in labels:
        started, cpu = time.perf_counter(), time.process_time()
        result = sla_sweep(now=now)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        alerts = getattr(result, "alerts_seconds", None)  # absent before issue 12's set-based sweep
        split = f"; alerts {alerts:.2f} s, automatic steps {elapsed - alerts:.2f} s" if alerts is not None else ""
        print(f"{label}: {elapsed:.2f} s ({elapsed / floor:,.0f}× the floor{split}; "
              f"this process's CPU {cpu:.2f} s) — {result}")

    print(f"open cases: {Case.objects.count():,}; alerts: {SlaAlert.objects.count():,}; "
          f"events: {CaseEvent.objects.count():,}; e-mails queued: {Notification.objects.count():,}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
          f"PostgreSQL {connection.pg_version // 10000}")


if __name__ == "__main__":
    main()
