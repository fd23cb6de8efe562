"""A first look at each line while ``COPY`` streams the file (PostgreSQL).

The row checks in SQL cost several times the ``COPY`` itself (about 13 s a
million ledger rows against 2.5 s; docs/performance.md, "Transaction
records"). Most lines of a bank's file are plain: no quotes, every value in its
usual shape. ``Prescreen`` reads the bytes on their way to ``COPY`` and decides
for each line, with one regular expression built from the file's rules and the
few comparisons a regular expression cannot make, whether the row is
*certainly good*: one in which the full SQL check (``checks._sql_check``) finds
nothing. Only the other lines, the suspects, are checked in SQL. This runs in
the importing process while PostgreSQL parses and stores the rows, so on a
machine with two cores it adds little to the ``COPY``.

A piece of the file is first matched whole, all its lines at once, against a
stricter pattern: the common lines only (a currency of two decimal places, a
day from the 1st to the 28th, neither recent nor near the earliest allowed),
which need no comparison after the match. Only a piece in which that fails is
read line by line: in a plain file, about a third of the time.

It gives up (``suspects`` is then ``None``, and every row is checked in SQL as
before) when a line number could stop naming its staged row (a quote, since a
quoted field may hold a line break; a blank line; bytes that are not UTF-8),
when more than ``MAX_SUSPECTS`` lines are suspect, at a line longer than
``MAX_LINE_BYTES`` (its memory stays small whatever the file), and when ``COPY`` staged
another number of rows than it saw lines (``run._stage``). It stays out of
the card-number scan, which runs on every row (``staging._refuse_card_numbers``),
and of ids repeated or imported before. A test holds it to never pass a row in
which the full check finds a problem.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

from core import slip
from core.money import CURRENCY_MINOR_UNITS, MAX_AMOUNT
from transactions.importing.rules import (
    AMOUNT_MAX_INTEGER_DIGITS,
    TIME_WITH_OFFSET,
    Column,
    FileFormat,
)

# Beyond this many suspect lines, checking them one by one is no saving: the
# SQL check then reads every row (and the list stays small in memory).
MAX_SUSPECTS = 100_000
# Far longer than any plain line (a ledger line holds at most about 600 bytes).
MAX_LINE_BYTES = 1 << 16
_FIELD_END = r',"\x00-\x1f\x7f'  # what an unquoted value of a plain line never holds
# Each amount's fraction is held to its currency's minor units after the match.
_MAX_PLACES = max(CURRENCY_MINOR_UNITS.values())
# The currencies with fewer minor units than the pattern lets through.
_FEWER_PLACES = {code: places for code, places in CURRENCY_MINOR_UNITS.items() if places < _MAX_PLACES}
# True when every amount of the pattern's shape is at most MAX_AMOUNT (999999999999.99 is).
_ANY_AMOUNT_FITS = MAX_AMOUNT >= 10 ** AMOUNT_MAX_INTEGER_DIGITS - Decimal(1).scaleb(-_MAX_PLACES)
# A time on this day or later (UTC offsets reach 14 hours) is checked against the
# latest time allowed; an earlier one cannot be in the future.
_RECENT = timedelta(days=2)
# A time on this day or after is past the earliest time allowed, whatever its offset.
_EARLIEST_DAY = (slip.EARLIEST_TRANSACTION_TIME + timedelta(days=1)).date().isoformat()


def _value_pattern(column: Column, *, before: str | None = None) -> str:
    """What a certainly good value of ``column`` looks like, unquoted; a named group
    when the line's later comparisons need it (amount, currency, time).

    With ``before`` (a day, ``YYYY-MM-DD``): only the common values, which need no
    comparison after the match: a currency of the most minor units, a time on a
    day from the 1st to the 28th of its month, from ``_EARLIEST_DAY`` and before ``before``."""
    rule = column.rule
    if before is not None and rule == "currency":
        return f"(?:{_one_of(code for code in CURRENCY_MINOR_UNITS if code not in _FEWER_PLACES)})"
    if before is not None and rule == "time":
        day_of_month = r"[0-9]{4}-[0-9]{2}-(?:0[1-9]|1[0-9]|2[0-8])"
        return f"(?={_days_before(before)})(?!{_days_before(_EARLIEST_DAY)})(?={day_of_month}){TIME_WITH_OFFSET}"
    if rule == "id":
        # Printable ASCII without spaces (rules.ID_SHAPE), less what would end the field.
        return rf"[!#-+\--~]{{1,{column.max_length}}}"
    if rule == "text":
        return f"[^{_FIELD_END}]{{{1 if column.required else 0},{column.max_length}}}"
    if rule == "slip":
        shape = f"[{column.charset}]{{{column.length}}}"
        return shape if column.required else f"(?:{shape})?"
    if rule == "currency":
        return f"(?P<currency>{_one_of(CURRENCY_MINOR_UNITS)})"
    if rule == "choice":
        return f"(?:{_one_of(column.choices)})"
    if rule == "amount":
        # A digit from 1 to 9 somewhere (greater than zero), at most the integer digits allowed
        # after leading zeros, and a fraction no longer than any currency's.
        return rf"(?P<amount>(?=[0-9.]*[1-9])0*[0-9]{{1,{AMOUNT_MAX_INTEGER_DIGITS}}}(?:\.[0-9]{{1,{_MAX_PLACES}}})?)"
    if rule == "time":
        return f"(?P<time>{TIME_WITH_OFFSET})"
    raise ValueError(f"no pattern for the rule {rule!r}")


def _one_of(values) -> str:
    """Any of ``values``, each matched as written."""
    return "|".join(map(re.escape, values))


def line_pattern(fmt: FileFormat) -> re.Pattern:
    """The whole line, each value certainly good, ``\\r\\n`` or ``\\n`` line ends
    alike; its groups ``amount``, ``currency`` and ``time`` (one column each)."""
    return re.compile(",".join(_value_pattern(column) for column in fmt.rules) + r"\r?")


def common_lines_pattern(fmt: FileFormat, before: str) -> re.Pattern | None:
    """Any number of whole lines, each ending in ``\\n``, each a line of
    ``line_pattern`` that needs no comparison after the match: its time on a
    day before ``before``; ``None`` when every line needs one."""
    if not _ANY_AMOUNT_FITS:
        return None
    line = ",".join(_value_pattern(column, before=before) for column in fmt.rules)
    return re.compile(rf"(?:{line}\r?\n)*+")


def _days_before(day: str) -> str:
    """The ISO days (``YYYY-MM-DD``) that come before ``day``, compared as text:
    its first few digits, then a smaller one, then any."""
    digits = day.replace("-", "")
    options = []
    for place, digit in enumerate(digits):
        if digit != "0":
            shape = [*digits[:place], f"[0-{int(digit) - 1}]", *["[0-9]"] * (len(digits) - place - 1)]
            options.append("".join(shape[:4]) + "-" + "".join(shape[4:6]) + "-" + "".join(shape[6:]))
    return f"(?:{'|'.join(options)})" if options else "(?!)"


class Prescreen:
    """Fed the file's bytes after its header, in pieces of any size; ``finish``
    after the last. Then ``lines`` is the number of lines seen and ``suspects``
    the numbers (the header is line 1) of those that are not certainly good,
    or ``None`` when it gave up."""

    def __init__(self, fmt: FileFormat, now: datetime):
        self._match = line_pattern(fmt).fullmatch
        self._latest = now + slip.TRANSACTION_CLOCK_SKEW
        self._recent_day = (self._latest - _RECENT).date().isoformat()
        common = common_lines_pattern(fmt, self._recent_day)
        self._common = common.fullmatch if common is not None else None
        self._rest = b""
        self.lines = 0
        self.suspects: list[int] | None = []

    def feed(self, data: bytes) -> None:
        if self.suspects is None:
            return
        data = self._rest + data
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        if len(self._rest) > MAX_LINE_BYTES:
            self.give_up()  # no plain line is that long: not worth holding in memory
            self._rest = b""
            return
        if cut:
            self._screen(data[:cut])

    def finish(self) -> None:
        if self._rest and self.suspects is not None:
            self._screen(self._rest + b"\n")  # a last line without its line break
        self._rest = b""

    def give_up(self) -> None:
        self.suspects = None

    def _screen(self, block: bytes) -> None:
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            self.give_up()
            return
        if '"' in text:
            self.give_up()
            return
        if self._common is not None and self._common(text):
            self.lines += text.count("\n")  # every line certainly good
            return
        lines = text.split("\n")
        lines.pop()  # what follows the block's last line break: nothing
        match, suspects, number = self._match, self.suspects, self.lines
        latest, recent_day = self._latest, self._recent_day
        for line in lines:
            number += 1
            found = match(line)
            if found is not None:
                amount, currency, moment = found.group("amount", "currency", "time")
                day = moment[:10]
                if day >= _EARLIEST_DAY and (
                        currency not in _FEWER_PLACES or _places(amount) <= _FEWER_PLACES[currency]):
                    if moment[8:10] <= "28" and day < recent_day and _ANY_AMOUNT_FITS:
                        continue  # the common case, settled without a call
                    if _certainly_good_after_all(amount, moment, latest):
                        continue
            elif line in ("", "\r"):
                self.give_up()  # COPY refuses a blank line; so does the line count
                return
            suspects.append(number + 1)
            if len(suspects) > MAX_SUSPECTS:
                self.give_up()
                return
        self.lines = number


def _certainly_good_after_all(amount: str, moment: str, latest: datetime) -> bool:
    """The comparisons a line's pattern cannot make, for the lines that need them:
    the day exists in its month, the time is not after ``latest``, the amount is
    at most ``MAX_AMOUNT``."""
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return False  # 31 April, 29 February of a common year
    if parsed > latest:
        return False
    return _ANY_AMOUNT_FITS or Decimal(amount) <= MAX_AMOUNT


def _places(amount: str) -> int:
    point = amount.find(".")
    return 0 if point < 0 else len(amount) - point - 1
