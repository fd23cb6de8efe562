"""Counters per fixed window of time, in Django's default cache: how many times
something happened this minute, this hour or this day, for one key.

Each count is a single atomic increment in the cache (``add`` is SET NX with
expiry, ``incr`` is INCR): with Redis (``CACHE_URL=redis://…``) one counter is
shared by every thread, process and host, so a limit holds however many
requests arrive at once."""
from __future__ import annotations

import math
import time

from django.core.cache import cache


def window_count(key: str, *, ttl: int) -> int:
    """Add one to the counter ``key`` (made, at 0, with time to live ``ttl``
    seconds if missing) and return its new value."""
    for _attempt in range(3):
        cache.add(key, 0, timeout=ttl)
        try:
            return cache.incr(key)
        except ValueError:  # evicted between the two steps: make it again
            continue
    raise RuntimeError(f"the cache keeps no counter {key!r}")


def window_give_back(key: str) -> None:
    """Take back one count of ``key`` (what was counted did not happen after all)."""
    try:
        cache.decr(key)
    except ValueError:  # the window has ended meanwhile: nothing to give back
        pass


def window_of(seconds: int, now: float | None = None) -> tuple[int, int]:
    """The number of the fixed window of ``seconds`` that holds ``now``, and the
    seconds until it ends (at least 1)."""
    now = time.time() if now is None else now
    window = int(now // seconds)
    return window, max(1, math.ceil((window + 1) * seconds - now))
