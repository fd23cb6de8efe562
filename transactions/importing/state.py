"""What one import carries from phase to phase, and how it fails."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from transactions.importing.reading import _Reader
from transactions.importing.rules import BadLine, FileFormat, ImportProgress, ProgressCallback


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
    # The lines the SQL row checks must read (prescreen.Prescreen); None: every row.
    suspects: list[int] | None = None
    shown: float = 0.0  # the highest percentage reported yet

    def report(self, phase: str) -> None:
        if self.progress is None:
            return
        reader = self.reader
        rows = self.rows_read
        if phase == "reading" and reader is not None and not rows:
            rows = max(0, reader.newlines - 1)
        progress = ImportProgress(
            phase=phase, rows_read=rows, bad_rows=self.bad_rows,
            bytes_read=reader.bytes_read if reader else 0, bytes_total=self.bytes_total, shown=self.shown,
        )
        self.shown = progress.percent or self.shown
        self.progress(progress)


def _postgresql() -> bool:
    return connection.vendor == "postgresql"
