"""Fixtures of the SLA tests: a settable clock and the cast as a dict."""
from datetime import datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from disputes.workflow.actors import CUSTOMER

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """An instant in Shanghai time: at("2026-11-23 10:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def set(self, text_or_instant) -> datetime:
        self.now = at(text_or_instant) if isinstance(text_or_instant, str) else text_or_instant
        return self.now


def sweep_as_of(when) -> None:
    """``manage.py sla_sweep --now when`` (Shanghai time or an instant), run at
    that time: the command refuses a time to come, so the outside world's clock
    reads ``when`` while it runs (and what it read before afterwards)."""
    instant = at(when) if isinstance(when, str) else when
    with mock.patch.object(timezone, "now", lambda: instant):
        call_command("sla_sweep", now=instant.isoformat())


@pytest.fixture
def clock():
    """The services' ``timezone.now()`` reads this clock (the outside world's time, set by the test)."""
    fixed = Clock(at("2026-11-23 10:00"))  # a Monday, no holiday that week
    with mock.patch.object(timezone, "now", lambda: fixed.now):
        yield fixed


@pytest.fixture
def cast(alice, bob, carol, dave, erin, mallory, system):
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin,
            "mallory": mallory, "system": system, "customer": CUSTOMER}
