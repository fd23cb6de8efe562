"""``python manage.py reconcile --as-of ISO_TIME [--grace-hours 24] [--output FILE.csv] [--open-cases]``
(docs/design.md, "Commands").

Finds the orphan debits as of a time (``transactions.reconciliation.reconcile``),
prints a summary, writes them with the ledger file's columns to ``--output``,
and with ``--open-cases`` opens a case for each that has none yet, through the
function ``settings.RECONCILE_CASE_OPENER`` names.
"""
from __future__ import annotations

import contextlib
import os
import stat
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.money import format_money
from transactions import reconciliation

DUPLICATES_SHOWN = 20


def _instant(value: str):
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(_("--as-of takes an ISO 8601 time, e.g. 2026-11-20T14:03:00+08:00; got “%(value)s”.")
                           % {"value": value})
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)  # the configured time zone, as sla_sweep --now
    return parsed


def _hours(value: str) -> timedelta:
    try:
        hours = Decimal(value)
    except InvalidOperation:
        hours = None
    if hours is None or not hours.is_finite() or hours < 0:
        raise CommandError(_("--grace-hours takes a number of hours, 0 or more; got “%(value)s”.") % {"value": value})
    # More than a timedelta holds reaches back before the year 1 whatever --as-of: reconcile refuses it.
    return timedelta(seconds=min(int(hours * 3600), timedelta.max // timedelta(seconds=1)))


def _cannot_write(path: str, error: OSError) -> str:
    return _("Cannot write %(file)s: %(error)s") % {"file": path, "error": error.strerror}


def _output_opened(path: str):
    """The output file, opened before anything is reconciled: a path that cannot
    be written is refused while nothing is recorded yet. Opened to append (a file
    there is emptied only once the run has its orphans); returns (handle, created)."""
    existed = os.path.lexists(path)
    try:
        return open(path, "a", encoding="utf-8", newline=""), not existed
    except OSError as error:
        raise CommandError(_cannot_write(path, error)) from None


def _output_dropped(out, path: str | None) -> None:
    """The reconciliation did not run: close the output, and remove it if this command made it."""
    if out is None:
        return
    handle, created = out
    handle.close()
    if created:
        with contextlib.suppress(OSError):
            os.remove(path)


class Command(BaseCommand):
    help = "The orphan debits (charged but not paid) as of a time."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="ISO 8601 time; without an offset, in TIME_ZONE")
        parser.add_argument("--grace-hours", default="24", help="how old a debit must be to count (default 24)")
        parser.add_argument("--output", help="write the orphans to this CSV file (the ledger file's columns)")
        parser.add_argument("--open-cases", action="store_true",
                            help="open an automatic case for each orphan that has none yet")

    def handle(self, *args, as_of: str, grace_hours: str, output: str | None, open_cases: bool, **options):
        moment = _instant(as_of)
        grace = _hours(grace_hours)
        opener = None
        if open_cases:
            try:
                opener = reconciliation.case_opener()
            except (reconciliation.NoCaseOpener, ImportError) as error:
                raise CommandError(_("--open-cases needs the setting RECONCILE_CASE_OPENER: %(error)s")
                                   % {"error": error})
        out = _output_opened(output) if output else None
        try:
            run = reconciliation.reconcile(as_of=moment, grace=grace)
        except reconciliation.ReconcileRefused as refused:
            _output_dropped(out, output)
            raise CommandError(str(refused))
        except BaseException:
            _output_dropped(out, output)
            raise
        self.stdout.write(_(
            "Reconciliation #%(run)s as of %(as_of)s, grace %(grace)s h: %(debits)s debits and %(records)s approved "
            "settlement records compared; pairs by RRN %(rrn)s, by terminal and STAN %(terminal)s, by merchant and "
            "time %(merchant)s; %(orphans)s orphan debits.") % {
            "run": run.pk, "as_of": timezone.localtime(moment).isoformat(), "grace": grace_hours,
            "debits": run.debits, "records": run.approved_records, "rrn": run.pairs_by_rrn,
            "terminal": run.pairs_by_terminal, "merchant": run.pairs_by_merchant, "orphans": run.orphans})
        for currency, total in reconciliation.outstanding_by_currency(run).items():
            self.stdout.write(_("Outstanding: %(amount)s") % {"amount": format_money(total, currency)})
        duplicates = reconciliation.probable_duplicates(run)
        if duplicates:
            shown = ", ".join(duplicates[:DUPLICATES_SHOWN])
            if len(duplicates) > DUPLICATES_SHOWN:
                shown += " " + _("… and %(count)s more") % {"count": len(duplicates) - DUPLICATES_SHOWN}
            self.stdout.write(_("Probable duplicate payments (paid twice): %(entries)s") % {"entries": shown})
        if out is not None:
            handle, _created = out
            try:
                with handle:
                    if stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # not /dev/stdout, a pipe, /dev/null
                        handle.truncate(0)
                    written = reconciliation.orphans_write_csv(run, handle)
            except OSError as error:
                raise CommandError(_cannot_write(output, error)) from None
            self.stdout.write(_("%(count)s orphan debits written to %(file)s.") % {"count": written, "file": output})
        if opener is not None:
            result = reconciliation.orphan_cases_open(run, opener=opener)
            self.stdout.write(_("Cases: %(opened)s opened, %(already)s already open, %(failed)s failed.") % {
                "opened": result.opened, "already": result.already_open, "failed": len(result.failed)})
            for entry_id, why in result.failed:
                self.stderr.write(_("%(entry)s: no case opened: %(why)s") % {"entry": entry_id, "why": why})
            if result.failed:
                raise CommandError(_("%(count)s cases could not be opened.") % {"count": len(result.failed)})
