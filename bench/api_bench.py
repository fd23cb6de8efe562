"""REST API benchmark: gunicorn on PostgreSQL, concurrent clients filing and listing.

    python bench/api_bench.py [--clients 8] [--requests 600] [--max-seconds 60]

Serves the app with gunicorn (DEBUG off) on a free 127.0.0.1 port against its
own scratch database (``dispute_desk_api_bench``, made anew), then runs, one after the
other, with ``--clients`` threads each holding a keep-alive connection:

- ``file``: POST /api/v1/cases/ (each with its own Idempotency-Key),
- ``list``: GET /api/v1/cases/?page_size=25 (the newest page),
- ``search``: GET /api/v1/cases/?phone=…&state=submitted,
- ``read``: GET /api/v1/cases/{reference}/.

Each phase stops after ``--requests`` requests or ``--max-seconds``, whichever
comes first, and reports requests per second and p50/p95/p99 latency.
Results on the reference machine are in docs/performance.md ("REST API").
Not part of the test suite.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run([sys.executable, str(REPO / "manage.py"), *args], env=env, cwd=REPO, input=stdin,
                            capture_output=True, text=True, check=True)
    return result.stdout


def fresh_database(url: str) -> None:
    import psycopg2

    parts = urllib.parse.urlparse(url)
    conn = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                            password=parts.password, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:  # a scratch database: made anew each run
        cursor.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')
    conn.close()


SETUP = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
user = User.objects.create_user("bench")
user.groups.add(Group.objects.get(name="call_center"))
print(Token.objects.create(user=user).key)
"""


def complaint(index: int) -> dict:
    return {
        "customer": {"name": f"客户{index}", "phone": f"+86138{index % 100000:08d}", "email": ""},
        "card_last4": f"{index % 10000:04d}", "card_scheme": "unionpay",
        "amount": f"{100 + index % 900}.50", "currency": "CNY",
        "transaction_at": (datetime.now(timezone.utc) - timedelta(hours=3)).isoformat(),
        "merchant_name": "好又多超市", "merchant_id": "103287654110281", "terminal_id": "41082857",
        "rrn": f"{index % 10**12:012d}", "stan": f"{index % 10**6:06d}", "auth_code": "340191",
        "description": "POS 显示交易失败，但银行卡被扣款。",
    }


class Phase:
    def __init__(self, name: str, make_request, *, clients: int, requests: int, max_seconds: float, port: int, token: str):
        self.name, self.make_request = name, make_request
        self.clients, self.requests, self.max_seconds = clients, requests, max_seconds
        self.port, self.token = port, token
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.results: list[dict] = []
        self.lock = threading.Lock()
        self.issued = 0

    def _next_index(self) -> int | None:
        with self.lock:
            if self.issued >= self.requests or time.monotonic() > self.deadline:
                return None
            self.issued += 1
            return self.issued

    def _client(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Authorization": f"Token {self.token}", "Accept-Language": "en"}
        while (index := self._next_index()) is not None:
            method, path, body, extra = self.make_request(index)
            started = time.perf_counter()
            try:
                conn.request(method, path, body=json.dumps(body) if body is not None else None,
                             headers={**headers, **extra, **({"Content-Type": "application/json"} if body else {})})
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                status, payload = 0, b""
            elapsed = time.perf_counter() - started
            with self.lock:
                self.latencies.append(elapsed)
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if method == "POST" and status == 201:
                    self.results.append(json.loads(payload))
        conn.close()

    def run(self) -> dict:
        self.deadline = time.monotonic() + self.max_seconds
        started = time.perf_counter()
        threads = [threading.Thread(target=self._client) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))] * 1000

        return {
            "phase": self.name, "requests": len(ordered), "seconds": round(wall, 2),
            "rps": round(len(ordered) / wall, 1), "p50_ms": round(pct(0.50), 1), "p95_ms": round(pct(0.95), 1),
            "p99_ms": round(pct(0.99), 1), "mean_ms": round(statistics.mean(ordered) * 1000, 1),
            "statuses": self.statuses,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=600, help="per phase")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="per phase")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dispute_desk_api_bench"))
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    var_dir = Path(os.environ.get("BENCH_VAR_DIR", "/tmp/dispute-desk-api-bench"))
    env = {
        **os.environ, "DATABASE_URL": args.database_url, "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-only-not-a-secret", "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DISPUTE_API_THROTTLE_RATE": "1000000/min", "LOG_LEVEL": "WARNING", "DISPUTE_DESK_VAR_DIR": str(var_dir),
    }
    fresh_database(args.database_url)
    manage(env, "migrate", "--no-input", "-v", "0")
    token = manage(env, "shell", "-v", "0", "-c", SETUP).strip()

    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}",
         "-w", str(args.workers), "--threads", str(args.threads), "--log-level", "warning"],
        env=env, cwd=REPO,
    )
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        common = dict(clients=args.clients, requests=args.requests, max_seconds=args.max_seconds, port=port, token=token)
        filing = Phase("file", lambda i: ("POST", "/api/v1/cases/", complaint(i), {"Idempotency-Key": str(uuid.uuid4())}), **common)
        results = [filing.run()]
        references = [case["reference"] for case in filing.results] or ["NONE"]
        results.append(Phase("list", lambda i: ("GET", "/api/v1/cases/?page_size=25", None, {}), **common).run())
        results.append(Phase("search", lambda i: (
            "GET", f"/api/v1/cases/?phone=%2B86138{(i % max(len(references), 1)) + 1:08d}&state=submitted", None, {}), **common).run())
        results.append(Phase("read", lambda i: ("GET", f"/api/v1/cases/{references[i % len(references)]}/", None, {}), **common).run())
    finally:
        server.terminate()
        server.wait(timeout=30)

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    if args.json:
        print(json.dumps({"machine": machine, "args": vars(args), "results": results}, indent=2))
    else:
        print(f"{machine}; gunicorn {args.workers} workers x {args.threads} threads; {args.clients} clients")
        print(f"{'phase':<8}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  statuses")
        for r in results:
            print(f"{r['phase']:<8}{r['requests']:>9}{r['rps']:>9}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}  {r['statuses']}")
    ok = all(set(r["statuses"]) <= {200, 201} for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
