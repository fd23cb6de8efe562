"""``python manage.py webhook_endpoint {register|list|ping|remove|deliveries}``:
the call center's webhook endpoints from the server's command line, as the API's
``/api/v1/webhooks/`` does them (docs/api.md, "Receive webhooks"; the work is
in ``disputes.delivery.webhooks``)."""
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404
from django.utils.translation import gettext as _

from disputes import selectors
from disputes.delivery import webhooks
from disputes.models import WebhookDeliveryStatus


class Command(BaseCommand):
    help = _("Register, list, ping or remove the webhook endpoints that hear of every case state change.")

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True,
                                        metavar="{register,list,ping,remove,deliveries}")
        register = actions.add_parser("register", help=_("Register an endpoint (again) and print its signing secret."))
        register.add_argument("name", help=_("A name for the endpoint."))
        register.add_argument("url", help=_("Where to POST the deliveries (https:// in production)."))
        register.add_argument("--secret", default="", help=_("The signing secret (default: one is made up)."))
        register.add_argument("--inactive", action="store_true", help=_("Register it without sending to it yet."))
        actions.add_parser("list", help=_("List the endpoints with their latest delivery."))
        for action, text in (("ping", _("Send the endpoint a signed ping now and print the outcome.")),
                             ("remove", _("Stop sending to the endpoint (its log is kept).")),
                             ("deliveries", _("Print the endpoint's latest deliveries and their errors."))):
            actions.add_parser(action, help=text).add_argument("id", type=int, help=_("The endpoint's id."))

    def handle(self, *args, action: str, **options) -> None:
        try:
            getattr(self, f"_{action}")(**options)
        except ValidationError as exc:
            raise CommandError(" ".join(" ".join(messages) if field == NON_FIELD_ERRORS else f"{field}: {' '.join(messages)}"
                                        for field, messages in exc.message_dict.items())
                               if hasattr(exc, "error_dict") else " ".join(exc.messages)) from None
        except Http404:
            raise CommandError(_("There is no webhook endpoint %(id)s.") % {"id": options.get("id")}) from None

    def _register(self, *, name: str, url: str, secret: str, inactive: bool, **options) -> None:
        endpoint = webhooks.webhook_endpoint_register(name=name, url=url, secret=secret, active=not inactive)
        self.stderr.write(_("Endpoint %(id)s registered. Its signing secret is on the next line: give it to the "
                            "receiver, which checks Dispute-Desk-Signature with it.") % {"id": endpoint.pk})
        self.stdout.write(endpoint.secret)

    def _list(self, **options) -> None:
        endpoints = selectors.webhook_endpoint_list(user=None)
        if not endpoints:
            self.stdout.write(_("No webhook endpoints."))
        for endpoint in endpoints:
            state = _("active") if endpoint.active else _("inactive")
            self.stdout.write(f"{endpoint.pk:>5}  {state:<10} {endpoint.name}  {endpoint.url}")
            if endpoint.last_delivery is not None:
                self.stdout.write("       " + self._describe(endpoint.last_delivery))

    def _ping(self, *, id: int, **options) -> None:  # noqa: A002 - the argument's name
        endpoint = selectors.webhook_endpoint_get(user=None, endpoint_id=id)
        delivery = webhooks.webhook_endpoint_ping(endpoint=endpoint)
        self.stdout.write(self._describe(delivery))
        if delivery.status != WebhookDeliveryStatus.DELIVERED:
            raise CommandError(_("The ping was not delivered."))

    def _remove(self, *, id: int, **options) -> None:  # noqa: A002
        webhooks.webhook_endpoint_remove(endpoint=selectors.webhook_endpoint_get(user=None, endpoint_id=id))
        self.stdout.write(_("Endpoint %(id)s removed: nothing more is sent to it.") % {"id": id})

    def _deliveries(self, *, id: int, **options) -> None:  # noqa: A002
        endpoint = selectors.webhook_endpoint_get(user=None, endpoint_id=id)
        for delivery in selectors.webhook_deliveries(endpoint=endpoint)[:20]:
            self.stdout.write(self._describe(delivery))

    @staticmethod
    def _describe(delivery) -> str:
        parts = [f"#{delivery.pk}", delivery.payload.get("type", ""), delivery.status,
                 _("%(n)s attempts") % {"n": delivery.attempts}]
        if delivery.last_status_code:
            parts.append(f"HTTP {delivery.last_status_code}")
        if delivery.last_error:
            parts.append(delivery.last_error)
        if delivery.status == WebhookDeliveryStatus.PENDING:
            parts.append(_("next attempt %(at)s") % {"at": delivery.next_attempt_at.isoformat(timespec="seconds")})
        return "  ".join(parts)
