"""Start and stop the real processes of the reliability tests: Celery worker,
Celery beat, a private redis-server. Each runs in its own process group so the
test can kill it (and its children) with one signal."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The pytest test database, for the worker and beat."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Processes:
    """Worker, beat and redis processes of one test; ``stop_all`` ends every one still running."""

    def __init__(self, tmp: Path, broker_url: str, **extra_env: str):
        self.tmp = tmp
        self.mail_dir = tmp / "mail"
        self.mail_dir.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.reliability.worker_settings",
            "DATABASE_URL": database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": broker_url,
            "EMAIL_URL": f"filemail://{self.mail_dir}",
            "DISPUTE_DESK_VAR_DIR": str(tmp / "var"),
            "PYTHONPATH": str(ROOT),
            **extra_env,
        }
        self.running: list[subprocess.Popen] = []

    def _start(self, args: list[str], name: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}-{len(self.running)}.log", "wb")
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.running.append(proc)
        return proc

    def worker(self) -> subprocess.Popen:
        return self._start([CELERY, "-A", "config", "worker", "--pool=prefork", "--concurrency=1",
                            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"], "worker")

    def beat(self, schedule: str = "beat-schedule") -> subprocess.Popen:
        """A beat; a second one at once (a deployment's mistake) needs its own ``schedule`` file."""
        return self._start([CELERY, "-A", "config", "beat", "--loglevel=INFO",
                            "--schedule", str(self.tmp / schedule)], "beat")

    def redis(self, port: int) -> subprocess.Popen:
        return self._start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--dir", str(self.tmp)], "redis")

    @staticmethod
    def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the process group of ``proc`` (the worker and its pool children)."""
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for proc in reversed(self.running):
            if proc.poll() is None:
                self.kill(proc, signal.SIGTERM)
        self.running.clear()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.tmp.glob("*.log")))

    def log_mentions(self, *phrases: str) -> bool:
        """Whether a process's log mentions any of ``phrases``."""
        return any(phrase in path.read_text(errors="replace") for path in self.tmp.glob("*.log") for phrase in phrases)

    def task_results(self, task_name: str) -> list[str]:
        """What the workers logged as the result of each run of ``task_name``, oldest
        first ("Task disputes.tasks.sweep_outbox[...] succeeded in 0.01s: 0" -> "0")."""
        succeeded = re.compile(rf"Task {re.escape(task_name)}\[[^\]]+\] succeeded in [0-9.e-]+s: (.*)")
        results = []
        for path in sorted(self.tmp.glob("worker-*.log"), key=lambda p: int(p.stem.split("-")[1])):
            results += succeeded.findall(path.read_text(errors="replace"))
        return results

    def wait_for_sweeps_with_nothing_to_send(self, count: int, timeout: float) -> None:
        """Wait until ``count`` more runs of the outbox sweep, from now on, found nothing left to re-send."""
        already = len(self.task_results("disputes.tasks.sweep_outbox"))
        wait_for(lambda: self.task_results("disputes.tasks.sweep_outbox")[already:].count("0") >= count, timeout,
                 f"{count} more outbox sweeps that find nothing to send")

    def mails_to(self, address: str) -> list[str]:
        """Delivered messages (one file per connection; send_mail opens one per message) addressed to ``address``."""
        found = []
        for path in self.mail_dir.glob("*.log"):
            text = path.read_text(errors="replace")
            found += [m for m in text.split("-" * 79) if f"To: {address}" in m]
        return found


@contextmanager
def celery_publishing_to(url: str):
    """Make this process (the test, and the live server's thread) publish tasks
    to ``url`` while the block runs; the app caches its connection pools."""
    def point(broker_url: str, options: dict) -> None:
        celery_app.conf.broker_url = broker_url
        celery_app.conf.broker_transport_options = options
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    saved = (celery_app.conf.broker_url, dict(celery_app.conf.broker_transport_options or {}))
    point(url, {"visibility_timeout": 3600})
    try:
        yield
    finally:
        point(*saved)
