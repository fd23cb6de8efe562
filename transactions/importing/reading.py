"""Reading a file: bytes counted and hashed as they go, the header, the records."""
from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from typing import BinaryIO

from django.db import connection

from transactions.importing.rules import COPY_CHUNK, PROGRESS_EVERY, FileFormat

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
        self.last_byte = b""
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
            self.last_byte = data[-1:]
            if self.bytes_read - self._reported_at >= PROGRESS_EVERY:
                self._reported_at = self.bytes_read
                self._on_progress(self)
        return len(data)

    def one_line_each(self, rows: int) -> bool:
        """After the whole file: True when each of ``rows`` records after the
        header took one line (no quoted value held a line break)."""
        return self.newlines == rows + (1 if self.last_byte == b"\n" else 0)

    def text(self) -> io.TextIOWrapper:
        """The rest of the file as text; bytes that are not UTF-8 read as U+FFFD."""
        return io.TextIOWrapper(io.BufferedReader(self, 1 << 16), encoding="utf-8", errors="replace", newline="")


class _EndOfDataMarker(Exception):
    """The file has a line holding only ``\\.``, which COPY would take as its end."""


class _CopySource:
    """What COPY reads: the rest of the file, watching for a ``\\.`` line, each
    piece shown to ``screen`` (a ``prescreen.Prescreen``) on its way."""

    def __init__(self, reader: _Reader, screen=None):
        self.reader = reader
        self.screen = screen
        self._tail = b"\n"  # the header line ended just before

    def read(self, size: int = COPY_CHUNK) -> bytes:
        data = self.reader.read(size)
        if self.screen is not None:
            if data:
                self.screen.feed(data)
            else:
                self.screen.finish()
        window = self._tail + data
        for ending in (b"\n\\.\n", b"\n\\.\r"):
            if ending in window:
                raise _EndOfDataMarker()
        if not data and window.endswith(b"\n\\."):
            raise _EndOfDataMarker()
        self._tail = window[-3:]
        return data


def _copy_csv(table: str, columns: list[str], source, *, force_not_null: list[str] | None = None) -> int:
    """``COPY`` the CSV ``source`` (no header) into ``columns`` of ``table``; the
    number of rows written. ``force_not_null``: the columns whose empty value is
    stored as ``''`` rather than NULL."""
    options = "FORMAT csv, HEADER false, ENCODING 'UTF8'"
    if force_not_null:
        options += f", FORCE_NOT_NULL ({', '.join(force_not_null)})"
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH ({options})", source,
                                  size=COPY_CHUNK)
        return cursor.cursor.rowcount


def _copy_refused(error: Exception, *classes: str) -> bool:
    """True when ``COPY`` could not read the file (and for an error of one of the
    SQLSTATE ``classes``, such as ``"23"``), whether psycopg2's error or Django's around it."""
    import psycopg2

    cause = error.__cause__ if not isinstance(error, psycopg2.Error) else error
    if isinstance(cause, psycopg2.Error):
        return (cause.pgcode in {"22P04", "22021", "22P05", "22026", "54000", "57014"} or cause.pgcode is None
                or (cause.pgcode or "")[:2] in classes)
    return "COPY" in str(error) or "read()" in str(error)


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
