"""The throttle holds under parallel requests: 2 processes of 8 threads each,
one token, a shared Redis (database 12, which no other test uses). Counting
is one atomic INCR per request, so exactly the allowance gets through; the
issue's bar is within 1 %."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

from disputes.api.throttling import token_digest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_THROTTLE_REDIS_URL", "redis://127.0.0.1:6379/12")
LIMIT = 400
PROCESSES, THREADS, PER_THREAD = 2, 8, 50  # 800 requests for an allowance of 400


def _wait_unless_the_hour_is_about_to_turn() -> None:
    """The windows are fixed hours here: a run across xx:00 would see two allowances."""
    left = 3600 - time.time() % 3600
    if left < 30:
        time.sleep(left + 1)


@pytest.mark.slow
def test_two_processes_of_eight_threads_get_the_allowance_within_one_percent():
    server = redis.Redis.from_url(REDIS_URL)
    token = uuid.uuid4().hex  # this run's own counter: others may share the database
    pattern = f"*throttle_token_token:{token_digest(token)}:*"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CACHE_URL": REDIS_URL,
        "DISPUTE_API_THROTTLE_RATE": f"{LIMIT}/hour",
        "PYTHONPATH": str(ROOT),
    }
    _wait_unless_the_hour_is_about_to_turn()
    try:
        runs = [subprocess.Popen([sys.executable, "-m", "tests.api.throttle_load", str(THREADS), str(PER_THREAD),
                                  token], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(PROCESSES)]
        outputs = [run.communicate(timeout=120) for run in runs]
        for run, (out, err) in zip(runs, outputs):
            assert run.returncode == 0, err[-3000:]

        allowed = sum(int(out.split()[-1]) for out, _err in outputs)

        assert abs(allowed - LIMIT) <= LIMIT // 100, allowed
        [key] = server.keys(pattern)
        assert 3600 < server.ttl(key) <= 7200  # the window's counter expires after its window
    finally:
        keys = server.keys(pattern)
        if keys:
            server.delete(*keys)
