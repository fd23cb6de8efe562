"""The production stack of the benchmarks: gunicorn and a Celery worker on a
scratch database, Redis as broker and cache, DEBUG off; their peak memory.

    with Stack(database_url, web=True, worker=True) as stack:
        stack.port                      # gunicorn on 127.0.0.1
        stack.send("disputes.tasks.sla_sweep")
        stack.wait_task("disputes.tasks.sla_sweep")   # its own duration, from the worker's log
        stack.web_peak_mb(), stack.worker_peak_mb()
        stack.cpu_seconds()             # CPU used so far by the web, the worker and PostgreSQL
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
STATIC_ROOT = REPO / "var" / "bench" / "static"  # collected once: DEBUG off serves the manifest's files
WEB_WORKERS, WEB_THREADS, WORKER_CONCURRENCY = 3, 4, 2
SUCCEEDED = re.compile(r"Task (?P<name>[\w.]+)\[(?P<id>[\w-]+)\] succeeded in (?P<seconds>[\d.]+)s: (?P<result>.*)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(database_url: str, var_dir: Path, *, settings: str = "bench.noop_settings") -> dict:
    """The production settings (DEBUG off, Redis) on the bench's own database and var/ folder."""
    return {
        **os.environ, "DATABASE_URL": database_url, "DJANGO_DEBUG": "false", "DJANGO_SETTINGS_MODULE": settings,
        "PYTHONPATH": str(REPO), "DJANGO_SECRET_KEY": "bench-only-not-a-secret", "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DISPUTE_API_THROTTLE_RATE": "1000000/min", "LOG_LEVEL": "WARNING", "DISPUTE_DESK_VAR_DIR": str(var_dir),
        "CELERY_BROKER_URL": REDIS_URL, "CACHE_URL": REDIS_URL, "EMAIL_URL": "dummymail://",
        "DJANGO_LANGUAGE_CODE": "en", "DJANGO_STATIC_ROOT": str(STATIC_ROOT),
    }


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, str(REPO / "manage.py"), *args], env=env, cwd=REPO,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _family(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        fields = _status(int(status.parent.name))
        if "PPid" in fields:
            children.setdefault(int(fields["PPid"]), []).append(int(status.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def peak_mb(pid: int, *, children_only: bool = False) -> float:
    """The largest peak resident set (VmHWM) among ``pid`` and its descendants, in MB."""
    pids = _family(pid)[1:] if children_only else _family(pid)
    peaks = [int(_status(p)["VmHWM"].split()[0]) / 1024 for p in pids if "VmHWM" in _status(p)]
    return round(max(peaks, default=0.0), 1)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used by ``pid`` and its descendants, those that
    ended included (a parent's ``cutime``/``cstime`` holds its reaped children's),
    in seconds: a sum that only grows, so two readings bracket a phase."""
    ticks = 0
    for member in _family(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile: now in its parent's cutime
        ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def postmaster_pid(database_url: str) -> int:
    """The PostgreSQL server's main process: the parent of a connection's backend."""
    import psycopg2

    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    conn.close()
    return int(_status(backend)["PPid"])


def purge_queue() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).delete("celery")


def queue_length() -> int:
    import redis

    return redis.Redis.from_url(REDIS_URL).llen("celery")


class Stack:
    def __init__(self, database_url: str, *, web: bool = True, worker: bool = False, name: str = "bench"):
        self.database_url, self.want_web, self.want_worker = database_url, web, worker
        self.var_dir = Path(tempfile.mkdtemp(prefix=f"hb-{name}-"))
        self.env = environment(database_url, self.var_dir)
        self.log_path = self.var_dir / "worker.log"
        self.web = self.worker = None
        self.port = 0
        self._log_offset = 0

    def __enter__(self) -> Self:
        purge_queue()
        if self.want_web:
            if not (STATIC_ROOT / "staticfiles.json").exists():
                self.manage("collectstatic", "--noinput", "-v", "0")
            self.port = free_port()
            self.web = subprocess.Popen(
                [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", str(WEB_WORKERS),
                 "--threads", str(WEB_THREADS), "--log-level", "warning", "--no-control-socket"],
                env=self.env, cwd=REPO)
            self._wait_port()
        if self.want_worker:
            self.worker = subprocess.Popen(
                [str(BIN / "celery"), "-A", "config", "worker", "--loglevel", "INFO", "--concurrency",
                 str(WORKER_CONCURRENCY), "--hostname", f"bench-{os.getpid()}@%h", "--without-gossip",
                 "--without-mingle", "--without-heartbeat"],
                env=self.env, cwd=REPO, stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT)
            self._wait_log("ready.", timeout=60)
        return self

    def __exit__(self, *exc) -> None:
        for process in (self.web, self.worker):
            if process and process.poll() is None:
                process.terminate()
        for process in (self.web, self.worker):
            if process:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        purge_queue()
        if exc[0] is None:  # kept after a failure: the worker's log is there
            shutil.rmtree(self.var_dir, ignore_errors=True)

    def _wait_port(self) -> None:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def _wait_log(self, needle: str, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_path.read_text(errors="replace"):
                return
            if self.worker.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"the Celery worker did not say {needle!r}:\n{self.log_path.read_text()[-3000:]}")

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)

    def send(self, task: str, *args, also: bool = False) -> str:
        """Queue ``task`` as the web would: a message on the Redis broker. ``also``:
        sent with the one before it (their results are looked for from the same place
        in the worker's log)."""
        from celery import Celery

        if not also:
            self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        app = Celery(broker=REDIS_URL)
        try:
            return app.send_task(task, args=list(args)).id
        finally:
            app.close()

    def wait_task(self, task_id: str, *, timeout: float = 3600) -> tuple[float, str]:
        """The task's own duration and its result, as the worker logged them on success."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                log.seek(self._log_offset)
                for line in log:
                    found = SUCCEEDED.search(line)
                    if found and found["id"] == task_id:
                        return float(found["seconds"]), found["result"]
                    if task_id in line and ("raised" in line or "failed" in line.lower()):
                        raise RuntimeError(f"task {task_id} failed: {line}{log.read()[:3000]}")
            if self.worker.poll() is not None:
                raise RuntimeError(f"the Celery worker died:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"task {task_id} did not finish in {timeout} s")

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by gunicorn, the Celery worker and the PostgreSQL
        server (every database of it: run nothing else meanwhile)."""
        database = postmaster_pid(self.database_url)
        return {"web": cpu_seconds(self.web.pid) if self.web else 0.0,
                "worker": cpu_seconds(self.worker.pid) if self.worker else 0.0,
                "database": cpu_seconds(database)}

    def wait_worker_idle(self, *, timeout: float = 120) -> None:
        """Until the queue is empty and the worker's CPU stands still (the tasks it
        had taken are done): the work a phase queued is then in its CPU time."""
        if not self.worker:
            return
        deadline, last, still = time.monotonic() + timeout, cpu_seconds(self.worker.pid), 0
        while time.monotonic() < deadline and still < 3:
            time.sleep(0.3)
            now = cpu_seconds(self.worker.pid)
            still = still + 1 if queue_length() == 0 and now - last < 0.02 else 0
            last = now

    def web_peak_mb(self) -> float:
        return peak_mb(self.web.pid, children_only=True) if self.web else 0.0

    def worker_peak_mb(self) -> float:
        return peak_mb(self.worker.pid) if self.worker else 0.0
