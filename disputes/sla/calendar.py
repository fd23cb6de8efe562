"""The business calendar: which days are working days, and business time.

A working day runs from ``work_starts`` to ``work_ends`` local time in
``time_zone``. Saturdays and Sundays are days off; public holidays come from the
``holidays`` package (China by default). That package names each swapped day off
after the weekend day it was swapped from ("Day off (substituted from
01/04/2026)"): that weekend day becomes a working day (调休). Overrides entered
in the admin (``disputes.CalendarOverride``) win over both.

The arithmetic works day by day on a per-year cache of the day kinds, never
minute by minute: adding 30 working days touches about 45 dates.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

ZERO = timedelta(0)
# How far ahead/back the day-by-day walk may go before we call the calendar broken
# (e.g. an admin marked every day of a year as a day off).
MAX_DAYS_WALKED = 3 * 366

_SUBSTITUTED_FROM = re.compile(r"substituted from (\d{1,2})/(\d{1,2})/(\d{4})")


@lru_cache(maxsize=64)
def public_holidays(country: str, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, weekend days that are working days) for ``country`` in ``year``.

    Cached per year: the ``holidays`` package data is static for a process."""
    if not country:
        return frozenset(), frozenset()
    table = holidays_lib.country_holidays(country, years=[year - 1, year, year + 1], language="en_US")
    days_off = frozenset(d for d in table if d.year == year)
    working = set()
    for names in table.values():
        for name in names.split("; "):
            match = _SUBSTITUTED_FROM.search(name)
            if match is None:
                continue
            month, day, yr = (int(g) for g in match.groups())  # en_US: MM/DD/YYYY
            swapped = date(yr, month, day)
            if swapped.weekday() < 5 and month <= 12 and day <= 12:
                alternative = date(yr, day, month)  # read as DD/MM if that is the weekend day
                if alternative.weekday() >= 5:
                    swapped = alternative
            if swapped.year == year and swapped.weekday() >= 5:
                working.add(swapped)
    return days_off, frozenset(working - days_off)


@dataclass
class BusinessCalendar:
    time_zone: str = "Asia/Shanghai"
    work_starts: time = time(9, 0)
    work_ends: time = time(17, 30)
    country: str = "CN"
    # date -> True (a working day) / False (a day off); loaded per year on demand.
    overrides_loader: object = None
    _overrides: dict[int, dict[date, bool]] = field(default_factory=dict, repr=False)
    _day_kinds: dict[date, bool] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.work_ends <= self.work_starts:
            raise ValueError("A working day must end after it starts.")
        self.tz = ZoneInfo(self.time_zone)

    # --- days --------------------------------------------------------------------

    def _year_overrides(self, year: int) -> dict[date, bool]:
        if year not in self._overrides:
            self._overrides[year] = dict(self.overrides_loader(year)) if self.overrides_loader else {}
        return self._overrides[year]

    def is_working_day(self, day: date) -> bool:
        kind = self._day_kinds.get(day)
        if kind is None:
            override = self._year_overrides(day.year).get(day)
            if override is not None:
                kind = override
            else:
                days_off, extra_working = public_holidays(self.country, day.year)
                if day in extra_working:
                    kind = True
                elif day in days_off:
                    kind = False
                else:
                    kind = day.weekday() < 5
            self._day_kinds[day] = kind
        return kind

    # Arithmetic is done in UTC: Python subtracts two times of one zone by their wall
    # clocks, which would miscount a day when daylight saving time starts or ends.
    def _opens(self, day: date) -> datetime:
        return datetime.combine(day, self.work_starts, tzinfo=self.tz).astimezone(UTC)

    def _closes(self, day: date) -> datetime:
        return datetime.combine(day, self.work_ends, tzinfo=self.tz).astimezone(UTC)

    def working_hours(self, day: date) -> timedelta:
        """Business time in ``day`` (0 on a day off); real elapsed time, so a DST day counts right."""
        return self._closes(day) - self._opens(day) if self.is_working_day(day) else ZERO

    @property
    def working_day(self) -> timedelta:
        """The business time of one ordinary working day (what "one business day" means)."""
        return datetime.combine(date(2001, 1, 1), self.work_ends) - datetime.combine(date(2001, 1, 1), self.work_starts)

    def local(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise ValueError("Business time needs an aware datetime.")
        return instant.astimezone(self.tz)

    # --- business time -------------------------------------------------------------

    def add(self, instant: datetime, amount: timedelta) -> datetime:
        """The instant ``amount`` of business time after ``instant``.

        Adding zero from outside working hours gives ``instant`` itself; a positive
        amount that ends exactly at closing time ends there, not the next morning."""
        if amount < ZERO:
            raise ValueError("Business time to add must not be negative.")
        if amount == ZERO:
            return instant
        current = instant.astimezone(UTC)
        day = self.local(instant).date()
        for _ in range(MAX_DAYS_WALKED):
            if self.is_working_day(day):
                start = max(current, self._opens(day))
                end = self._closes(day)
                if start < end:
                    available = end - start
                    if amount <= available:
                        return (start + amount).astimezone(instant.tzinfo)
                    amount -= available
            day += timedelta(days=1)
            current = self._opens(day)
        raise ValueError("No working day found: check the calendar overrides.")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from ``start`` to ``end`` (negative if ``end`` is earlier)."""
        if end < start:
            return -self.between(end, start)
        first, last = start.astimezone(UTC), end.astimezone(UTC)
        total = ZERO
        day, last_day = self.local(start).date(), self.local(end).date()
        if (last_day - day).days > MAX_DAYS_WALKED * 10:
            raise ValueError("Business time over more than thirty years is not supported.")
        while day <= last_day:
            if self.is_working_day(day):
                lo = max(first, self._opens(day))
                hi = min(last, self._closes(day))
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def add_working_days(self, instant: datetime, days: int) -> datetime:
        """``days`` business days after ``instant`` (a business day = one ordinary working day of business time)."""
        return self.add(instant, self.working_day * days)
