"""``python manage.py api_client {create|rotate|revoke|list} [NAME]``: the call
center's API clients (docs/api.md, "Get a token"; the work is in
``accounts.api_clients``).

``create`` and ``rotate`` print the new token alone on standard output, so a
script can take it (``TOKEN=$(… api_client create NAME)``); what it means goes
to standard error. The token is shown only then.
"""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts import api_clients


class Command(BaseCommand):
    help = _("Create, rotate, revoke or list the API clients of the call center (users in the call center role "
             "with a token).")

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,rotate,revoke,list}")
        for action, text in (
            ("create", _("Create an API client and print its token (once).")),
            ("rotate", _("Print a new token for the client; the old one stops working at once.")),
            ("revoke", _("Take the client's token away and deactivate it.")),
        ):
            actions.add_parser(action, help=text).add_argument("name", help=_("The client's user name."))
        actions.add_parser("list", help=_("List the API clients."))

    def handle(self, *args, action: str, name: str = "", **options) -> None:
        try:
            if action == "create":
                issued = api_clients.api_client_create(name=name)
                self._print_token(issued, _("API client “%(name)s” created in the call center role."))
            elif action == "rotate":
                issued = api_clients.api_client_rotate(name=name)
                self._print_token(issued, _("New token for “%(name)s”; the previous one no longer works."))
            elif action == "revoke":
                api_clients.api_client_revoke(name=name)
                self.stdout.write(_("API client “%(name)s” revoked: it has no token and is not active.") % {"name": name})
            else:
                self._list()
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    def _print_token(self, issued: api_clients.IssuedToken, message: str) -> None:
        self.stderr.write(message % {"name": issued.username} + " " + _(
            "Its token is on the next line, shown only now: store it in the call center's software and send "
            "it as “Authorization: Token <key>”."))
        self.stdout.write(issued.key)

    def _list(self) -> None:
        clients = api_clients.api_client_list()
        if not clients:
            self.stdout.write(_("No API clients yet: create one with “api_client create NAME”."))
        for client in clients:
            state = _("active") if client.active else _("revoked")
            since = (_("token since %(date)s") % {"date": client.token_created_at.isoformat(timespec="seconds")}
                     if client.token_created_at else _("no token"))
            self.stdout.write(f"{client.username:<24} {state:<10} {since}")
