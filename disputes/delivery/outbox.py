"""Sending work to Celery only after the database has it.

Every side effect (an e-mail, a refund payment, a webhook) is first a row
written in the transaction of the change that causes it; its task is sent
after commit. A broker that is down only delays the task: the rows stay
pending and the periodic sweeps send them again.

Work is queued by task *name*, so nothing below ``disputes/tasks.py`` imports
it (the tasks call the services, never the other way round). The names are
the tasks' registered names; ``tasks.py`` declares each task with one of them.
"""
import logging
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from disputes.models import Notification, NotificationStatus, Refund, RefundStatus
from transactions.models import ImportRun, ImportStatus

logger = logging.getLogger(__name__)

DELIVER_NOTIFICATION = "disputes.tasks.deliver_notification"
DELIVER_NOTIFICATIONS = "disputes.tasks.deliver_notifications"
EXECUTE_REFUND = "disputes.tasks.execute_refund"
DELIVER_WEBHOOK = "disputes.tasks.deliver_webhook"
VERIFY_CASE = "disputes.tasks.verify_case"
VERIFY_OPEN_CASES = "disputes.tasks.verify_open_cases"
IMPORT_UPLOAD = "disputes.tasks.import_upload"


def enqueue_after_commit(task_name: str, *args) -> None:
    """Run the task ``task_name`` with ``args`` once the current transaction
    commits; broker errors are logged, not raised. An unknown name raises
    ``KeyError`` at once (a programming error, not a broker outage)."""
    task = current_app.tasks[task_name]

    def send() -> None:
        try:
            task.delay(*args)
        except Exception:  # noqa: BLE001 - any broker failure; the database keeps the work
            logger.warning("broker unavailable; %s%r left for the sweep", task_name, args, exc_info=True)

    transaction.on_commit(send)


@dataclass(frozen=True)
class PendingWork:
    notification_ids: list[int]
    refund_ids: list[int]
    import_run_ids: list[int]


def outbox_pending(*, older_than: timedelta = timedelta(seconds=60), limit: int = 500) -> PendingWork:
    """Work whose task seems lost (broker down, worker died): the sweep re-sends it
    (notifications, approved refunds, uploaded files still queued for import).
    Sending twice is harmless: each task does its work at most once."""
    cutoff = timezone.now() - older_than
    notifications = (
        Notification.objects.filter(status=NotificationStatus.PENDING, created_at__lte=cutoff)
        .order_by("created_at").values_list("pk", flat=True)[:limit]
    )
    # Approved and not tried since the cutoff, or left being paid (its worker died):
    # the payment task is idempotent, the gateway's key makes a payment made once final.
    refunds = (
        Refund.objects.filter(Q(status=RefundStatus.APPROVED, decided_at__lte=cutoff)
                              | Q(status__in=[RefundStatus.APPROVED, RefundStatus.PAYING], attempted_at__lte=cutoff))
        .order_by("pk").values_list("pk", flat=True)[:limit]
    )
    uploads = (
        ImportRun.objects.filter(status=ImportStatus.QUEUED, started_at__lte=cutoff)
        .order_by("started_at").values_list("pk", flat=True)[:limit]
    )
    return PendingWork(notification_ids=list(notifications), refund_ids=list(refunds),
                       import_run_ids=list(uploads))
