"""``python manage.py sla_sweep [--now ISO_TIME]``: one SLA sweep (docs/design.md, "Commands").

The same code the Celery beat task runs every minute; ``--now`` evaluates the
clocks as of that time (now or past, from 2000-01-01). Running it twice never
raises an alert twice.
"""
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.slip import EARLIEST_TRANSACTION_TIME
from disputes.sla.sweep import sla_sweep

# A clock a little ahead of the database's (another node's) is not "the future".
FUTURE_TOLERANCE = timedelta(minutes=1)


def _instant(value):
    if value is None:
        return None
    if hasattr(value, "tzinfo"):
        return _within_bounds(value)
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(_("--now takes an ISO 8601 time, e.g. 2026-11-20T14:03:00+08:00; got “%(value)s”.")
                           % {"value": value})
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)  # the configured time zone
    return _within_bounds(parsed)


def _within_bounds(moment):
    """The sweep acts for real (alerts, e-mails, escalations, cases closed): as of
    a time to come it would act on deadlines not passed yet (a year mistyped would
    close every quiet case), so ``--now`` is the present or a time past, down to
    2000-01-01 (no case is older; the year 1 overflowed)."""
    if moment < EARLIEST_TRANSACTION_TIME:
        raise CommandError(_("Give a time on or after 2000-01-01: no case is older."))
    if moment > timezone.now() + FUTURE_TOLERANCE:
        raise CommandError(_("The time is in the future: the sweep raises real alerts, sends real e-mails and closes "
                             "cases, so it runs as of now or a time past."))
    return moment


class Command(BaseCommand):
    help = "Raise the due SLA reminders and breaches once and take the automatic steps."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="Evaluate the clocks as of this ISO 8601 time (default: now).")

    def handle(self, *args, now=None, **options):
        now = _instant(now)
        result = sla_sweep(now=now)
        self.stdout.write(_("SLA sweep as of %(now)s: %(reminders)s reminders, %(breaches)s breaches, "
                            "%(escalated)s escalated, %(closed)s closed, %(notifications)s e-mails.")
                          % {"now": (now or timezone.now()).isoformat(), "reminders": result.reminders,
                             "breaches": result.breaches, "escalated": len(result.escalated),
                             "closed": len(result.closed), "notifications": result.notifications})
