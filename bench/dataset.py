"""The one data generator of the benchmarks: realistic volumes, loaded with COPY,
kept as template databases and copied for each run.

    .venv/bin/python bench/dataset.py history 1000000     # build (or reuse) the template, print what it holds
    .venv/bin/python bench/dataset.py open 1000000 --due 10000
    .venv/bin/python bench/dataset.py records 1000000     # the ledger + settlement CSV files

Two profiles of cases (``copy_of`` gives a run its own copy of either):

- ``history``: N cases filed at 300 a day going back from the generation's
  instant (10,000 are a month, 1,000,000 nine years), over ALL the states: the
  cases of the last 20 days are open (six open stages, a third unassigned, the
  rest spread over 20 agents; ``awaiting_customer`` ones paused), older ones
  ended (refunded, resolved, rejected, withdrawn) or closed. Used by the staff
  pages, the filing and the import benchmarks.
- ``open``: N open cases over the five running stages (the SLA sweep's worst
  day), of which D are due now: half reminders, half breaches; one in five of
  the breaches is in ``merchant_contact`` and so also escalates. Nothing else
  is due for ``MAX_AGE_DAYS`` after the generation, so a template reused within
  that time gives the same sweep. Cases are unassigned: each alert mails the
  two supervisors (10,000 alerts, 20,000 e-mails, 1,000 escalations at 500 a sweep).

Both: merchants (one per 200 cases) with 1–5 terminals each, the slip's
merchant and terminal taken from them (a few merchants get most cases);
customers (one per three cases) with a card each; a filing event and a step
event per case; one case in twenty with a past breach alert (history);
refunded cases a paid refund, ``refund_pending`` ones a proposed one. Users
(20 agents, 2 supervisors, password ``PASSWORD``) are made with the ORM, every
other row with ``COPY`` from generated text. Column lists come from the
models' ``_meta``: a column the generator does not fill takes the field's
default (as the ORM would: '' for a text) or NULL, and a NOT NULL column without a default stops the build (the
generator must learn it). Values respect the check constraints (the database is
migrated first, so a violation fails the build). Seeded (``SEED``): the same
rows every time, times relative to the generation's instant.

A template is named ``<base>_seed_<profile>_<cases>[_<due>]`` and carries a
marker in its comment: the hash of the migration files and of the generator,
and the generation time; a different hash, or a template older than
``MAX_AGE_DAYS``, is built again. Records files go to
``var/bench/records-<rows>-<hash>/`` and are kept.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dataset_records import write_records

ROOT = Path(__file__).resolve().parents[1]
SEED = 12
VERSION = 1  # of build() below: a change of it, of dataset_rows.py or of a migration builds the templates again
MAX_AGE_DAYS = 10
PER_DAY = 300
OPEN_DAYS = 20
AGENTS = 20
SUPERVISORS = ("bench_supervisor", "bench_supervisor2")
PASSWORD = "bench-password-only"
DEFAULT_BASE = "postgres://postgres@127.0.0.1:5432/dispute_desk_bench"
OPEN_STAGES = ["submitted", "verifying", "awaiting_customer", "merchant_contact", "processor_inquiry", "refund_pending"]
RUNNING_STAGES = ["submitted", "verifying", "merchant_contact", "processor_inquiry", "refund_pending"]
ENDED = ["refunded", "resolved", "rejected", "withdrawn", "closed", "closed"]


# --- databases -------------------------------------------------------------------------------

def admin(url: str):
    import psycopg2

    parsed = urlparse(url)
    conn = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username,
                            password=parsed.password, dbname="postgres")
    conn.autocommit = True
    return conn


def with_name(url: str, name: str) -> str:
    return urlparse(url)._replace(path=f"/{name}").geturl()


def marker() -> str:
    """What the generated rows depend on: the migrations (the schema) and the generator."""
    digest = hashlib.sha256(b"%d" % VERSION)
    here = Path(__file__).resolve().parent
    for path in sorted(ROOT.glob("*/migrations/[0-9]*.py")) + [here / "dataset_rows.py", here / "dataset_records.py"]:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def template_name(base_url: str, profile: str, cases: int, due: int) -> str:
    base = urlparse(base_url).path.lstrip("/")
    return f"{base}_seed_{profile}_{cases}" + (f"_{due}" if profile == "open" else "")


def scratch_name(base_url: str, label: str) -> str:
    """The database of one benchmark's run: ``<base>_run_<label>``."""
    return f"{urlparse(base_url).path.lstrip('/')}_run_{label}"


