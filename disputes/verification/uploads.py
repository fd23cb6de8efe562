"""Ledger and settlement files uploaded by supervisors (``/staff/imports/``):
stored and queued in one service call, imported by a worker.

    run = records_upload(actor=supervisor, kind="ledger", file_name=upload.name, chunks=upload.chunks())

The import itself is ``transactions.importing.records_import``, the one the
command runs; the task ``disputes.tasks.import_upload`` calls
``transactions.importing.uploads.upload_import`` with the run's id after
commit. A successful import that brought new rows then re-checks the open
cases (``checks.records_imported``), whichever way the file came.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import translation

from disputes.delivery import outbox
from disputes.delivery.outbox import enqueue_after_commit
from disputes.workflow.actors import require_permission
from transactions.importing.uploads import upload_store
from transactions.models import ImportRun

IMPORT_PERMISSION = "transactions.import_records"


def records_upload(*, actor, kind: str, file_name: str, chunks: Iterable[bytes]) -> ImportRun:
    """Store an uploaded file and queue its import; returns the run, ``queued``.
    Raises ``ActionForbidden`` unless ``actor`` may import records. The bad
    lines are explained in the language active now (the uploader's)."""
    require_permission(actor, IMPORT_PERMISSION)
    with transaction.atomic():
        run = upload_store(kind=kind, file_name=file_name, chunks=chunks, user=actor)
        enqueue_after_commit(outbox.IMPORT_UPLOAD, run.pk, translation.get_language())
    return run
