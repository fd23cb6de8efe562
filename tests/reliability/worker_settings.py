"""Settings of the Celery worker and beat that the reliability tests start.

The project's settings, plus what makes a test observable and quick: an e-mail
backend that can hold a chosen message until the test opens a gate (so the
worker can be killed in the middle of sending), and one-second sweeps.
"""
import os
from datetime import timedelta

from config.settings import *  # noqa: F401,F403

EMAIL_BACKEND = "tests.reliability.gated_mail.EmailBackend"
DISPUTE_OUTBOX_RESEND_AFTER = timedelta(seconds=2)
CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {"task": "disputes.tasks.sweep_outbox", "schedule": 1.0},
    "sla-sweep": {"task": "disputes.tasks.sla_sweep", "schedule": 1.0},
    "sweep-webhooks": {"task": "disputes.tasks.sweep_webhooks", "schedule": 1.0},
}
# The daily reconciliation, every N seconds instead (tests/reliability/test_reconcile_beat.py).
if os.environ.get("DISPUTE_TEST_RECONCILE_EVERY"):
    CELERY_BEAT_SCHEDULE["reconcile-daily"] = {
        "task": "disputes.tasks.reconcile_daily", "schedule": float(os.environ["DISPUTE_TEST_RECONCILE_EVERY"])}
