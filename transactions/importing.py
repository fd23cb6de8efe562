"""Importing the bank's ledger and settlement files (docs/design.md, "Transaction
records" and "Commands").

    records_import(kind="ledger", file=open("ledger.csv", "rb"), file_name="ledger.csv")

A file is all or nothing: every row is checked (the exact header, the POS slip
field shapes, amounts as plain decimal strings with at most the currency's minor
units, ISO 4217 currencies, ISO 8601 times with an offset, the kind or status,
ids present and unique in the file, and no id already imported with other
values); one bad row and nothing is imported, and the report names each bad
line (the first ``BAD_LINES_SHOWN``, with the count of all). Importing the same
or an overlapping file again imports only what is new: an id already present
with the same values counts as "already present".

Memory stays constant whatever the size of the file. Rows go into a temporary
staging table first, then into the records table in one statement, all in one
transaction:

- on PostgreSQL the file is ``COPY``-ed as it is into the staging table and
  checked there with SQL (``_sql_certainly_good`` passes the good rows,
  ``_sql_check`` names what is wrong with the others). A file that ``COPY``
  cannot read (a wrong number of fields, text that is not UTF-8, a blank
  line...) is read again by Python, which names those lines and copies the
  others. A file bigger than its table goes in without the table's secondary
  indexes, built again after (``_secondary_indexes_dropped``);
- on SQLite (the embedded demo) Python reads and checks every row
  (``_python_check``) and inserts the staging rows in batches.

The two checkers follow one table of rules (``COLUMNS``); a test runs the same
bad files through both. Each import is recorded as an ``ImportRun``.

Progress: ``progress`` (optional) is called with an ``ImportProgress`` now and
then (about every megabyte read, and at each phase), for the command's progress
bar or a task's percentage.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import slip
from core.money import CURRENCY_MINOR_UNITS, MAX_AMOUNT, parse_amount
from transactions.models import (
    LEDGER_COLUMNS,
    SETTLEMENT_COLUMNS,
    ImportRun,
    ImportStatus,
    LedgerEntry,
    LedgerKind,
    RecordKind,
    SettlementRecord,
    SettlementStatus,
)

BAD_LINES_SHOWN = 1000
# How often the progress callback hears about reading (bytes).
PROGRESS_EVERY = 1 << 20
COPY_CHUNK = 1 << 20
MAX_HEADER = 4096
SQLITE_BATCH = 5000
# From this many rows, into a table holding fewer than that, the secondary
# indexes are dropped before the insert and built again after (_insert).
REBUILD_INDEXES_FROM = 100_000
# Serialises imports of one kind on PostgreSQL between the conflict check and the insert.
_ADVISORY_LOCK = 0x74786970  # "txip"

STAGE = "tx_import_stage"
BAD = "tx_import_bad"


# --- the rules ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One CSV column and the rule its values follow.

    ``rule`` is one of: ``id`` (1 to ``max_length`` printable ASCII characters,
    no spaces), ``text`` (up to ``max_length`` characters, no control
    characters), ``slip`` (a POS slip field: ``length`` characters of
    ``charset``, the shape of ``validator``), ``amount``, ``currency``,
    ``time`` and ``choice`` (one of ``choices``).
    """

    name: str
    rule: str
    required: bool = False
    max_length: int = 0
    length: int = 0
    charset: str = ""
    validator: Callable | None = None
    choices: tuple[str, ...] = ()


DIGITS = "0-9"
ALNUM = "0-9A-Za-z"


def _slip(name: str, length: int, charset: str, validator, *, required: bool = False) -> Column:
    return Column(name, "slip", required=required, length=length, charset=charset, validator=validator)


LEDGER_RULES = (
    Column("entry_id", "id", required=True, max_length=32),
    Column("customer_ref", "text", max_length=32),
    _slip("card_last4", 4, DIGITS, slip.validate_last4, required=True),
    Column("amount", "amount", required=True),
    Column("currency", "currency", required=True),
    Column("posted_at", "time", required=True),
    Column("kind", "choice", required=True, choices=tuple(LedgerKind.values)),
    _slip("rrn", 12, DIGITS, slip.validate_rrn),
    _slip("stan", 6, DIGITS, slip.validate_stan),
    _slip("auth_code", 6, ALNUM, slip.validate_auth_code),
    _slip("merchant_id", 15, DIGITS, slip.validate_merchant_id),
    _slip("terminal_id", 8, ALNUM, slip.validate_terminal_id),
)
SETTLEMENT_RULES = (
    Column("record_id", "id", required=True, max_length=32),
    Column("processor", "text", required=True, max_length=100),
    _slip("merchant_id", 15, DIGITS, slip.validate_merchant_id),
    _slip("terminal_id", 8, ALNUM, slip.validate_terminal_id),
    _slip("rrn", 12, DIGITS, slip.validate_rrn),
    _slip("stan", 6, DIGITS, slip.validate_stan),
    _slip("auth_code", 6, ALNUM, slip.validate_auth_code),
    Column("amount", "amount", required=True),
    Column("currency", "currency", required=True),
    Column("transacted_at", "time", required=True),
    Column("status", "choice", required=True, choices=tuple(SettlementStatus.values)),
)


