"""``records_import``: one file, staged, checked and written in one transaction; the run recorded."""
from __future__ import annotations

import csv
import io
import os
from typing import BinaryIO

from django.db import connection, transaction
from django.utils import timezone

from transactions.importing.checks import _python_check
from transactions.importing.firstload import records_load_first
from transactions.importing.prescreen import Prescreen
from transactions.importing.reading import (
    _copy_csv,
    _copy_refused,
    _CopySource,
    _EndOfDataMarker,
    _file_size,
    _header_problem,
    _Reader,
    _records,
    _seekable,
)
from transactions.importing.rules import (
    BAD,
    FORMATS,
    MAX_HEADER,
    SQLITE_BATCH,
    STAGE,
    ImportReport,
    ProgressCallback,
)
from transactions.importing.staging import (
    _bad_count,
    _bad_lines,
    _check,
    _create_temporary_tables,
    _drop_temporary_tables,
    _drop_temporary_tables_after_rollback,
    _insert,
    _sqlite_stage_rows,
)
from transactions.importing.state import _Failed, _postgresql, _State
from transactions.models import ImportRun, ImportStatus

# --- the import ----------------------------------------------------------------------------

def records_import(
    *,
    kind: str,
    file: BinaryIO,
    file_name: str,
    user=None,
    progress: ProgressCallback | None = None,
    run: ImportRun | None = None,
) -> ImportReport:
    """Import one ledger or settlement file (``kind``), all or nothing; record the run.

    ``file`` is opened in binary mode; when it can seek, PostgreSQL copies it
    directly. Returns an ``ImportReport``; a file with bad rows is a report with
    status ``failed`` (nothing imported), not an exception. ``run``: a run
    recorded before (an upload queued for a worker) to carry on, instead of a
    new one."""
    if kind not in FORMATS:
        raise ValueError(f"unknown kind of record file: {kind!r}")
    fmt = FORMATS[kind]
    state = _State(fmt=fmt, now=timezone.now(), progress=progress, bytes_total=_file_size(file))
    if run is None:
        run = ImportRun.objects.create(kind=kind, file_name=os.path.basename(file_name)[:255], user=user,
                                       started_at=state.now)
    else:
        run.status, run.started_at = ImportStatus.RUNNING, state.now
        run.save(update_fields=["status", "started_at"])
    start = file.tell() if _seekable(file) else None
    imported = 0
    try:
        with transaction.atomic():
            rows_total = imported = _load_first(state, file, start)
            if imported is None:  # the staging way
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
    run.progress_percent, run.rows_read = 100, run.rows_total
    run.save()
    state.report("done")
    return ImportReport(
        run_id=run.pk, kind=kind, file_name=run.file_name, sha256=run.sha256, status=run.status,
        rows_total=run.rows_total, rows_imported=run.rows_imported,
        rows_already_present=run.rows_already_present, bad_rows=run.bad_rows, bad_lines=bad_lines,
    )


def _new_reader(state: _State, file: BinaryIO) -> _Reader:
    state.reader = _Reader(file, on_progress=lambda _reader: state.report("reading"))
    state.rows_read = 0
    return state.reader


class _SpansLines(Exception):
    """A record of the file took more than one line."""


def _load_first(state: _State, file: BinaryIO, start: int | None) -> int | None:
    """A plain file into an empty table, straight in (firstload); ``None``: it goes the staging way."""
    if not _postgresql() or start is None:
        return None
    loaded = records_load_first(state, _new_reader(state, file))
    if loaded is None:
        file.seek(start)
    return loaded


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
                screen = Prescreen(fmt, state.now)
                rows = _copy_csv(STAGE, fmt.columns, _CopySource(reader, screen))
                if not reader.one_line_each(rows):
                    # COPY numbers records; the report names lines: a record over several
                    # lines (always a bad one: no value may hold a line break) needs Python's count.
                    raise _SpansLines()
                # The suspects name staged rows only if COPY staged a row a line.
                state.suspects = screen.suspects if screen.lines == rows else None
                return rows
        except (_EndOfDataMarker, _SpansLines):
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
            _copy_csv(STAGE, ["line", *fmt.columns], io.BytesIO(buffer.getvalue().encode("utf-8")))
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