def template(profile: str, cases: int, due: int = 0, *, base_url: str = DEFAULT_BASE, log=print) -> dict:
    """The template database of this profile and size, built when missing or stale; returns its marker."""
    name = template_name(base_url, profile, cases, due)
    conn = admin(base_url)
    with conn.cursor() as cursor:
        cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name])
        row = cursor.fetchone()
    info = json.loads(row[0]) if row and row[0] and row[0].startswith("{") else None
    if info and info.get("marker") == marker() and time.time() - info["generated_at"] < MAX_AGE_DAYS * 86400:
        conn.close()
        return {**info, "template": name, "reused": True}
    build = f"{name}_build"
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{build}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{build}"')
    log(f"dataset: building {name} ({profile}, {cases:,} cases" + (f", {due:,} due" if due else "") + ")…")
    started = time.perf_counter()
    env = {**os.environ, "DATABASE_URL": with_name(base_url, build), "DJANGO_SETTINGS_MODULE": "config.settings",
           "CELERY_BROKER_URL": "memory://", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, "--build-into", profile, str(cases), "--due", str(due)],
                          env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"dataset: building {name} failed:\n{done.stdout}\n{done.stderr}")
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    info = {"marker": marker(), "generated_at": time.time(), "seconds": round(time.perf_counter() - started, 1),
            "profile": profile, "cases": cases, "due": due, "counts": counts}
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'ALTER DATABASE "{build}" RENAME TO "{name}"')
        cursor.execute(f'COMMENT ON DATABASE "{name}" IS %s', [json.dumps(info)])
    conn.close()
    log(f"dataset: {name} built in {info['seconds']:.0f} s: {counts}")
    return {**info, "template": name, "reused": False}


def copy_of(profile: str, cases: int, due: int = 0, *, name: str, base_url: str = DEFAULT_BASE, log=print) -> tuple[str, dict]:
    """A scratch database ``name`` copied from the profile's template (built first if need be)."""
    info = template(profile, cases, due, base_url=base_url, log=log)
    conn = admin(base_url)
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{info["template"]}"')
    conn.close()
    return with_name(base_url, name), info


def drop(url: str) -> None:
    conn = admin(url)
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{urlparse(url).path.lstrip("/")}" WITH (FORCE)')
    conn.close()


def records_files(rows: int, *, log=print) -> tuple[Path, dict]:
    """The ledger and settlement CSV files of ``rows`` rows each (written once, then reused)."""
    directory = ROOT / "var" / "bench" / f"records-{rows}-{marker()}"
    done = directory / "counts.json"
    if done.exists():
        return directory, {**json.loads(done.read_text()), "reused": True}
    directory.mkdir(parents=True, exist_ok=True)
    log(f"dataset: writing {rows:,} ledger + {rows:,} settlement rows to {directory}…")
    started = time.perf_counter()
    counts = write_records(directory, rows, SEED)
    counts["seconds"] = round(time.perf_counter() - started, 1)
    done.write_text(json.dumps(counts))
    return directory, {**counts, "reused": False}


# --- COPY ---------------------------------------------------------------------------------------

def _text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds()} seconds"
    if isinstance(value, (dict, list)):
        return _text(json.dumps(value, ensure_ascii=False))
    if hasattr(value, "adapted"):  # psycopg2's Json, from a JSONField's default
        return _text(value.adapted)
    return str(value)


class _Stream:
    """A read()-able file over generated lines, for copy_expert."""

    def __init__(self, lines):
        self._lines, self._buffer = lines, b""

    def read(self, size: int = 65536) -> bytes:
        chunks, length = [self._buffer], len(self._buffer)
        while length < size:
            batch = "".join(line for _, line in zip(range(2000), self._lines))
            if not batch:
                break
            data = batch.encode()
            chunks.append(data)
            length += len(data)
        data = b"".join(chunks)
        self._buffer = data[size:]
        return data[:size]

    readline = read


def copy_rows(model, rows) -> int:
    """COPY ``rows`` (dicts: column -> value) into ``model``'s table; every other column
    takes its field's default ('' for a text), or NULL; a NOT NULL column without either stops the build."""
    from django.db import connection

    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    plan, unknown = [], set(first)
    for field in model._meta.concrete_fields:
        column = field.column
        unknown.discard(column)
        if column in first:
            plan.append((column, None))
        elif field.primary_key:
            continue  # the identity column numbers the rows
        elif field.null:
            plan.append((column, r"\N"))
        elif field.has_default() or field.empty_strings_allowed:  # as the ORM does: '' for a text
            plan.append((column, _text(field.get_db_prep_save(field.get_default(), connection))))
        else:
            raise SystemExit(f"dataset.py: {model._meta.label}.{column} is NOT NULL without a default: fill it")
    if unknown:
        raise SystemExit(f"dataset.py: {model._meta.label} has no column {sorted(unknown)}")
    count = [0]

    def lines():
        from itertools import chain

        for row in chain([first], rows):
            count[0] += 1
            if len(row) != len(first):
                raise SystemExit(f"dataset.py: every row of {model._meta.label} must fill the same columns: {row}")
            yield "\t".join(_text(row[c]) if fixed is None else fixed for c, fixed in plan) + "\n"

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(c for c, _ in plan)}) FROM STDIN", _Stream(lines()),
                                  size=1 << 16)
        if "id" in first:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return count[0]


# --- the build (in its own process, Django bound to the build database) ----------------------

