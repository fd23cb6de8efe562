"""The Celery application: one for the web, the worker and beat.

Configuration comes from Django settings (the ``CELERY_`` names in
``config/settings.py``); tasks are discovered in each app's ``tasks.py``.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dispute_desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
