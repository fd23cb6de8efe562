"""Celery tasks: each takes ids and calls a service; the database is the truth."""
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from disputes.api import idempotency
from disputes.delivery import outbox, webhooks
from disputes.delivery.notifications import notification_deliver, notifications_deliver
from disputes.delivery.outbox import outbox_pending
from disputes.refunds.payment import refund_execute
from disputes.sla import sweep as sla_actions
from disputes.verification import checks as verification
from disputes.verification import opening
from transactions.importing.uploads import upload_import


@shared_task(
    name=outbox.DELIVER_NOTIFICATION,
    bind=True,
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def deliver_notification(self, notification_id: int) -> bool:
    return notification_deliver(notification_id=notification_id)


@shared_task(name=outbox.DELIVER_NOTIFICATIONS)
def deliver_notifications(notification_ids: list[int]) -> int:
    """A batch (the SLA sweep raises many at once and sends this one message
    after commit instead of thousands): sent over one mail connection; one that
    fails goes on to ``deliver_notification``'s retries."""
    return notifications_deliver(notification_ids=notification_ids)


@shared_task
def sweep_outbox() -> int:
    """Beat, every minute: re-send the work whose task was lost (broker down,
    worker killed): pending notifications, refunds approved or left being paid,
    and uploads still queued for import."""
    pending = outbox_pending(older_than=settings.DISPUTE_OUTBOX_RESEND_AFTER)
    for notification_id in pending.notification_ids:
        deliver_notification.delay(notification_id)
    for refund_id in pending.refund_ids:
        execute_refund.delay(refund_id)
    for run_id in pending.import_run_ids:
        import_upload.delay(run_id)
    return len(pending.notification_ids) + len(pending.refund_ids) + len(pending.import_run_ids)


@shared_task(name=outbox.EXECUTE_REFUND, bind=True)
def execute_refund(self, refund_id: int) -> bool:
    """A gateway failure is recorded on the refund (a supervisor retries it);
    anything else leaves it ``paying`` for the outbox sweep."""
    return refund_execute(refund_id=refund_id)


@shared_task
def sla_sweep() -> str:
    """Beat, every minute: raise the due SLA reminders and breaches once (the same
    code as ``manage.py sla_sweep``, which also takes the automatic steps). With
    more than a batch due, other worker processes take a part of it."""
    now = timezone.now()
    for _part in range(sla_actions.sla_sweep_parts(now=now) - 1):
        sla_sweep_part.apply_async(args=[now.isoformat()], expires=55)
    return str(sla_actions.sla_sweep(now=now, automatic_steps=False))


@shared_task
def sla_sweep_part(now: str) -> str:
    """A part of the minute's sweep (``sla_sweep`` sends it): the same sweep as of the same instant."""
    return str(sla_actions.sla_sweep(now=datetime.fromisoformat(now), automatic_steps=False))


@shared_task
def sla_automatic_steps() -> str:
    """Beat, every minute, beside ``sla_sweep``: escalate the cases whose merchant
    stayed silent past the stage target, close the cases quiet long enough."""
    return str(sla_actions.sla_automatic_steps())


# --- the REST API's webhooks and idempotency keys --------------------------------


@shared_task(name=outbox.DELIVER_WEBHOOK, bind=True, ignore_result=True)
def deliver_webhook(self, delivery_id: int) -> None:
    """One attempt; on failure the next is scheduled with back-off (the row
    keeps the schedule, so a lost task is picked up by sweep_webhooks)."""
    retry_in = webhooks.webhook_delivery_send(delivery_id=delivery_id)
    if retry_in is not None:
        deliver_webhook.apply_async((delivery_id,), countdown=retry_in.total_seconds())


@shared_task
def sweep_webhooks() -> int:
    """Beat, every minute: re-send webhook deliveries whose task was lost, and
    forget idempotency keys past their time to live."""
    due = webhooks.webhook_deliveries_due()
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
    idempotency.idempotency_purge()
    return len(due)


# --- verification against the records ----------------------------------------------


@shared_task(name=outbox.VERIFY_CASE, ignore_result=True)
def verify_case(case_id: int) -> None:
    """After filing: what the records say about the new case."""
    verification.case_verify_by_id(case_id=case_id)


@shared_task(name=outbox.VERIFY_OPEN_CASES, ignore_result=True)
def verify_open_cases() -> int:
    """After an import: check again the open cases the records could now answer."""
    return verification.cases_verify_open()


@shared_task(soft_time_limit=3600, time_limit=3900)
def reconcile_daily() -> str:
    """Beat, once a day (``DISPUTE_RECONCILE_AT``): the orphan debits as of now,
    and a case for each new one when ``DISPUTE_RECONCILE_OPEN_CASES`` is on."""
    return opening.reconcile_daily()


# --- ledger and settlement files uploaded on /staff/imports/ ----------------------

# Millions of rows take minutes, not the 60 s every other task gets.
IMPORT_TIME_LIMIT = 4 * 3600


@shared_task(name=outbox.IMPORT_UPLOAD, ignore_result=True,
             soft_time_limit=IMPORT_TIME_LIMIT, time_limit=IMPORT_TIME_LIMIT + 60)
def import_upload(run_id: int, language: str | None = None) -> None:
    """Import an uploaded file, its progress written to its run (once: a run no
    longer queued is left alone); bad lines explained in ``language``."""
    upload_import(run_id=run_id, language=language)
