"""E-mails to the customer: written as ``Notification`` rows in the transaction
of the change, sent once by a Celery task after commit."""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.bulkinsert import insert_rows
from disputes.delivery import outbox
from disputes.delivery.outbox import enqueue_after_commit
from disputes.models import Case, Notification, NotificationStatus
from disputes.workflow.actors import system_user
from disputes.workflow.events import record_event
from disputes.workflow.names import EventKind

logger = logging.getLogger(__name__)


def notify_customer(case: Case, subject: str, lines: list[str]) -> None:
    customer = case.customer
    if not customer.email:
        return
    body = "\n\n".join([*lines, _("Reference: %(reference)s") % {"reference": case.reference},
                        _("Follow your case at %(url)s") % {"url": f"{settings.DISPUTE_PUBLIC_BASE_URL}/complaints/track/"}])
    notification = Notification.objects.create(
        case=case, recipient=customer.email, subject=f"[{case.reference}] {subject}", body=body
    )
    enqueue_after_commit(outbox.DELIVER_NOTIFICATION, notification.pk)


def queue_notifications(rows: list[tuple]) -> int:
    """Write e-mails given as rows ``(case_id, recipient, subject, body)`` in one
    statement, and send them after commit with one fan-out task
    (``deliver_notifications``). Returns how many were written."""
    now = timezone.now()
    ids = insert_rows(Notification, ["case_id", "recipient", "subject", "body", "status", "attempts", "last_error",
                                     "created_at"],
                      [(*row, NotificationStatus.PENDING, 0, "", now) for row in rows])
    if ids:
        enqueue_after_commit(outbox.DELIVER_NOTIFICATIONS, ids)
    return len(ids)


def notification_deliver(*, notification_id: int, connection=None, actor=None) -> bool:
    """Send one pending notification, at most once. Returns whether it was sent now.

    A failed send leaves it pending, with the attempt and the error recorded,
    and raises so that the task retries with back-off. ``connection``: an open
    mail connection to reuse; ``actor``: the system user, read once by a batch."""
    from django.core.mail import send_mail

    try:
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",)).select_related("case")
                .filter(pk=notification_id, status=NotificationStatus.PENDING)
                .first()
            )
            if notification is None:
                return False
            notification.attempts += 1
            send_mail(notification.subject, notification.body, None, [notification.recipient], connection=connection)
            notification.status = NotificationStatus.SENT
            notification.sent_at = timezone.now()
            notification.save(update_fields=["status", "attempts", "sent_at"])
            if notification.case_id:
                record_event(notification.case, kind=EventKind.NOTIFICATION, actor=actor or system_user(),
                             message=notification.subject,
                             payload={"notification_id": notification.pk, "channel": "email"})
    except Exception as exc:
        Notification.objects.filter(pk=notification_id, status=NotificationStatus.PENDING).update(
            attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:1000]
        )
        raise
    return True


def notifications_deliver(*, notification_ids: list[int]) -> int:
    """Send a batch of pending notifications (an SLA sweep's) over one mail
    connection, each at most once and in a transaction of its own, as
    ``notification_deliver`` does. One that fails is left pending with its error
    and handed to the one-notification task, which retries it with back-off;
    when the mail server cannot be reached at all, the whole batch is. Returns
    how many were sent now."""
    from django.core.mail import get_connection

    sent, system = 0, system_user()
    try:
        mail = get_connection()
        mail.open()
    except Exception:  # noqa: BLE001 - any failure to connect: each is retried on its own
        logger.warning("mail server unreachable; %d notifications left to their own retries", len(notification_ids),
                       exc_info=True)
        for notification_id in notification_ids:
            enqueue_after_commit(outbox.DELIVER_NOTIFICATION, notification_id)
        return 0
    try:
        for notification_id in notification_ids:
            try:
                sent += notification_deliver(notification_id=notification_id, connection=mail, actor=system)
            except Exception:  # noqa: BLE001 - recorded on the notification; retried on its own
                logger.warning("notification %s not sent; retried on its own", notification_id, exc_info=True)
                enqueue_after_commit(outbox.DELIVER_NOTIFICATION, notification_id)
    finally:
        mail.close()
    return sent
