"""``python manage.py seed_demo``: demo users and demo data, idempotent.

The work is in ``disputes.demo``; this prints what it did, including the
passwords of the users it created (they are shown once, never stored in clear).
With ``DJANGO_DEBUG`` off (production) it refuses unless told
``--even-with-debug-off`` (a staging server).
"""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from disputes import demo

COUNT_LABELS = {
    "processors": gettext_lazy("payment processors"),
    "merchants": gettext_lazy("merchants"),
    "terminals": gettext_lazy("terminals"),
    "customers": gettext_lazy("customers"),
    "cases": gettext_lazy("cases"),
    "ledger entries": gettext_lazy("ledger entries"),
    "settlement records": gettext_lazy("settlement records"),
}


class Command(BaseCommand):
    help = _("Create demo staff users, reference data, transaction records and cases in every state. Safe to run twice.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reset-passwords", action="store_true",
                            help=_("Give the existing demo users new passwords (and print them)."))
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED,
                            help=_("Seed of the random demo data (default %(default)s)."))
        parser.add_argument("--even-with-debug-off", action="store_true",
                            help=_("Seed a database whose server runs with DJANGO_DEBUG off (a staging server, "
                                   "never the bank's production)."))

    def handle(self, *args, reset_passwords: bool = False, seed: int = demo.DEFAULT_SEED,
               even_with_debug_off: bool = False, **options) -> None:
        if not settings.DEBUG and not even_with_debug_off:
            # Production runs with DEBUG off: there the demo would add a superuser and staff of known
            # names, reset the passwords of users so named, and put made-up cases into the queue and
            # made-up ledger rows into what the reconciliation counts.
            raise CommandError(_(
                "DJANGO_DEBUG is off, as on a production server: nothing was created. The demo adds users of known "
                "names (a superuser among them), made-up cases and made-up ledger rows. On a staging server, run it "
                "again with --even-with-debug-off."))
        users = demo.demo_users_ensure(reset_passwords=reset_passwords)
        self.stdout.write(_("Demo users:"))
        for user in users:
            label = f"  {user.username:<12} {user.role or _('superuser'):<12} "
            if user.created:
                self.stdout.write(label + _("created, password: %(password)s") % {"password": user.password})
            elif user.password:
                self.stdout.write(label + _("new password: %(password)s") % {"password": user.password})
            else:
                self.stdout.write(label + _("already exists, password unchanged"))
        if not any(user.password for user in users):
            self.stdout.write(_("Passwords are unchanged; use --reset-passwords for new ones."))

        outcome = demo.demo_data_create(seed=seed)
        if not outcome.created:
            self.stdout.write(self.style.WARNING(_("Demo data already present: nothing new created.")))
            return
        for what, count in outcome.counts.items():
            self.stdout.write(f"  {COUNT_LABELS.get(what, what)}: {count}")
        self.stdout.write(_("Cases by state:"))
        for state, count in sorted(outcome.states.items()):
            self.stdout.write(f"  {state:<18} {count}")
        self.stdout.write(self.style.SUCCESS(_("Demo data created. Staff log in at /accounts/login/, the admin is at /admin/.")))
