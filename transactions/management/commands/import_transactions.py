"""``python manage.py import_transactions {ledger|settlement} FILE.csv`` (docs/design.md, "Commands").

Imports one file all or nothing through ``transactions.importing.records_import``:
a progress bar on a terminal, then what was imported, or each bad line and
why (the command then fails and nothing is imported).
"""
from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from transactions.importing import ImportProgress, records_import
from transactions.models import RecordKind

BAR_WIDTH = 30


class ProgressBar:
    """One line, redrawn in place (\\r) on a terminal, at most ten times a second."""

    def __init__(self, stream, *, enabled: bool):
        self.stream = stream
        self.enabled = enabled
        self._drawn_at = 0.0
        self._drawn = False

    def __call__(self, progress: ImportProgress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if progress.phase == "reading" and now - self._drawn_at < 0.1:
            return
        self._drawn_at = now
        percent = progress.percent
        filled = int(BAR_WIDTH * (percent or 0) / 100)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        shown = f"{percent:5.1f}%" if percent is not None else "   ?  "
        phase = {"reading": _("reading"), "checking": _("checking"), "writing": _("writing"),
                 "done": _("done")}.get(progress.phase, progress.phase)
        text = _("%(rows)s rows, %(bad)s bad") % {"rows": f"{progress.rows_read:,}", "bad": f"{progress.bad_rows:,}"}
        self.stream.write(f"\r[{bar}] {shown} {phase:<10} {text}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = "Import a ledger or settlement CSV file, all or nothing; importing it again changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=RecordKind.values, help="ledger or settlement")
        parser.add_argument("file", help="the CSV file (UTF-8, the header of docs/design.md)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")

    def handle(self, *args, kind: str, file: str, no_progress: bool = False, **options):
        err = getattr(self.stderr, "_out", sys.stderr)
        bar = ProgressBar(err, enabled=not no_progress and hasattr(err, "isatty") and err.isatty())
        try:
            handle = open(file, "rb")
        except OSError as error:
            raise CommandError(_("Cannot read %(file)s: %(error)s") % {"file": file, "error": error.strerror})
        with handle:
            try:
                report = records_import(kind=kind, file=handle, file_name=file, progress=bar)
            finally:
                bar.finish()
        if report.succeeded:
            self.stdout.write(ngettext(
                "%(file)s: %(total)s row in the file, %(imported)s imported, %(present)s already present "
                "(SHA-256 %(sha256)s, import #%(run)s).",
                "%(file)s: %(total)s rows in the file, %(imported)s imported, %(present)s already present "
                "(SHA-256 %(sha256)s, import #%(run)s).", report.rows_total) % {
                "file": report.file_name, "imported": report.rows_imported, "present": report.rows_already_present,
                "total": report.rows_total, "sha256": report.sha256, "run": report.run_id})
            return
        for bad in report.bad_lines:
            self.stdout.write(str(bad))
        if report.bad_lines_not_shown:
            self.stdout.write(ngettext("… and %(count)s more bad line.", "… and %(count)s more bad lines.",
                                       report.bad_lines_not_shown) % {"count": report.bad_lines_not_shown})
        raise CommandError(ngettext(
            "Nothing imported from %(file)s: %(bad)s bad line, %(total)s rows read (import #%(run)s).",
            "Nothing imported from %(file)s: %(bad)s bad lines, %(total)s rows read (import #%(run)s).",
            report.bad_rows) % {
            "file": report.file_name, "bad": report.bad_rows, "total": report.rows_total, "run": report.run_id})
