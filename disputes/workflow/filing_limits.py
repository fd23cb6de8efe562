"""How many complaints a stranger may file through the public form.

The form needs no account, and each complaint e-mails the address typed into
it: without a limit, anyone could have the bank send its "we have your
complaint" e-mail to someone else's inbox a thousand times, and fill the
staff's queue with it. Filings are counted per client address (an hour) and
per e-mail address (a day), in fixed windows of Django's default cache
(``core.windows``; production shares it between web processes). A filing
past either limit is refused before anything is written. When the cache
cannot be reached the form still files (a warning is logged): a Redis outage
must not stop customers complaining.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from core.windows import window_count, window_give_back, window_of

logger = logging.getLogger(__name__)

_HOUR, _DAY = 3600, 86400


class FilingLimited(Exception):
    """Too many complaints from this client address, or for this e-mail address."""

    def __init__(self, retry_after: int):
        super().__init__(f"public filings limited for {retry_after} s")
        self.retry_after = retry_after


def _key(kind: str, value: str, window: int) -> str:
    # Cache keys of a fixed shape that name no address or e-mail in clear.
    return f"public-filings:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}:{window}"


@contextmanager
def public_filing_counted(*, client_address: str, email: str) -> Iterator[None]:
    """Count one public filing from ``client_address`` for ``email`` (empty: none
    given), or raise ``FilingLimited`` when either is past its limit. A filing
    that fails inside the block is given back."""
    counters = [("address", client_address or "unknown", _HOUR, settings.DISPUTE_PUBLIC_FILINGS_PER_ADDRESS)]
    if email:
        counters.append(("email", email.strip().lower(), _DAY, settings.DISPUTE_PUBLIC_FILINGS_PER_EMAIL))
    counted: list[str] = []
    past: list[int] = []
    try:
        for kind, value, seconds, limit in counters:
            window, ends_in = window_of(seconds)
            key = _key(kind, value, window)
            count = window_count(key, ttl=2 * seconds)
            counted.append(key)
            if count > limit:
                past.append(ends_in)
    except Exception:  # noqa: BLE001 - the cache is out of reach: file, and say so
        logger.warning("public filing limits not counted: the cache is out of reach", exc_info=True)
        counted, past = [], []
    if past:
        _give_back(counted)
        raise FilingLimited(max(past))
    try:
        yield
    except BaseException:
        _give_back(counted)
        raise


def _give_back(keys: list[str]) -> None:
    for key in keys:
        try:
            window_give_back(key)
        except Exception:  # noqa: BLE001 - the cache went away meanwhile: the count stays
            logger.warning("public filing count not given back", exc_info=True)
