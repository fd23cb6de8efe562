"""Benchmark of the staff workspace over HTTP: gunicorn on a copy of the
``history`` dataset (bench/dataset.py), at each size.

    .venv/bin/python bench/staff_bench.py [--cases 10000 1000000] [--repeat 40]

For each size, a copy of the dataset's template, gunicorn on it (3 workers ×
4 threads, DEBUG off, Redis cache; bench/stack.py), and a client holding a
keep-alive connection and the session cookie of a supervisor (or of an agent
for "my cases", both logged in by Django's own login, ``force_login``) times each page
``--repeat`` times after three warm-up requests:

- queue, first page: a supervisor's "all open" tab;
- queue, filtered: merchant contact, on track, channel web;
- queue, deep keyset page: the "ended" tab from the middle of all ended cases;
- queue, search: a customer's phone number;
- queue, my cases: an agent's own tab;
- case page: a case with its events;
- dashboard: the last 30 days.

Prints p50/p95 per page and size, and the ratio of the largest size's p50 to the
smallest's. ``bench/run.py`` (``make bench``) runs it with the others.
"""
from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset
from stack import Stack

# Run in the web's environment (manage.py shell): the pages to time and two logged-in sessions.
SETUP = """
import json
from django.contrib.auth.models import User
from django.test import Client
from disputes.models import Case
from disputes.models.queue import ended_or_filed
from disputes.selectors.queue import Cursor
from disputes.workflow.names import ENDED_STATES, State
cookies = {}
for name in ("bench_supervisor", "bench_agent01"):
    client = Client()
    client.force_login(User.objects.get(username=name))
    cookies[name] = client.cookies["sessionid"].value
ended = Case.objects.filter(state__in=[*ENDED_STATES, State.CLOSED]).annotate(key=ended_or_filed())
count = ended.count()  # none under 20 days of cases: then the first page of the tab
middle = ended.order_by("-key", "-id").values("key", "id")[count // 2] if count else None  # set-up: OFFSET is fine
deep = Cursor(key=middle["key"], pk=middle["id"]).encode() if middle else ""
case = Case.objects.filter(state="merchant_contact").order_by("-created_at").first()
phone = case.customer.phone.replace("+", "%2B")
print(json.dumps({"cookies": cookies, "pages": {
    "queue: first page (all open)": ["bench_supervisor", "/staff/?tab=open"],
    "queue: filtered page": ["bench_supervisor", "/staff/?tab=open&state=merchant_contact&sla=on_track&channel=web"],
    "queue: deep keyset page (ended)": ["bench_supervisor", f"/staff/?tab=ended&after={deep}"],
    "queue: search by phone": ["bench_supervisor", f"/staff/?q={phone}"],
    "queue: my cases (agent)": ["bench_agent01", "/staff/"],
    "case page": ["bench_supervisor", f"/staff/cases/{case.reference}/"],
    "dashboard (30 days)": ["bench_supervisor", "/staff/dashboard/"],
}}))
"""


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _get(conn: http.client.HTTPConnection, path: str, cookie: str) -> tuple[int, bytes]:
    conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}", "Accept-Language": "en"})
    response = conn.getresponse()
    return response.status, response.read()


def measure(stack: Stack, repeat: int) -> dict:
    setup = json.loads(stack.manage("shell", "-v", "0", "-c", SETUP).strip().splitlines()[-1])
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
    results = {}
    for label, (user, path) in setup["pages"].items():
        cookie = setup["cookies"][user]
        for _ in range(3):  # warm: the worker's caches, the plan cache
            status, body = _get(conn, path, cookie)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:500]!r}")
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            status, body = _get(conn, path, cookie)
            timings.append((time.perf_counter() - started) * 1000)
            assert status == 200, (path, status)
        results[label] = {"p50_ms": round(_percentile(timings, 0.5), 1), "p95_ms": round(_percentile(timings, 0.95), 1),
                          "rows": body.decode().count("<tr data-reference=")}
    conn.close()
    return results


def run(sizes: list[int], repeat: int, *, base_url: str = dataset.DEFAULT_BASE, log=print) -> dict:
    """p50/p95 of each page at each size, and the web workers' peak RSS there."""
    out = {}
    for size in sizes:
        url, info = dataset.copy_of("history", size, name=dataset.scratch_name(base_url, f"staff_{size}"),
                                    base_url=base_url, log=log)
        try:
            with Stack(url, web=True, worker=False, name="staff") as stack:
                pages = measure(stack, repeat)
                out[size] = {"pages": pages, "web_peak_mb": stack.web_peak_mb(), "dataset": info}
        finally:
            dataset.drop(url)
        log(f"staff pages at {size:,} cases: " + ", ".join(f"{k} {v['p50_ms']} ms" for k, v in pages.items()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    results = run(sorted(args.cases), args.repeat)
    sizes = sorted(results)
    print("\n| page | " + " | ".join(f"{s:,}: p50 / p95 ms" for s in sizes) + " | p50 ratio |")
    print("|---|" + "---:|" * (len(sizes) + 1))
    for label in results[sizes[0]]["pages"]:
        cells = [f"{results[s]['pages'][label]['p50_ms']} / {results[s]['pages'][label]['p95_ms']}" for s in sizes]
        ratio = results[sizes[-1]]["pages"][label]["p50_ms"] / results[sizes[0]]["pages"][label]["p50_ms"]
        print(f"| {label} | " + " | ".join(cells) + f" | {ratio:.2f}× |")
    print("peak RSS of a gunicorn worker: " + ", ".join(f"{s:,}: {results[s]['web_peak_mb']} MB" for s in sizes))


if __name__ == "__main__":
    main()