@dataclass(frozen=True)
class FileFormat:
    kind: str
    model: type
    rules: tuple[Column, ...]

    @property
    def columns(self) -> list[str]:
        return [column.name for column in self.rules]

    @property
    def id_column(self) -> str:
        return self.rules[0].name

    @property
    def table(self) -> str:
        return self.model._meta.db_table


FORMATS = {
    RecordKind.LEDGER: FileFormat(RecordKind.LEDGER, LedgerEntry, LEDGER_RULES),
    RecordKind.SETTLEMENT: FileFormat(RecordKind.SETTLEMENT, SettlementRecord, SETTLEMENT_RULES),
}
assert FORMATS[RecordKind.LEDGER].columns == LEDGER_COLUMNS
assert FORMATS[RecordKind.SETTLEMENT].columns == SETTLEMENT_COLUMNS

# Shapes written once for both checkers: Python's ``re`` and PostgreSQL's regular
# expressions read these the same way (ASCII classes only, no shorthand escapes).
ID_SHAPE = r"[!-~]+"
# (NUL is refused before: PostgreSQL text cannot hold it.)
CONTROL_CHARACTER = "[\x01-\x1f\x7f]"
AMOUNT_SHAPE = r"[0-9]+(\.[0-9]+)?"
AMOUNT_MAX_INTEGER_DIGITS = len(str(int(MAX_AMOUNT)))
TIME_WITH_OFFSET = (
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])"
)
# A date, or a date and time, without an offset: refused with its own message.
TIME_WITHOUT_OFFSET = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?"
EARLIEST_YEAR = slip.EARLIEST_TRANSACTION_TIME.year


# --- what the caller gets -------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    field: str
    message: str


@dataclass(frozen=True)
class BadLine:
    line: int
    problems: tuple[Problem, ...]

    def __str__(self) -> str:
        return _("line %(line)s: %(problems)s") % {
            "line": self.line,
            "problems": "; ".join(f"{problem.field}: {problem.message}" if problem.field else problem.message
                                  for problem in self.problems),
        }


@dataclass(frozen=True)
class ImportProgress:
    phase: str  # "reading", "checking", "writing", "done"
    rows_read: int
    bad_rows: int
    bytes_read: int
    bytes_total: int | None

    @property
    def percent(self) -> float | None:
        """Done so far: reading is the first 80 %, checking and writing the rest."""
        if self.phase == "done":
            return 100.0
        if self.phase in ("checking", "writing"):
            return 80.0 if self.phase == "checking" else 90.0
        if not self.bytes_total:
            return None
        return 80.0 * min(self.bytes_read, self.bytes_total) / self.bytes_total


