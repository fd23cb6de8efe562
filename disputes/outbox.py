"""Sending work to Celery only after the database has it.

Every side effect (an e-mail, a refund payment, a webhook) is first a row
written in the transaction of the change that causes it; its task is sent
after commit. A broker that is down only delays the task: the rows stay
pending and the periodic sweeps send them again.
"""
import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_after_commit(task, *args) -> None:
    """``task.delay(*args)`` once the current transaction commits; broker errors are logged, not raised."""

    def send() -> None:
        try:
            task.delay(*args)
        except Exception:  # noqa: BLE001 - any broker failure; the database keeps the work
            logger.warning("broker unavailable; %s%r left for the sweep", task.name, args, exc_info=True)

    transaction.on_commit(send)
