"""References, tracking codes, and the customer's look-up on the public tracking page.

A case's reference (DD + filing date + 6 Crockford base32 characters) is public;
its tracking code is shown once to whoever filed and stored only as an HMAC.

The look-up and its limits:

A tracking code is the only secret between a stranger and a complaint, so the
page must not let anyone try codes at will. Failed look-ups are counted in
Django's default cache, per reference and per client address, over a window
(``DISPUTE_TRACKING_FAILURE_WINDOW``, counted from the first look-up). Past either
limit a look-up is refused before anything is checked, so a limited client
learns nothing, not even when it finally types the right code. Successful
look-ups are not counted. Production shares the cache between every web process
(``CACHE_URL=redis://…``); the default per-process memory cache counts per
process only.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core.windows import window_give_back
from disputes.models import Case

logger = logging.getLogger(__name__)

REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
TRACKING_CODE_LENGTH = 10


def random_code(length: int) -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(length))


def new_reference(now: datetime) -> str:
    return f"DD{timezone.localtime(now):%y%m%d}-{random_code(6)}"


def normalize_tracking_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def tracking_code_hash(code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, normalize_tracking_code(code).encode(), hashlib.sha256).hexdigest()


def tracking_code_matches(case: Case, code: str) -> bool:
    return hmac.compare_digest(case.tracking_code_hash, tracking_code_hash(code))

def case_for_tracking(*, reference: str, tracking_code: str) -> Case | None:
    """The case when ``reference`` and ``tracking_code`` belong together, else None.

    An unknown reference costs the same HMAC comparison as a wrong code, and
    both answer None: the caller cannot tell which of the two was wrong."""
    reference = "".join((reference or "").split()).upper()
    case = Case.objects.select_related("customer", "card", "verification").filter(reference=reference).first() if reference else None
    if case is None:
        hmac.compare_digest("0" * 64, tracking_code_hash(tracking_code or ""))
        return None
    return case if tracking_code_matches(case, tracking_code or "") else None

_PREFIX = "tracking-failures"


class TrackingLookupLimited(Exception):
    """Too many failed look-ups for this reference or from this address."""

    def __init__(self, retry_after: int):
        super().__init__(f"tracking look-ups limited for {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Counter:
    kind: str
    key: str
    limit: int

    @property
    def until_key(self) -> str:
        return self.key + ":until"


def _digest(value: str) -> str:
    # Cache keys of a fixed shape, whatever the customer typed.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _counters(*, reference: str, client_address: str) -> list[_Counter]:
    reference = "".join((reference or "").split()).upper()  # as selectors.case_for_tracking reads it
    return [
        _Counter("reference", f"{_PREFIX}:reference:{_digest(reference)}",
                 settings.DISPUTE_TRACKING_FAILURES_PER_REFERENCE),
        _Counter("address", f"{_PREFIX}:address:{_digest(client_address or 'unknown')}",
                 settings.DISPUTE_TRACKING_FAILURES_PER_ADDRESS),
    ]


def _window_seconds() -> int:
    return max(1, int(settings.DISPUTE_TRACKING_FAILURE_WINDOW.total_seconds()))


def _retry_after(counters: list[_Counter], now: float) -> int:
    """Seconds until the counters that are past their limit have expired."""
    stored = cache.get_many([counter.until_key for counter in counters])
    return max(max(1, math.ceil(stored.get(counter.until_key, now + _window_seconds()) - now))
               for counter in counters)


def _increment(counter: _Counter, now: float) -> int:
    window = _window_seconds()
    if cache.add(counter.key, 1, timeout=window):
        cache.set(counter.until_key, now + window, timeout=window)
        return 1
    try:
        return cache.incr(counter.key)
    except ValueError:  # expired between add and incr: this attempt starts a new window
        cache.set(counter.key, 1, timeout=window)
        cache.set(counter.until_key, now + window, timeout=window)
        return 1


def _decrement(counter: _Counter) -> None:
    window_give_back(counter.key)


def case_track(*, reference: str, tracking_code: str, client_address: str) -> Case | None:
    """The case when ``reference`` and ``tracking_code`` belong together, else
    None (and the failure is counted).

    Raises TrackingLookupLimited, without checking the code, while this
    reference or this client address has had too many failed look-ups.

    Each look-up takes its place in both counts before the code is checked
    and gives it back when it succeeds or is refused: parallel requests cannot
    slip past the limit between a check and a count."""
    counters = _counters(reference=reference, client_address=client_address)
    now = time.time()
    counts = [_increment(counter, now) for counter in counters]
    exceeded = [counter for counter, count in zip(counters, counts) if count > counter.limit]
    if exceeded:
        for counter in counters:
            _decrement(counter)
        raise TrackingLookupLimited(_retry_after(exceeded, now))
    case = case_for_tracking(reference=reference, tracking_code=tracking_code)
    if case is not None:
        for counter in counters:
            _decrement(counter)
        return case
    for counter, count in zip(counters, counts):
        if count == counter.limit:
            logger.warning("tracking look-ups limited: %s failed look-ups for one %s (key %s)",
                           count, counter.kind, counter.key)
    return None