@dataclass(frozen=True)
class ImportReport:
    run_id: int
    kind: str
    file_name: str
    sha256: str
    status: str
    rows_total: int
    rows_imported: int
    rows_already_present: int
    bad_rows: int
    bad_lines: tuple[BadLine, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.status == ImportStatus.SUCCEEDED

    @property
    def bad_lines_not_shown(self) -> int:
        return max(0, self.bad_rows - len(self.bad_lines))


ProgressCallback = Callable[[ImportProgress], None]


# --- reading the file -----------------------------------------------------------------------

class _Reader(io.RawIOBase):
    """A binary file read once, front to back: counts bytes and lines, hashes
    what it reads, and tells the progress callback about every megabyte."""

    def __init__(self, file: BinaryIO, *, on_progress: Callable[["_Reader"], None]):
        super().__init__()
        self.file = file
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0
        self.newlines = 0
        self._on_progress = on_progress
        self._reported_at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.file.read(len(buffer))
        if data:
            buffer[: len(data)] = data
            self.sha256.update(data)
            self.bytes_read += len(data)
            self.newlines += data.count(b"\n")
            if self.bytes_read - self._reported_at >= PROGRESS_EVERY:
                self._reported_at = self.bytes_read
                self._on_progress(self)
        return len(data)

    def text(self) -> io.TextIOWrapper:
        """The rest of the file as text; bytes that are not UTF-8 read as U+FFFD."""
        return io.TextIOWrapper(io.BufferedReader(self, 1 << 16), encoding="utf-8", errors="replace", newline="")


class _EndOfDataMarker(Exception):
    """The file has a line holding only ``\\.``, which COPY would take as its end."""


class _CopySource:
    """What COPY reads: the rest of the file, watching for a ``\\.`` line."""

    def __init__(self, reader: _Reader):
        self.reader = reader
        self._tail = b"\n"  # the header line ended just before

    def read(self, size: int = COPY_CHUNK) -> bytes:
        data = self.reader.read(size)
        window = self._tail + data
        for ending in (b"\n\\.\n", b"\n\\.\r"):
            if ending in window:
                raise _EndOfDataMarker()
        if not data and window.endswith(b"\n\\."):
            raise _EndOfDataMarker()
        self._tail = window[-3:]
        return data


def _file_size(file: BinaryIO) -> int | None:
    try:
        return os.fstat(file.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    try:
        here = file.tell()
        end = file.seek(0, io.SEEK_END)
        file.seek(here)
        return end
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


def _seekable(file: BinaryIO) -> bool:
    try:
        return bool(file.seekable())
    except (AttributeError, ValueError):
        return False


def _header_problem(fmt: FileFormat, header_line: bytes) -> tuple[str, str, str] | None:
    expected = ",".join(fmt.columns)
    text = header_line.decode("utf-8", errors="replace").removeprefix("\ufeff").rstrip("\r\n")
    if not header_line:
        return ("header", "empty", expected)
    if text != expected:
        return ("header", "header", expected)
    return None


def _records(reader: _Reader, width: int) -> Iterator[tuple[int, list[str] | None, str]]:
    """Each record after the header (read already): (its first line, its fields
    or None, a structural problem code). Blank lines hold no record and are skipped."""
    rows = csv.reader(reader.text())
    line_before = 1
    while True:
        try:
            fields = next(rows)
        except StopIteration:
            return
        except csv.Error:
            yield line_before + 1, None, "csv"
            line_before = 1 + rows.line_num
            continue
        first_line, line_before = line_before + 1, 1 + rows.line_num
        if not fields:
            continue
        if len(fields) != width:
            yield first_line, None, "fields:%d" % len(fields)
        elif any("\ufffd" in value for value in fields):
            yield first_line, None, "encoding"
        elif any("\x00" in value for value in fields):
            yield first_line, None, "nul"
        else:
            yield first_line, fields, ""


# --- the Python checker (SQLite, and the reference for the SQL one) -------------------------------

_id_shape = re.compile(ID_SHAPE)
_control = re.compile(CONTROL_CHARACTER)
_amount_shape = re.compile(AMOUNT_SHAPE)
_time_with_offset = re.compile(TIME_WITH_OFFSET)
_time_without_offset = re.compile(TIME_WITHOUT_OFFSET)


def _python_check(rules: tuple[Column, ...], fields: list[str], now: datetime) -> tuple[list[tuple[str, str, str]], dict]:
    """Check one row. Returns its problems [(column, code, detail)] and, when it
    has none, its values as the records table stores them."""
    problems: list[tuple[str, str, str]] = []
    values: dict[str, object] = {}
    row = dict(zip([column.name for column in rules], fields))
    currency = row.get("currency", "")
    for column, value in zip(rules, fields):
        name = column.name
        if value == "":
            if column.required:
                problems.append((name, "missing", ""))
            values[name] = ""
            continue
        if column.rule == "id":
            if len(value) > column.max_length or not _id_shape.fullmatch(value):
                problems.append((name, "id", ""))
        elif column.rule == "text":
            if len(value) > column.max_length or _control.search(value):
                problems.append((name, "text", ""))
        elif column.rule == "slip":
            try:
                column.validator(value)
            except ValidationError:
                problems.append((name, "slip", ""))
        elif column.rule == "currency":
            if value not in CURRENCY_MINOR_UNITS:
                problems.append((name, "currency", ""))
        elif column.rule == "choice":
            if value not in column.choices:
                problems.append((name, "choice", ""))
        elif column.rule == "amount":
            code = _python_amount_problem(value, currency)
            if code:
                problems.append((name, code, currency))
            elif currency in CURRENCY_MINOR_UNITS:
                value = parse_amount(value, currency)
        elif column.rule == "time":
            code, value = _python_time_problem(value, now)
            if code:
                problems.append((name, code, ""))
        values[name] = value
    return problems, values


def _python_amount_problem(value: str, currency: str) -> str:
    if not _amount_shape.fullmatch(value):
        return "invalid"
    whole, _point, fraction = value.partition(".")
    if len(whole.lstrip("0")) > AMOUNT_MAX_INTEGER_DIGITS:
        return "too_large"
    if currency not in CURRENCY_MINOR_UNITS:
        return ""  # the currency column says what is wrong
    try:
        parse_amount(value, currency)
    except ValidationError as error:
        return error.code
    if len(fraction) > CURRENCY_MINOR_UNITS[currency]:
        return "precision"
    return ""


def _python_time_problem(value: str, now: datetime) -> tuple[str, datetime | None]:
    if not _time_with_offset.fullmatch(value):
        return ("naive" if _time_without_offset.fullmatch(value) else "invalid"), None
    if int(value[:4]) < EARLIEST_YEAR:
        return "too_early", None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return "invalid", None  # a day the month does not have
    if moment < slip.EARLIEST_TRANSACTION_TIME:
        return "too_early", None
    if moment > now + slip.TRANSACTION_CLOCK_SKEW:
        return "in_future", None
    return "", moment


# --- the SQL checker (PostgreSQL) --------------------------------------------------------------

def _sql_check(rules: tuple[Column, ...]) -> tuple[str, list[object]]:
    """One SQL expression per column giving 'column:code' for a bad value, or NULL.

    The staging table holds the file's text as it is (NULL for an empty field);
    the CASE branches run in order, so a value is cast only once its shape is known good."""
    expressions, params = [], []
    currencies = list(CURRENCY_MINOR_UNITS)
    places = "CASE currency " + " ".join(
        f"WHEN '{code}' THEN {digits}" for code, digits in CURRENCY_MINOR_UNITS.items()) + " END"
    for column in rules:
        c, name = column.name, column.name
        branches = []
        if column.required:
            branches.append((f"{c} IS NULL OR {c} = ''", "missing"))
        present = f"{c} IS NOT NULL AND {c} <> '' AND "
        if column.rule == "id":
            branches.append((f"{present}(length({c}) > %s OR {c} !~ %s)", "id"))
            params += [column.max_length, f"^{ID_SHAPE}$"]
        elif column.rule == "text":
            branches.append((f"{present}(length({c}) > %s OR {c} ~ %s)", "text"))
            params += [column.max_length, CONTROL_CHARACTER]
        elif column.rule == "slip":
            branches.append((f"{present}(length({c}) <> %s OR {c} !~ %s)", "slip"))
            params += [column.length, f"^[{column.charset}]+$"]
        elif column.rule == "currency":
            branches.append((f"{present}{c} <> ALL(%s)", "currency"))
            params.append(currencies)
        elif column.rule == "choice":
            branches.append((f"{present}{c} <> ALL(%s)", "choice"))
            params.append(list(column.choices))
        elif column.rule == "amount":
            branches += [
                (f"{present}{c} !~ %s", "invalid"),
                (f"{present}length(ltrim(split_part({c}, '.', 1), '0')) > %s", "too_large"),
            ]
            params += [f"^{AMOUNT_SHAPE}$", AMOUNT_MAX_INTEGER_DIGITS]
            known_currency = "currency = ANY(%s) AND "
            branches += [
                (f"{present}{known_currency}{c}::numeric <= 0", "not_positive"),
                (f"{present}{known_currency}{c}::numeric > %s", "too_large"),
                (f"{present}{known_currency}length(split_part({c}, '.', 2)) > {places}", "precision"),
            ]
            params += [currencies, currencies, MAX_AMOUNT, currencies]
        elif column.rule == "time":
            year, month, day = f"substr({c}, 1, 4)::int", f"substr({c}, 6, 2)::int", f"substr({c}, 9, 2)::int"
            branches += [
                (f"{present}{c} ~ %s", "naive"),
                (f"{present}{c} !~ %s", "invalid"),
                (f"{present}{year} < %s", "too_early"),
                (f"{present}{day} > extract(day from make_date({year}, {month}, 1)"
                 f" + interval '1 month' - interval '1 day')", "invalid"),
                (f"{present}{c}::timestamptz < %s", "too_early"),
                (f"{present}{c}::timestamptz > %s", "in_future"),
            ]
            params += [f"^{TIME_WITHOUT_OFFSET}$", f"^{TIME_WITH_OFFSET}$", EARLIEST_YEAR,
                       slip.EARLIEST_TRANSACTION_TIME, "now"]  # "now" is replaced by the caller
        if not branches:
            continue
        cases = " ".join(f"WHEN {condition} THEN '{name}:{code}'" for condition, code in branches)
        expressions.append(f"CASE {cases} END")
    return "ARRAY[" + ", ".join(expressions) + "]", params


def _sql_certainly_good(rules: tuple[Column, ...]) -> tuple[str, list[object]]:
    """A cheaper SQL test, true only for rows in which ``_sql_check`` finds
    nothing wrong: the full check then runs only on the rows it is not true for
    (in a good file, none). Cheaper because it builds no list of problems,
    checks a POS slip's digit columns in one expression, and casts only once
    the shapes are known good (a nested CASE: SQL does not promise the order
    in which AND is evaluated). A test holds it to never pass a bad row."""
    shapes: list[str] = []
    guarded: list[str] = []
    casts: list[str] = []
    params: list[object] = []
    params_casts: list[object] = []
    by_charset: dict[str, list[str]] = {}
    for column in rules:
        c = column.name
        present = f"{c} IS NOT NULL AND {c} <> ''"
        if column.rule == "id":
            shapes.append(f"{present} AND length({c}) <= %s AND {c} ~ %s")
            params += [column.max_length, f"^{ID_SHAPE}$"]
        elif column.rule == "text":
            text = f"length({c}) <= %s AND {c} !~ %s"
            shapes.append(f"({present} AND {text})" if column.required else f"({c} IS NULL OR ({text}))")
            params += [column.max_length, CONTROL_CHARACTER]
        elif column.rule == "slip":
            shapes.append(f"{present} AND length({c}) = %s" if column.required
                          else f"({c} IS NULL OR length({c}) = %s)")
            params.append(column.length)
            by_charset.setdefault(column.charset, []).append(c)
        elif column.rule in ("currency", "choice"):
            shapes.append(f"{c} = ANY(%s)")
            params.append(list(CURRENCY_MINOR_UNITS) if column.rule == "currency" else list(column.choices))
        elif column.rule == "amount":
            places = "CASE currency " + " ".join(
                f"WHEN '{code}' THEN {digits}" for code, digits in CURRENCY_MINOR_UNITS.items()) + " END"
            shapes.append(f"{c} ~ %s AND length(ltrim(split_part({c}, '.', 1), '0')) <= %s"
                          f" AND length(split_part({c}, '.', 2)) <= {places}")
            params += [f"^{AMOUNT_SHAPE}$", AMOUNT_MAX_INTEGER_DIGITS]
            casts.append(f"CAST({c} AS numeric) > 0")
        elif column.rule == "time":
            shapes.append(f"{c} ~ %s AND substr({c}, 1, 4) >= %s")
            params += [f"^{TIME_WITH_OFFSET}$", f"{EARLIEST_YEAR:04d}"]
            guarded.append(f"(substr({c}, 9, 2) <= '28' OR substr({c}, 9, 2)::int <= extract(day from"
                           f" make_date(substr({c}, 1, 4)::int, substr({c}, 6, 2)::int, 1)"
                           f" + interval '1 month' - interval '1 day'))")
            casts.append(f"CAST({c} AS timestamptz) BETWEEN %s AND %s")
            params_casts += [slip.EARLIEST_TRANSACTION_TIME, "now"]
    for charset, names in by_charset.items():
        shapes.append(f"concat({', '.join(names)}) ~ %s")
        params.append(f"^[{charset}]*$")
    sql = (f"CASE WHEN {' AND '.join(shapes)} THEN"
           f" CASE WHEN {' AND '.join(guarded) or 'true'} THEN {' AND '.join(casts) or 'true'} ELSE false END"
           f" ELSE false END")
    return sql, [*params, *params_casts]


# --- messages ------------------------------------------------------------------------------

def _message(fmt: FileFormat, field: str, code: str, detail: str) -> str:
    """What a problem code means, in the active language. Values from the file
    are never echoed (a card number typed into a wrong column stays out of reports)."""
    column = next((c for c in fmt.rules if c.name == field), None)
    if code == "missing":
        return _("This field is required.")
    if code == "id" and column is not None:
        return _("An id has 1 to %(max)s characters: letters, digits or punctuation, no spaces.") % {
            "max": column.max_length}
    if code == "text" and column is not None:
        return _("At most %(max)s characters, without line breaks or other control characters.") % {
            "max": column.max_length}
    if code == "slip" and column is not None:
        return str(column.validator.message)
    if code == "currency":
        return _("Not a currency code this bank handles (ISO 4217, such as CNY).")
    if code == "choice" and column is not None:
        return _("One of: %(choices)s.") % {"choices": ", ".join(column.choices)}
    if field == "amount" or column is not None and column.rule == "amount":
        if code == "invalid":
            return _("Write the amount as a plain decimal number, such as 128.50.")
        if code == "precision":
            return _("%(currency)s amounts have at most %(places)s decimal places.") % {
                "currency": detail, "places": CURRENCY_MINOR_UNITS.get(detail, 2)}
        if code == "not_positive":
            return _("The amount must be greater than zero.")
        if code == "too_large":
            return _("The amount is too large.")
    if column is not None and column.rule == "time":
        if code == "naive":
            return _("The time has no UTC offset: add one, such as +08:00.")
        if code == "invalid":
            return _("Write the time in ISO 8601 with its offset, such as 2026-11-20T14:03:00+08:00.")
        if code == "too_early":
            return _("The time is before 2000-01-01.")
        if code == "in_future":
            return _("The time is in the future.")
    if code == "duplicate":
        return _("The same id as line %(line)s: each id appears once in a file.") % {"line": detail}
    if code == "conflict":
        return _("This id was imported before with other values.")
    if code == "header":
        return _("The first line must be exactly: %(header)s") % {"header": detail}
    if code == "empty":
        return _("The file is empty: its first line must be the header %(header)s") % {"header": detail}
    if code.startswith("fields:"):
        found = int(code.split(":", 1)[1])
        return ngettext("%(expected)s fields expected, %(found)s found.",
                        "%(expected)s fields expected, %(found)s found.", found) % {
            "expected": len(fmt.rules), "found": found}
    if code == "encoding":
        return _("Not UTF-8 text.")
    if code == "nul":
        return _("A NUL character: not text.")
    if code == "csv":
        return _("Not readable as CSV (an unclosed quote, or a field too long).")
    return code


# --- the import ----------------------------------------------------------------------------

class _Failed(Exception):
    """Leaves the import's transaction, rolling it back, with the report."""

    def __init__(self, bad_rows: int, bad_lines: tuple[BadLine, ...], rows_total: int):
        super().__init__()
        self.bad_rows = bad_rows
        self.bad_lines = bad_lines
        self.rows_total = rows_total


@dataclass
class _State:
    fmt: FileFormat
    now: datetime
    progress: ProgressCallback | None
    reader: _Reader | None = None
    rows_read: int = 0
    bad_rows: int = 0
    bytes_total: int | None = None
    pending_bad: list[tuple[int, str, str, str]] = field(default_factory=list)

    def report(self, phase: str) -> None:
        if self.progress is None:
            return
        reader = self.reader
        rows = self.rows_read
        if phase == "reading" and reader is not None and not rows:
            rows = max(0, reader.newlines - 1)
        self.progress(ImportProgress(
            phase=phase, rows_read=rows, bad_rows=self.bad_rows,
            bytes_read=reader.bytes_read if reader else 0, bytes_total=self.bytes_total,
        ))


def records_import(
    *,
    kind: str,
    file: BinaryIO,
    file_name: str,
    user=None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import one ledger or settlement file (``kind``), all or nothing; record the run.

    ``file`` is opened in binary mode; when it can seek, PostgreSQL copies it
    directly. Returns an ``ImportReport``; a file with bad rows is a report with
    status ``failed`` (nothing imported), not an exception."""
    if kind not in FORMATS:
        raise ValueError(f"unknown kind of record file: {kind!r}")
    fmt = FORMATS[kind]
    state = _State(fmt=fmt, now=timezone.now(), progress=progress, bytes_total=_file_size(file))
    run = ImportRun.objects.create(kind=kind, file_name=os.path.basename(file_name)[:255], user=user,
                                   started_at=state.now)
    start = file.tell() if _seekable(file) else None
    imported = 0
    try:
        with transaction.atomic():
            rows_total = _stage(state, file, start)
            state.rows_read = rows_total
            state.report("checking")
            _check(state)
            state.bad_rows = _bad_count()
            if state.bad_rows:
                raise _Failed(state.bad_rows, _bad_lines(fmt), rows_total)
            state.report("writing")
            imported = _insert(fmt, rows_total)
            _drop_temporary_tables()
    except _Failed as failed:
        _drop_temporary_tables_after_rollback()
        run.status = ImportStatus.FAILED
        run.rows_total = failed.rows_total
        run.bad_rows = failed.bad_rows
        run.errors = [{"line": bad.line, "problems": [[p.field, p.message] for p in bad.problems]}
                      for bad in failed.bad_lines]
        bad_lines = failed.bad_lines
    except BaseException:
        _drop_temporary_tables_after_rollback()
        run.status = ImportStatus.FAILED
        run.finished_at = timezone.now()
        run.sha256 = state.reader.sha256.hexdigest() if state.reader else ""
        run.save()
        raise
    else:
        run.status = ImportStatus.SUCCEEDED
        run.rows_total = rows_total
        run.rows_imported = imported
        run.rows_already_present = rows_total - imported
        bad_lines = ()
    run.sha256 = state.reader.sha256.hexdigest() if state.reader else ""
    run.finished_at = timezone.now()
    run.save()
    state.report("done")
    return ImportReport(
        run_id=run.pk, kind=kind, file_name=run.file_name, sha256=run.sha256, status=run.status,
        rows_total=run.rows_total, rows_imported=run.rows_imported,
        rows_already_present=run.rows_already_present, bad_rows=run.bad_rows, bad_lines=bad_lines,
    )


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _new_reader(state: _State, file: BinaryIO) -> _Reader:
    state.reader = _Reader(file, on_progress=lambda _reader: state.report("reading"))
    state.rows_read = 0
    return state.reader


def _stage(state: _State, file: BinaryIO, start: int | None) -> int:
    """Put every row of the file into the staging table (and each unreadable
    line into the table of problems); return the number of rows."""
    fmt = state.fmt
    _create_temporary_tables(fmt)
    reader = _new_reader(state, file)
    header = reader.readline(MAX_HEADER)
    problem = _header_problem(fmt, header)
    if problem:
        _add_bad(state, 1, *problem)
        _flush_bad(state)
        return 0
    if _postgresql() and start is not None:
        try:
            with transaction.atomic():
                return _copy_file(fmt, reader)
        except _EndOfDataMarker:
            pass
        except Exception as error:  # what COPY cannot read: read it again in Python
            if not _copy_refused(error):
                raise
        file.seek(start)
        reader = _new_reader(state, file)
        reader.readline(MAX_HEADER)
    rows = _stage_in_python(state, reader)
    _flush_bad(state)
    return rows


def _copy_refused(error: Exception) -> bool:
    import psycopg2

    cause = error.__cause__ if not isinstance(error, psycopg2.Error) else error
    if isinstance(cause, psycopg2.Error):
        return cause.pgcode in {"22P04", "22021", "22P05", "22026", "54000", "57014"} or cause.pgcode is None
    return "COPY" in str(error) or "read()" in str(error)


def _copy_file(fmt: FileFormat, reader: _Reader) -> int:
    columns = ", ".join(fmt.columns)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {STAGE} ({columns}) FROM STDIN WITH (FORMAT csv, HEADER false, ENCODING 'UTF8')",
            _CopySource(reader), size=COPY_CHUNK,
        )
        return cursor.cursor.rowcount


def _stage_in_python(state: _State, reader: _Reader) -> int:
    """Read the file with Python's csv module: lines it cannot read go to the
    problems; PostgreSQL checks the others after a COPY, SQLite's are checked here."""
    fmt = state.fmt
    width = len(fmt.rules)
    rows = 0
    postgresql = _postgresql()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    batch: list[tuple] = []

    def flush_batch() -> None:
        if not batch:
            return
        if postgresql:
            data = io.BytesIO(buffer.getvalue().encode("utf-8"))
            with connection.cursor() as cursor:
                cursor.cursor.copy_expert(
                    f"COPY {STAGE} (line, {', '.join(fmt.columns)}) FROM STDIN WITH (FORMAT csv)", data)
            buffer.seek(0)
            buffer.truncate()
        else:
            _sqlite_stage_rows(fmt, batch)
        batch.clear()

    for line, fields, structural in _records(reader, width):
        rows += 1
        state.rows_read = rows
        if fields is None:
            _add_bad(state, line, "", structural, "")
            continue
        if postgresql:
            writer.writerow([line, *[value if value != "" else None for value in fields]])
            batch.append(())
        else:
            problems, values = _python_check(fmt.rules, fields, state.now)
            for column, code, detail in problems:
                _add_bad(state, line, column, code, detail)
            batch.append((line, values, bool(problems), fields[0]))
        if len(batch) >= SQLITE_BATCH:
            flush_batch()
            _flush_bad(state)
    flush_batch()
    return rows


def _add_bad(state: _State, line: int, column: str, code: str, detail: str) -> None:
    state.pending_bad.append((line, column, code, detail))
    if len(state.pending_bad) >= SQLITE_BATCH:
        _flush_bad(state)


def _flush_bad(state: _State) -> None:
    if state.pending_bad:
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {BAD} (line, field, code, detail) VALUES (%s, %s, %s, %s)",
                               state.pending_bad)
        state.bad_rows += len({line for line, *_rest in state.pending_bad})
        state.pending_bad.clear()


# --- the staging tables ------------------------------------------------------------------------

def _create_temporary_tables(fmt: FileFormat) -> None:
    _drop_temporary_tables()
    with connection.cursor() as cursor:
        if _postgresql():
            text_columns = ", ".join(f"{name} text" for name in fmt.columns)
            cursor.execute(
                f"CREATE TEMPORARY TABLE {STAGE} (line bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 2),"
                f" {text_columns}) ON COMMIT DROP")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {BAD} (line bigint, field text, code text, detail text) ON COMMIT DROP")
        else:
            typed = ", ".join(f"{name} {_sqlite_type(fmt, name)}" for name in fmt.columns)
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} (line integer, bad integer, {typed})")
            cursor.execute(f"CREATE TEMPORARY TABLE {BAD} (line integer, field text, code text, detail text)")


def _sqlite_type(fmt: FileFormat, name: str) -> str:
    return fmt.model._meta.get_field(name).db_type(connection) or "text"


def _drop_temporary_tables() -> None:
    with connection.cursor() as cursor:
        for table in (STAGE, BAD):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _drop_temporary_tables_after_rollback() -> None:
    """PostgreSQL drops them with the transaction; SQLite keeps temporary tables per connection."""
    if not _postgresql():
        try:
            _drop_temporary_tables()
        except Exception:  # the connection is gone: so are its temporary tables
            pass


def _sqlite_stage_rows(fmt: FileFormat, batch: list[tuple]) -> None:
    ops = connection.ops
    names = fmt.columns
    rows = []
    for line, values, bad, first in batch:
        if bad:
            rows.append((line, 1, first, *[None] * (len(names) - 1)))
            continue
        row = []
        for name in names:
            value = values[name]
            if isinstance(value, datetime):
                value = ops.adapt_datetimefield_value(value)
            elif isinstance(value, Decimal):
                value = ops.adapt_decimalfield_value(value)
            row.append(value)
        rows.append((line, 0, *row))
    placeholders = ", ".join(["%s"] * (len(names) + 2))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {STAGE} (line, bad, {', '.join(names)}) VALUES ({placeholders})", rows)


# --- checking the staged rows --------------------------------------------------------------------

def _check(state: _State) -> None:
    """The row checks (PostgreSQL), then ids repeated within the file, then ids
    already imported with other values: each problem a row of the problems table."""
    fmt = state.fmt
    with connection.cursor() as cursor:
        if _postgresql():
            checks, params = _sql_check(fmt.rules)
            good, good_params = _sql_certainly_good(fmt.rules)
            latest = state.now + slip.TRANSACTION_CLOCK_SKEW
            params = [latest if value == "now" else value for value in [*params, *good_params]]
            cursor.execute(
                f"INSERT INTO {BAD} (line, field, code, detail)"
                f" SELECT line, split_part(problem, ':', 1), split_part(problem, ':', 2), coalesce(currency, '')"
                f" FROM (SELECT line, currency, unnest(problems) AS problem FROM"
                f"  (SELECT line, currency, array_remove({checks}, NULL) AS problems FROM {STAGE}"
                f"   WHERE NOT ({good})) AS checked"
                f"  WHERE cardinality(problems) > 0) AS found",
                params,
            )
        key = fmt.id_column
        cursor.execute(
            f"INSERT INTO {BAD} (line, field, code, detail)"
            f" SELECT s.line, %s, 'duplicate', CAST(f.first_line AS text) FROM {STAGE} s"
            f" JOIN (SELECT {key}, min(line) AS first_line FROM {STAGE} WHERE {key} <> ''"
            f"       GROUP BY {key} HAVING count(*) > 1) f ON f.{key} = s.{key}"
            f" WHERE s.line > f.first_line",
            [key],
        )
        if _postgresql():
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                           [_ADVISORY_LOCK, list(FORMATS).index(fmt.kind)])
        cursor.execute(
            f"INSERT INTO {BAD} (line, field, code, detail)"
            f" SELECT s.line, %s, 'conflict', '' FROM {STAGE} s JOIN {fmt.table} t ON t.{key} = s.{key}"
            f" WHERE {_differs(fmt)}",
            [key],
        )


