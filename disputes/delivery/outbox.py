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

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

DELIVER_NOTIFICATION = "disputes.tasks.deliver_notification"
DELIVER_NOTIFICATIONS = "disputes.tasks.deliver_notifications"
EXECUTE_REFUND = "disputes.tasks.execute_refund"
DELIVER_WEBHOOK = "disputes.tasks.deliver_webhook"


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
