"""One process of the throttle's load test (tests/api/test_throttle_under_load.py):
``THREADS`` threads ask the API's throttle, as many requests with one token at
once would, until each has asked ``PER_THREAD`` times; prints how many were let
through. Run as ``python -m tests.api.throttle_load THREADS PER_THREAD TOKEN``
with CACHE_URL naming the shared Redis and DISPUTE_API_THROTTLE_RATE the limit."""
from __future__ import annotations

import os
import sys
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework.request import ForcedAuthentication, Request  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402

from disputes.api.throttling import TokenRateThrottle  # noqa: E402


def main(threads: int, per_thread: int, token_key: str) -> int:
    user, token = User(pk=1, username="dave"), Token(key=token_key)
    factory = APIRequestFactory()
    start = threading.Barrier(threads)
    allowed = [0] * threads

    def ask(index: int) -> None:
        start.wait()
        for _ in range(per_thread):
            request = Request(factory.get("/api/v1/cases/"), authenticators=[ForcedAuthentication(user, token)])
            if TokenRateThrottle().allow_request(request, view=None):  # a new throttle per request, as in DRF
                allowed[index] += 1

    workers = [threading.Thread(target=ask, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(allowed)


if __name__ == "__main__":
    print(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