def _differs(fmt: FileFormat) -> str:
    """True for a staged row, free of problems, whose values differ from the stored row's."""
    if _postgresql():
        comparisons = " OR ".join(f"t.{name} <> {_cast(fmt, name)}" for name in fmt.columns[1:])
        return (f"CASE WHEN EXISTS (SELECT 1 FROM {BAD} b WHERE b.line = s.line) THEN false"
                f" ELSE ({comparisons}) END")
    comparisons = " OR ".join(f"t.{name} IS NOT s.{name}" for name in fmt.columns[1:])
    return f"s.bad = 0 AND ({comparisons})"


def _cast(fmt: FileFormat, name: str) -> str:
    """The staged text of column ``name`` as the records table stores it (PostgreSQL)."""
    rule = next(column.rule for column in fmt.rules if column.name == name)
    if rule == "amount":
        return f"CAST(s.{name} AS numeric)"
    if rule == "time":
        return f"CAST(s.{name} AS timestamptz)"
    return f"coalesce(s.{name}, '')"


def _bad_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(DISTINCT line) FROM {BAD}")
        return cursor.fetchone()[0]


def _bad_lines(fmt: FileFormat) -> tuple[BadLine, ...]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT line, field, code, detail FROM {BAD} WHERE line IN"
            f" (SELECT DISTINCT line FROM {BAD} ORDER BY line LIMIT %s) ORDER BY line, field, code",
            [BAD_LINES_SHOWN],
        )
        found: dict[int, list[Problem]] = {}
        for line, column, code, detail in cursor.fetchall():
            found.setdefault(line, []).append(Problem(column, _message(fmt, column, code, detail)))
    return tuple(BadLine(line, tuple(problems)) for line, problems in found.items())


