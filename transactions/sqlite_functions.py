"""SQLite (the embedded demo): the two functions PostgreSQL has built in that
the matching SQL needs, ``dd_epoch_us`` (``extract(epoch …)`` in
microseconds) and ``dd_local_day`` (``AT TIME ZONE`` … ``date``).

Kept apart from ``transactions.matching``: mutation testing covers the rules
as PostgreSQL runs them; this demo path is pinned by
tests/transactions/test_sqlite_demo.py (the same results as PostgreSQL on the
samples)."""
from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt_timezone.utc)


def epoch_us(value: str | None) -> int | None:
    return None if value is None else (_moment(value) - EPOCH) // timedelta(microseconds=1)


def local_day(value: str | None, zone: str) -> str | None:
    return None if value is None else _moment(value).astimezone(ZoneInfo(zone)).date().isoformat()


def install(connection) -> None:
    """Give ``connection`` the two functions if it is SQLite's (nothing to do on PostgreSQL)."""
    if connection.vendor != "sqlite":
        return
    connection.ensure_connection()
    raw = connection.connection
    raw.create_function("dd_epoch_us", 1, epoch_us, deterministic=True)
    raw.create_function("dd_local_day", 2, local_day, deterministic=True)
