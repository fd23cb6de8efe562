"""The Celery application: one for the web, the worker and beat.

Configuration comes from Django settings (the ``CELERY_`` names in
``config/settings.py``); tasks are discovered in each app's ``tasks.py``.

Database connections: Celery's Django fix-up closes them before and after
every task, so that each task paid a new PostgreSQL session (the server's
fork and start-up: about 12 ms of its CPU, more than the task itself; issue
12). Here a task treats its connection as a web request does: kept for
``DATABASE_CONN_MAX_AGE`` seconds, dropped after an error that left it
unusable, and health-checked before its first use in each task (a database
restarted meanwhile costs the next task one reconnection, not a failure).
``CELERY_DB_REUSE_MAX`` in the settings turns the fix-up's own closing off.
"""
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dispute_desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def connections_as_between_requests(sender=None, **kwargs) -> None:
    """What Django does at the start and the end of each request, for each task
    a worker runs (not for a task run eagerly inside a request or a test: that
    request's own connection and transaction are in use)."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    close_old_connections()
