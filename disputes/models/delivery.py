"""What leaves the system: e-mails to customers (the outbox rows) and the
call center's webhook endpoints and deliveries (docs/api.md)."""
from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import outbound
from core.cardguard import ScrubbedCharField, ScrubbedTextField
from disputes.models.case import Case
from disputes.models.casefile import CaseEvent


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class Notification(models.Model):
    """An e-mail to send: written in the same transaction as the change that
    causes it (the outbox), sent by a Celery task after commit, and re-sent by
    the periodic sweep if that task never ran. Sent at most once."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications", verbose_name=_("case"))
    recipient = models.EmailField(_("recipient"))
    subject = ScrubbedCharField(_("subject"), max_length=200)
    body = ScrubbedTextField(_("body"))
    status = models.CharField(_("status"), max_length=8, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = ScrubbedTextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(status="pending"), name="notification_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.subject}"


def validate_webhook_url(url: str) -> None:
    """Webhooks carry personal data: HTTPS only, unless DEBUG (local testing);
    to a host the bank allows (``DISPUTE_WEBHOOK_ALLOWED_HOSTS``), so that a
    stolen token cannot point the worker at the bank's own hosts and read what
    answers there in the delivery log; no user name or password in the address
    (it would be shown wherever the endpoint is)."""
    if not settings.DEBUG and not url.lower().startswith("https://"):
        raise ValidationError(_("The endpoint must use HTTPS."), code="https_required")
    # Django runs every validator, whether URLField's own check refused the URL or not.
    try:
        parts = urlsplit(url)
    except ValueError:
        return  # "https://[::1": URLField's check refuses what urlsplit cannot split
    try:
        parts.port  # noqa: B018 - raises on a port past 65535, which URLField's check lets through
    except ValueError:
        if parts.netloc.rsplit(":", 1)[-1].isdigit():
            raise ValidationError(_("Enter a valid URL."), code="invalid") from None
        return  # not a number: URLField's check refuses it
    if "@" in parts.netloc:
        raise ValidationError(_("The endpoint's address must not hold a user name or password: the signature "
                                "proves each delivery."), code="credentials_in_url")
    if not outbound.host_allowed(url, settings.DISPUTE_WEBHOOK_ALLOWED_HOSTS):
        raise ValidationError(_("Webhooks are not sent to this host: it is not among those the bank allows. Ask "
                                "the bank to add it."), code="host_not_allowed")


class WebhookEndpoint(models.Model):
    """Where the call center's software wants to hear of every case state change."""

    name = ScrubbedCharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500, validators=[validate_webhook_url])
    secret = models.CharField(
        _("signing secret"), max_length=128,
        help_text=_("Shared with the receiver, who checks the HMAC-SHA256 signature of every delivery with it."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("registered by"), help_text=_("Empty when registered in the admin or by a command."),
    )
    # Removed (through the API or the command) endpoints keep their delivery log; nothing is sent to them.
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"

    def clean(self) -> None:
        """A new endpoint only while fewer than ``DISPUTE_WEBHOOK_MAX_ENDPOINTS``
        are registered: every state change is a delivery to each of them, so a
        client registering in a loop would multiply every change's work. Counted
        under a lock held until the caller's transaction ends (the admin's view
        and the service run in one), so registrations at once cannot all pass."""
        super().clean()
        if self.pk is not None or self.removed_at is not None:
            return
        webhook_registrations_locked()
        limit = settings.DISPUTE_WEBHOOK_MAX_ENDPOINTS
        if WebhookEndpoint.objects.filter(removed_at=None).count() >= limit:
            raise ValidationError(
                _("%(limit)d webhook endpoints are registered, the most allowed: remove one that is no longer used "
                  "first.") % {"limit": limit}, code="too_many_endpoints")


# pg_advisory_xact_lock key of endpoint registrations ("DDWH").
_REGISTRATION_LOCK = 0x44445748


def webhook_registrations_locked() -> None:
    """Wait for any other registration of an endpoint to end; until this
    transaction ends, none starts (PostgreSQL; SQLite writes one at a time)."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REGISTRATION_LOCK])


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed, gave up")


class WebhookDelivery(models.Model):
    """One state change to send to one endpoint: written in the transaction of
    the change (the outbox), sent by Celery after commit, retried with back-off.
    ``attempt_log`` keeps every attempt (its id, when, HTTP status or error,
    whether it was a replay). A delivery without an event is a ``ping``: a
    test message sent once, when asked for."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("endpoint"))
    event = models.ForeignKey(CaseEvent, on_delete=models.PROTECT, related_name="webhook_deliveries", verbose_name=_("case event"),
                              null=True, blank=True)
    payload = models.JSONField(_("body"))
    status = models.CharField(_("status"), max_length=9, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = ScrubbedTextField(_("last error"), blank=True)
    attempt_log = models.JSONField(_("attempts log"), default=list, blank=True)
    # How often an admin sent it again: attempts after a replay carry Dispute-Desk-Replay: true.
    replays = models.PositiveSmallIntegerField(_("replays"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="webhook_delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id} event {self.event_id} {self.status}"
