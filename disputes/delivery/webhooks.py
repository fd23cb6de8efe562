"""Webhooks: tell the call center's software of every case state change.

The call center (through the API or ``manage.py webhook_endpoint``) or an
admin registers an endpoint (``webhook_endpoint_register``), sends it a test
``ping`` (``webhook_endpoint_ping``) and removes it (``webhook_endpoint_remove``).
Each state change (filing and every transition) writes one ``WebhookDelivery``
per active endpoint in the transaction of the change
(``webhook_deliveries_for_event``, called by the case services), and a Celery
task sends it after commit (``webhook_delivery_send``). A failed attempt is
retried with exponential back-off; the beat sweep re-sends what a lost task
left behind. An admin can read the log and replay a delivery
(``webhook_delivery_replay``).

Every request is signed (docs/api.md has the receiver's side)::

    Dispute-Desk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

and names its delivery (the same on every retry), its attempt (new on each)
and, after an admin's replay, says so (``Dispute-Desk-Replay: true``).
Receivers are checked against the system's trusted CAs plus the private CA
bundle ``DISPUTE_WEBHOOK_CA_BUNDLE`` names, if any.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import ssl
import time
import urllib.error
import urllib.request
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core import outbound
from core.bulkinsert import insert_for_each
from disputes.delivery import outbox
from disputes.delivery.outbox import enqueue_after_commit
from disputes.models import (
    CaseEvent,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from disputes.models.delivery import webhook_registrations_locked
from disputes.workflow.names import EventKind

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Dispute-Desk-Signature"
EVENT_HEADER = "Dispute-Desk-Event"
DELIVERY_HEADER = "Dispute-Desk-Delivery"
ATTEMPT_HEADER = "Dispute-Desk-Attempt"
REPLAY_HEADER = "Dispute-Desk-Replay"
PING = "ping"
ENDPOINT_REMOVED = "The endpoint was removed."
HOST_NOT_ALLOWED = "Not sent: the endpoint's host is not among those the bank allows (DISPUTE_WEBHOOK_ALLOWED_HOSTS)."
BACKOFF_MAX = timedelta(hours=6)
STATE_CHANGE_KINDS = (EventKind.FILED, EventKind.TRANSITION)


# --- signing ----------------------------------------------------------------------


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(*, secret: str, header: str, body: bytes, tolerance_seconds: int = 300, now: float | None = None) -> bool:
    """What a receiver does (the same code is in docs/api.md)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_seconds:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def encode_body(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


# --- endpoints ----------------------------------------------------------------------


def webhook_endpoint_register(*, name: str, url: str, secret: str = "", active: bool = True,
                              actor=None) -> WebhookEndpoint:
    """Register (or re-register) the endpoint at ``url``. The secret is made up
    when none is given. ``actor`` is the API user registering it (None: the
    admin or a command). Raises ValidationError (e.g. plain HTTP in production,
    ``DISPUTE_WEBHOOK_MAX_ENDPOINTS`` already registered). The same URL
    registered twice at once is one endpoint."""
    with transaction.atomic():
        webhook_registrations_locked()
        endpoint = WebhookEndpoint.objects.filter(url=url, removed_at=None).first() or WebhookEndpoint(url=url)
        endpoint.name = name
        endpoint.secret = secret or endpoint.secret or secrets.token_urlsafe(32)
        endpoint.active = active
        if endpoint.pk is None and actor is not None:
            endpoint.created_by = actor
        endpoint.full_clean()
        endpoint.save()
    return endpoint


def webhook_endpoint_remove(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop sending to the endpoint: it is marked removed (its delivery log is
    kept) and its pending deliveries are given up."""
    with transaction.atomic():
        now = timezone.now()
        WebhookEndpoint.objects.filter(pk=endpoint.pk, removed_at=None).update(active=False, removed_at=now)
        endpoint.deliveries.filter(status=WebhookDeliveryStatus.PENDING).update(
            status=WebhookDeliveryStatus.FAILED, last_error=ENDPOINT_REMOVED)
    endpoint.refresh_from_db()
    return endpoint


def ping_payload(now) -> dict:
    """A ping has the keys of an event's body, with no case."""
    return {"id": None, "type": PING, "case": None, "transition": None, "from_state": None, "to_state": None,
            "version": None, "occurred_at": now.isoformat()}


def webhook_endpoint_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send the endpoint a signed ``ping`` now, once (a ping is not retried),
    whether it is active or not; return its delivery, with the outcome."""
    if endpoint.removed_at is not None:
        raise ValueError("a removed endpoint is not pinged")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=None, payload=ping_payload(timezone.now()))
    webhook_delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


# --- the outbox ---------------------------------------------------------------------


def event_payload(event: CaseEvent) -> dict:
    return {
        "id": event.pk,
        "type": f"case.{event.kind}",
        "case": event.case.reference,
        "transition": event.transition or None,
        "from_state": event.from_state or None,
        "to_state": event.to_state,
        "version": event.case_version,
        "occurred_at": event.created_at.isoformat(),
    }


def webhook_deliveries_for_event(event: CaseEvent) -> list[int]:
    """Called by the case services in the transaction of a state change: a
    delivery per active endpoint, written by one statement (no read of the
    endpoints first); returns the deliveries' ids."""
    if event.kind not in STATE_CHANGE_KINDS:
        return []
    now = timezone.now()
    values = {"event_id": event.pk, "payload": event_payload(event), "status": WebhookDeliveryStatus.PENDING,
              "attempts": 0, "next_attempt_at": now, "last_error": "", "attempt_log": [], "replays": 0,
              "created_at": now}
    delivery_ids = insert_for_each(WebhookDelivery, values, each="endpoint_id",
                                   source=WebhookEndpoint.objects.filter(active=True, removed_at=None))
    _send_after_commit(delivery_ids)
    return delivery_ids


def _send_after_commit(delivery_ids) -> None:
    for delivery_id in delivery_ids:
        enqueue_after_commit(outbox.DELIVER_WEBHOOK, delivery_id)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base, 2×, 4×, … up to 6 hours."""
    seconds = settings.DISPUTE_WEBHOOK_BACKOFF_SECONDS * (2 ** max(attempts - 1, 0))
    return min(timedelta(seconds=seconds), BACKOFF_MAX)


def webhook_ssl_context() -> ssl.SSLContext:
    """How receivers' certificates are checked: the system's trusted CAs, plus
    the PEM bundle ``DISPUTE_WEBHOOK_CA_BUNDLE`` names (a bank's private CA).
    Reloaded when that file changes."""
    bundle = settings.DISPUTE_WEBHOOK_CA_BUNDLE
    return _ssl_context(bundle, os.stat(bundle).st_mtime_ns if bundle else 0)


@lru_cache(maxsize=4)
def _ssl_context(bundle: str, _mtime_ns: int) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if bundle:
        context.load_verify_locations(cafile=bundle)
    return context


def attempt_id(delivery: WebhookDelivery) -> str:
    """The id of the attempt about to be made: ``<delivery id>-<attempt number>``."""
    return f"{delivery.pk}-{delivery.attempts + 1}"


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str]:
    body = encode_body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "DisputeDesk-Webhooks/1",
        SIGNATURE_HEADER: sign(secret=endpoint.secret, timestamp=int(time.time()), body=body),
        EVENT_HEADER: delivery.payload.get("type", ""),
        DELIVERY_HEADER: str(delivery.pk),
        ATTEMPT_HEADER: attempt_id(delivery),
    }
    if delivery.replays:
        headers[REPLAY_HEADER] = "true"
    if not outbound.host_allowed(endpoint.url, settings.DISPUTE_WEBHOOK_ALLOWED_HOSTS):
        return None, HOST_NOT_ALLOWED  # registered before the bank narrowed DISPUTE_WEBHOOK_ALLOWED_HOSTS
    request = urllib.request.Request(endpoint.url, data=body, method="POST", headers=headers)
    try:
        context = webhook_ssl_context() if endpoint.url.lower().startswith("https:") else None
        with outbound.exchange(request, seconds=settings.DISPUTE_WEBHOOK_TIMEOUT_SECONDS, context=context) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, outbound.status_text(exc.code)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]


def webhook_delivery_send(*, delivery_id: int) -> timedelta | None:
    """Make one attempt at a pending, due delivery. Returns the wait before the
    next attempt when this one failed and another is due, else None."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id, status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=timezone.now(),
                    endpoint__removed_at=None)
            .first()
        )
        if delivery is None:
            return None
        started = timezone.now()
        attempt = attempt_id(delivery)
        status_code, error = _post(delivery.endpoint, delivery)
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        delivery.attempt_log = [*delivery.attempt_log, {
            "id": attempt, "at": started.isoformat(), "status": status_code, "error": error,
            "ms": int((timezone.now() - started).total_seconds() * 1000), "replay": delivery.replays > 0,
        }]
        retry_in = None
        if status_code is not None and 200 <= status_code < 300:
            delivery.status = WebhookDeliveryStatus.DELIVERED
            delivery.delivered_at = timezone.now()
        elif delivery.event_id is None or delivery.attempts >= settings.DISPUTE_WEBHOOK_MAX_ATTEMPTS:
            delivery.status = WebhookDeliveryStatus.FAILED
        else:
            retry_in = backoff(delivery.attempts)
            delivery.next_attempt_at = timezone.now() + retry_in
        delivery.save()
    return retry_in


def webhook_deliveries_due(*, lost_after: timedelta | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries whose attempt is overdue (its task lost: broker down,
    worker killed) by more than ``lost_after`` (default the outbox's
    ``DISPUTE_OUTBOX_RESEND_AFTER``): the sweep re-sends them."""
    cutoff = timezone.now() - (settings.DISPUTE_OUTBOX_RESEND_AFTER if lost_after is None else lost_after)
    return list(
        WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=cutoff)
        .order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    )


def webhook_delivery_replay(*, delivery_ids: list[int]) -> int:
    """Send these deliveries again (an admin's action), whatever their status,
    marked as replays; not those of a removed endpoint."""
    with transaction.atomic():
        replayed = WebhookDelivery.objects.filter(pk__in=delivery_ids, endpoint__removed_at=None)
        ids = list(replayed.values_list("pk", flat=True))
        updated = replayed.update(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at=timezone.now(), delivered_at=None,
            replays=F("replays") + 1,
        )
        _send_after_commit(ids)
    return updated