def build(profile: str, cases: int, due: int) -> dict:
    import random

    import django

    django.setup()
    from dataset_rows import case_rows, event_rows
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection, transaction

    from customers.models import Card, Customer
    from disputes.models import Case, CaseEvent, Refund, SlaAlert
    from disputes.workflow.names import Role
    from merchants.models import Merchant, PaymentProcessor, Terminal

    call_command("migrate", verbosity=0)
    rng = random.Random(SEED)
    now = datetime.now(UTC).replace(microsecond=0)
    password = make_password(PASSWORD)
    agents = []
    for n in range(1, AGENTS + 1):
        user = User.objects.create(username=f"bench_agent{n:02d}", email=f"agent{n}@bank.example", password=password)
        user.groups.add(Group.objects.get(name=Role.AGENT))
        agents.append(user.pk)
    supervisors = []
    for name in SUPERVISORS:
        user = User.objects.create(username=name, email=f"{name}@bank.example", password=password)
        user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
        supervisors.append(user.pk)
    counts = {}
    with transaction.atomic():
        counts["processors"] = copy_rows(PaymentProcessor, (
            {"id": n, "name": f"Processor {n:02d}", "licensed": n % 7 != 0, "promised_response_hours": 48}
            for n in range(1, 21)))
        merchants = max(10, cases // 200)
        counts["merchants"] = copy_rows(Merchant, (
            {"id": k, "name": f"商户{k:05d}", "merchant_id": f"10{k:013d}"} for k in range(1, merchants + 1)))
        terminals = []  # (merchant number, terminal id)
        for k in range(1, merchants + 1):
            for _ in range(rng.randint(1, 5)):
                terminals.append((k, f"{len(terminals) + 1:08d}"))
        by_merchant: dict[int, list[str]] = {}
        for k, tid in terminals:
            by_merchant.setdefault(k, []).append(tid)
        counts["terminals"] = copy_rows(Terminal, (
            {"id": n, "merchant_id": k, "terminal_id": tid} for n, (k, tid) in enumerate(terminals, 1)))
        customers = max(50, cases // 3)
        counts["customers"] = copy_rows(Customer, (
            {"id": k, "name": f"客户{k}", "phone": f"+86139{k:08d}", "email": "", "verified": True,
             "preferred_language": "zh-hans", "created_at": now - timedelta(days=4000)}
            for k in range(1, customers + 1)))
        counts["cards"] = copy_rows(Card, (
            {"id": k, "customer_id": k, "scheme": "unionpay", "last4": f"{k % 10000:04d}", "bin6": ""}
            for k in range(1, customers + 1)))
        world = {"now": now, "rng": rng, "agents": agents, "supervisors": supervisors, "customers": customers,
                 "merchants": merchants, "terminals": by_merchant, "due": due, "max_age": timedelta(days=MAX_AGE_DAYS)}
        counts["cases"] = copy_rows(Case, case_rows(profile, cases, world))
        counts["events"] = copy_rows(CaseEvent, event_rows(connection, profile))
    with transaction.atomic():
        counts["sla alerts"] = copy_rows(SlaAlert, _past_alerts(connection, profile))
        counts["refunds"] = copy_rows(Refund, _refunds(connection, agents, supervisors))
    with connection.cursor() as cursor:
        for model in (Customer, Card, Merchant, Terminal, Case, CaseEvent, SlaAlert, Refund):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    return counts


def _past_alerts(connection, profile: str):
    """History: one case in twenty breached its stage target once, long ago."""
    if profile != "history":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, created_at FROM disputes_case WHERE id % 20 = 0 ORDER BY id")
        for case_id, created in cursor.fetchall():
            yield {"case_id": case_id, "clock": "stage", "entry": 1, "kind": "breach", "stage": "verifying",
                   "due_at": created + timedelta(days=1), "created_at": created + timedelta(days=1)}


def _refunds(connection, agents: list[int], supervisors: list[int]):
    """A paid refund for each refunded case, a proposed one for each refund_pending case."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, amount, currency, state, created_at, assignee_id FROM disputes_case"
                       " WHERE state IN ('refunded', 'refund_pending') ORDER BY id")
        for case_id, amount, currency, state, created, assignee in cursor.fetchall():
            row = {"case_id": case_id, "amount": amount, "currency": currency, "proposed_by_id": assignee or agents[0],
                   "proposed_at": created + timedelta(days=3), "status": "proposed", "decided_by_id": None,
                   "decided_at": None, "executed_at": None, "execution_reference": ""}
            if state == "refunded":
                row.update(status="executed", decided_by_id=supervisors[0], decided_at=created + timedelta(days=4),
                           executed_at=created + timedelta(days=4), execution_reference=f"RF{case_id:012d}")
            yield row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", choices=["history", "open", "records"])
    parser.add_argument("cases", type=int, help="cases (records: rows in each file)")
    parser.add_argument("--due", type=int, default=0, help="open profile: the cases due now")
    parser.add_argument("--base-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_BASE))
    parser.add_argument("--build-into", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_into:
        print(json.dumps(build(args.profile, args.cases, args.due)))
    elif args.profile == "records":
        print(records_files(args.cases))
    else:
        print(json.dumps(template(args.profile, args.cases, args.due, base_url=args.base_url)))


if __name__ == "__main__":
    main()
