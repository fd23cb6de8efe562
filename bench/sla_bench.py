"""Benchmark of the SLA sweep on a real Celery worker: 1 million open cases,
10 thousand of them due (the ``open`` dataset of bench/dataset.py).

    .venv/bin/python bench/sla_bench.py [--cases 1000000] [--due 10000]

A copy of the dataset's template (so every run's first sweep is a first
sweep), a Celery worker on it (production settings, Redis broker,
concurrency 2; bench/stack.py), then the ``sla_sweep`` and
``sla_automatic_steps`` tasks sent together as beat sends them each minute,
three times (the worker's two processes take one each):

- first minute: the due alerts (half reminders, half breaches, each with its
  event and the two supervisors' e-mails), shared by the sweep with the parts
  it sends to the worker's other process (``DISPUTE_SLA_SWEEP_PARTS``): timed
  until no case is due any more, all batches committed; beside it, the escalations of the
  breached merchant-contact cases whose breach is already raised (500 a run);
- the worker then delivers the e-mails (one ``deliver_notifications`` task per
  batch): the time until the queue is empty;
- second and third minutes: the remaining escalations; nothing else.

Each task's figure is its own duration as the worker logs it ("succeeded in
… s"); also the wall time from sending both until both are done. What a minute
raised (alerts by kind, events, e-mails) is counted in the tables before and
after it: the sweep task's result counts only its own share, the
``sla_sweep_part`` tasks it sent raised the rest. Beside it, the floor: ``SELECT count(*)`` of the due
cases on the same index. Also the worker's peak RSS (VmHWM of the worker
process and its pool). ``bench/run.py`` (``make bench``) runs it with the others.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset
from stack import Stack, queue_length

SWEEP = "disputes.tasks.sla_sweep"
STEPS = "disputes.tasks.sla_automatic_steps"


def connect(url: str):
    import psycopg2

    parsed = urlparse(url)
    conn = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username,
                            password=parsed.password, dbname=parsed.path.lstrip("/"))
    conn.autocommit = True
    return conn


def _counts(cursor) -> dict:
    found = {}
    for label, sql in (("alerts", "SELECT count(*) FROM disputes_slaalert"),
                       ("reminders", "SELECT count(*) FROM disputes_slaalert WHERE kind = 'reminder'"),
                       ("breaches", "SELECT count(*) FROM disputes_slaalert WHERE kind = 'breach'"),
                       ("events", "SELECT count(*) FROM disputes_caseevent"),
                       ("e-mails", "SELECT count(*) FROM disputes_notification"),
                       ("e-mails pending", "SELECT count(*) FROM disputes_notification WHERE status = 'pending'"),
                       ("escalated", "SELECT count(*) FROM disputes_caseevent WHERE transition = 'escalate_to_processor'")):
        cursor.execute(sql)
        found[label] = cursor.fetchone()[0]
    return found


def _until_none_due(cursor, timeout: float = 600) -> float:
    """When no case is due an alert any more (``perf_counter``): every batch of the
    sweep and of its parts has committed (a claimed batch is still due to others
    until its transaction commits)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        cursor.execute("SELECT count(*) FROM disputes_case WHERE sla_alert_at <= now() OR final_alert_at <= now()")
        if cursor.fetchone()[0] == 0:
            return time.perf_counter()
        time.sleep(0.02)
    raise RuntimeError(f"SLA alerts still due after {timeout:.0f} s")


def _drain(stack: Stack, cursor, timeout: float) -> float | None:
    """Seconds until the worker delivered every e-mail (None: not within ``timeout``)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        cursor.execute("SELECT count(*) FROM disputes_notification WHERE status = 'pending'")
        if cursor.fetchone()[0] == 0 and queue_length() == 0:
            return time.perf_counter() - started
        time.sleep(0.5)
    return None


def run(cases: int, due: int, *, base_url: str = dataset.DEFAULT_BASE, drain_timeout: float = 900, log=print) -> dict:
    url, info = dataset.copy_of("open", cases, due, name=dataset.scratch_name(base_url, "sla"), base_url=base_url,
                                log=log)
    conn = connect(url)
    try:
        with conn.cursor() as cursor:
            floors = []
            for _ in range(3):
                started = time.perf_counter()
                cursor.execute("SELECT count(*) FROM disputes_case WHERE sla_alert_at <= now()")
                due_now = cursor.fetchone()[0]
                floors.append(time.perf_counter() - started)
            floor = statistics.median(floors)
            before = _counts(cursor)
            with Stack(url, web=False, worker=True, name="sla") as stack:
                sweeps = []
                for number in (1, 2, 3):
                    # One minute of beat: the sweep and the automatic steps, sent together.
                    counted = _counts(cursor)
                    sent = time.perf_counter()
                    sweep_id = stack.send(SWEEP)
                    steps_id = stack.send(STEPS, also=True)
                    alerts_done = _until_none_due(cursor) - sent
                    seconds, result = stack.wait_task(sweep_id)
                    steps_seconds, steps_result = stack.wait_task(steps_id)
                    wall = round(time.perf_counter() - sent, 2)
                    # The whole minute's alerts and e-mails, counted in the tables: the sweep task's
                    # result counts only its own share, its parts (sla_sweep_part) raised the rest.
                    raised = {label: number_after - counted[label] for label, number_after in _counts(cursor).items()}
                    sweeps.append({"seconds": seconds, "wall": wall, "result": result, "raised": raised,
                                   "steps_seconds": steps_seconds, "steps_result": steps_result,
                                   "alerts_done": round(alerts_done, 2)})
                    log(f"minute {number}: every alert raised {alerts_done:.2f} s after sending ({raised['reminders']:,} "
                        f"reminders, {raised['breaches']:,} breaches, {raised['e-mails']:,} e-mails); the sweep task "
                        f"{seconds:.2f} s — its own share: {result}; automatic steps {steps_seconds:.2f} s — "
                        f"{steps_result}; both done {wall:.2f} s after sending")
                    if number == 1:
                        after_first = _counts(cursor)
                        drained = _drain(stack, cursor, drain_timeout)
                        log(f"e-mails delivered in {drained:.1f} s" if drained is not None else "e-mails not delivered "
                            f"within {drain_timeout:.0f} s")
                worker_peak = stack.worker_peak_mb()
            after = _counts(cursor)
    finally:
        conn.close()
        dataset.drop(url)
    return {"cases": cases, "due": due, "due_now": due_now, "floor_seconds": floor, "sweeps": sweeps,
            "before": before, "after_first": after_first, "after": after, "emails_delivered_seconds": drained,
            "worker_peak_mb": worker_peak, "dataset": info}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.cases, args.due)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    print(f"{result['due_now']:,} of {args.cases:,} open cases due; floor (count of the due cases) "
          f"{result['floor_seconds'] * 1000:.1f} ms")
    for number, sweep in enumerate(result["sweeps"], 1):
        raised = sweep["raised"]
        print(f"minute {number}: every alert raised {sweep['alerts_done']:.2f} s after sending: {raised['alerts']:,} alerts "
              f"({raised['reminders']:,} reminders, {raised['breaches']:,} breaches), {raised['e-mails']:,} e-mails; "
              f"the sweep task {sweep['seconds']:.2f} s, its own share: {sweep['result']}")
    print(f"first minute: {result['sweeps'][0]['alerts_done'] / result['floor_seconds']:,.0f}x the floor; goal under 2 s")
    print(f"before {result['before']}; after the first sweep {result['after_first']}; at the end {result['after']}")
    print(f"peak RSS of the Celery worker: {result['worker_peak_mb']} MB")


if __name__ == "__main__":
    main()
