"""``python manage.py sla_sweep [--now ISO_TIME]``: one SLA sweep (docs/design.md, "Commands").

The same code the Celery beat task runs every minute; ``--now`` evaluates the
clocks as of that time. Running it twice never raises an alert twice.
"""
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from disputes.sla.sweep import sla_sweep


def _instant(value):
    if value is None or hasattr(value, "tzinfo"):
        return value
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(_("--now takes an ISO 8601 time, e.g. 2026-11-20T14:03:00+08:00; got “%(value)s”.")
                           % {"value": value})
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)  # the configured time zone
    return parsed


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
