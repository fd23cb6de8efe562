"""The first load of a records table: a file into an empty table goes straight in (PostgreSQL).

A bank's first files hold its history: millions of rows into an empty table.
The staging way writes each row twice (``COPY`` into the staging table, then
``INSERT … SELECT`` into the records table) and looks for ids repeated in the
file with a ``GROUP BY``. Into an empty table none of that is needed when every
line is plain and certainly good: ``COPY`` writes the file into the records table
itself, the prescreen watching each line on its way, and the id's unique
constraint, built again after (or kept, for a user that may not drop it), finds
an id repeated in the file.

Anything else and the load stops, its savepoint rolled back as if it had
never started, and the caller imports the file the staging way, which names
every bad line: the table not empty, a line the prescreen does not pass (the
``COPY`` stops at once), a line ``COPY`` cannot read, a row count that differs
from the line count, a card number in a free-text column, an id twice.
"""
from __future__ import annotations

from django.db import connection, transaction

from transactions.importing.prescreen import Prescreen
from transactions.importing.reading import (
    _copy_csv,
    _copy_refused,
    _CopySource,
    _EndOfDataMarker,
    _header_problem,
    _Reader,
)
from transactions.importing.rules import (
    COPY_CHUNK,
    MAX_HEADER,
)
from transactions.importing.staging import (
    _card_number_lines,
    _indexes_dropped,
    _lock_kind,
    _owned,
    _statistics_gathered,
)
from transactions.importing.state import _postgresql, _State


class _NotPlain(Exception):
    """This file goes the staging way."""


class _StopAtSuspect(_CopySource):
    """What ``COPY`` reads, stopping it at the first line the prescreen does not pass
    (or when it gives up): after the piece that holds the line, or at the end of
    the file for a last line without its line break."""

    def read(self, size: int = COPY_CHUNK) -> bytes:
        data = super().read(size)
        if self.screen.suspects != []:
            raise _NotPlain()
        return data


def records_load_first(state: _State, reader: _Reader) -> int | None:
    """Load the file straight into its empty records table, in a savepoint;
    return the number of rows, or ``None`` (nothing changed) when it must go
    the staging way. ``reader`` is at the start of the file."""
    if not _postgresql():
        return None
    try:
        with transaction.atomic():
            return _load(state, reader)
    except (_NotPlain, _EndOfDataMarker):
        return None
    except Exception as error:
        # A value the table's types or constraints refuse (classes 22 and 23), an id twice.
        if _copy_refused(error, "22", "23"):
            return None
        raise


def _load(state: _State, reader: _Reader) -> int:
    fmt = state.fmt
    if _header_problem(fmt, reader.readline(MAX_HEADER)):
        raise _NotPlain()
    with connection.cursor() as cursor:
        _lock_kind(cursor, fmt)  # then the table must be empty
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {fmt.table})")
        if cursor.fetchone()[0]:
            raise _NotPlain()
        rebuild = _indexes_dropped(cursor, fmt) if _owned(cursor, fmt) else []
        screen = Prescreen(fmt, state.now)
        # An empty text value is stored empty, as the staging way stores it, not NULL.
        text = [column.name for column in fmt.rules if column.rule not in ("amount", "time")]
        rows = _copy_csv(fmt.table, fmt.columns, _StopAtSuspect(reader, screen), force_not_null=text)
        state.rows_read = rows
        state.report("checking")
        # (_StopAtSuspect stopped COPY at any suspect line, the last one included.)
        if screen.lines != rows or _card_number_lines(cursor, fmt, fmt.table):
            raise _NotPlain()
        state.report("writing")
        for statement in rebuild:  # the id's unique constraint first: an id twice stops the load
            cursor.execute(statement)
        if rebuild:
            _statistics_gathered(cursor, fmt)
    return rows

