"""Files uploaded on the imports page (``/staff/imports/``): stored on disk,
queued as an ``ImportRun``, then imported by a worker through the same
``records_import`` as the command, its progress written to the run's row.

    run = upload_store(kind="ledger", file_name="ledger.csv", chunks=upload.chunks(), user=supervisor)
    # ...after commit, in a worker:
    upload_import(run_id=run.pk)

The file goes to ``settings.DISPUTE_IMPORT_UPLOAD_DIR`` (a folder every web
and worker node mounts at the same path) under a name of our own, and is
removed once imported: the run keeps its name as uploaded and its SHA-256.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from uuid import uuid4

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.utils import timezone, translation

from transactions.importing.rules import ImportProgress, ImportReport
from transactions.importing.run import records_import
from transactions.models import ImportRun, ImportStatus

logger = logging.getLogger(__name__)

# The run's row hears about the reading phase at most this often (seconds).
PROGRESS_WRITE_EVERY = 0.5


def upload_folder() -> Path:
    return Path(settings.DISPUTE_IMPORT_UPLOAD_DIR)


def upload_store(*, kind: str, file_name: str, chunks: Iterable[bytes], user) -> ImportRun:
    """Write the uploaded file to the upload folder, chunk by chunk, and record
    its run, ``queued``. The caller queues its import after commit."""
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    stored = folder / f"{uuid4().hex}.csv"
    try:
        with open(stored, "xb") as out:
            for chunk in chunks:
                out.write(chunk)
        return ImportRun.objects.create(kind=kind, file_name=os.path.basename(file_name)[:255], user=user,
                                        started_at=timezone.now(), status=ImportStatus.QUEUED,
                                        upload_name=stored.name)
    except BaseException:
        stored.unlink(missing_ok=True)  # no run points at it
        raise


def upload_import(*, run_id: int, language: str | None = None) -> ImportReport | None:
    """Import the queued upload of run ``run_id`` (a worker's task), once: the
    run is claimed (``queued`` → ``running``) first, so a task delivered twice
    does nothing the second time. Returns the report, or None when the run was
    not queued. The stored file is removed afterwards, whatever happened. Bad
    lines are explained in ``language`` (the uploader's; None: the default)."""
    if not ImportRun.objects.filter(pk=run_id, status=ImportStatus.QUEUED).update(status=ImportStatus.RUNNING):
        return None
    run = ImportRun.objects.select_related("user").get(pk=run_id)
    path = upload_folder() / run.upload_name
    writer = RunProgressWriter(run_id)
    try:
        with open(path, "rb") as handle, translation.override(language or settings.LANGUAGE_CODE):
            return records_import(kind=run.kind, file=handle, file_name=run.file_name, user=run.user,
                                  progress=writer, run=run)
    except FileNotFoundError:
        logger.error("import #%s: the uploaded file %s is gone", run_id, path)
        ImportRun.objects.filter(pk=run_id).update(status=ImportStatus.FAILED, finished_at=timezone.now())
        return None
    finally:
        writer.close()
        path.unlink(missing_ok=True)
        ImportRun.objects.filter(pk=run_id).update(upload_name="")


class RunProgressWriter:
    """The progress callback of an upload's import: percentage, rows read and
    bad rows written to the run's row, at most every ``PROGRESS_WRITE_EVERY``
    seconds while reading and at each new phase.

    The import runs in one transaction, which would hide these writes until it
    ends, so they go through a database connection of their own (PostgreSQL).
    On SQLite (the embedded demo) a second writer would wait for the import's
    lock: there the row shows the result only."""

    def __init__(self, run_id: int, *, every: float = PROGRESS_WRITE_EVERY):
        self.run_id = run_id
        self.every = every
        self._written_at = 0.0
        self._phase = ""
        self._connection = connections.create_connection(DEFAULT_DB_ALIAS) if connection.vendor == "postgresql" else None

    def __call__(self, progress: ImportProgress) -> None:
        if self._connection is None or progress.phase == "done":
            return  # "done": records_import has written the result itself
        now = time.monotonic()
        if progress.phase == self._phase and now - self._written_at < self.every:
            return
        self._written_at, self._phase = now, progress.phase
        percent = min(99, int(progress.percent or 0))
        try:
            with self._connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportRun._meta.db_table} SET progress_percent = %s, rows_read = %s, bad_rows = %s"
                    " WHERE id = %s AND status = %s",
                    [percent, progress.rows_read, progress.bad_rows, self.run_id, ImportStatus.RUNNING])
        except DatabaseError:  # progress is a courtesy: the import goes on
            logger.warning("import #%s: progress not written", self.run_id, exc_info=True)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