def _insert(fmt: FileFormat, staged: int) -> int:
    """Insert the rows not imported before; return how many."""
    columns = ", ".join(fmt.columns)
    key = fmt.id_column
    with connection.cursor() as cursor:
        if not _postgresql():
            cursor.execute(
                f"INSERT INTO {fmt.table} ({columns}) SELECT {columns} FROM {STAGE} s WHERE s.bad = 0"
                f" ON CONFLICT ({key}) DO NOTHING")
            return cursor.rowcount
        rebuilt = _secondary_indexes_dropped(cursor, fmt, staged)
        values = ", ".join(f"s.{key}" if name == key else _cast(fmt, name) for name in fmt.columns)
        cursor.execute(
            f"INSERT INTO {fmt.table} ({columns}) SELECT {values} FROM {STAGE} s"
            f" WHERE NOT EXISTS (SELECT 1 FROM {fmt.table} t WHERE t.{key} = s.{key})"
            f" ON CONFLICT ({key}) DO NOTHING")
        inserted = cursor.rowcount
        for definition in rebuilt:
            cursor.execute(definition)
        return inserted


def _secondary_indexes_dropped(cursor, fmt: FileFormat, staged: int) -> list[str]:
    """A file bigger than the table (the first loads of a bank's history)
    goes in faster without the table's secondary indexes, built again after
    from their own definitions: sorting a million keys once is quicker than
    placing them one by one. Not for the daily file into a big table: dropping
    an index locks the table against readers until the import commits. The
    primary key and the unique id (the ON CONFLICT target) always stay.
    Returns the definitions to run again after the insert."""
    if staged < REBUILD_INDEXES_FROM:
        return []
    cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {fmt.table} LIMIT %s) AS present", [staged])
    if cursor.fetchone()[0] >= staged:
        return []  # a table as big as the file: its indexes stay (a file imported again, too)
    cursor.execute(
        "SELECT index.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class index ON index.oid = i.indexrelid"
        " WHERE i.indrelid = %s::regclass"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        " ORDER BY index.relname",
        [fmt.table],
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    return [definition for _name, definition in indexes]
