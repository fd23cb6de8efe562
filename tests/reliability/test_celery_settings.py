"""The Celery set-up the reliability of the SLA depends on (config/settings.py)."""
from config.celery import app
from disputes import tasks


def test_tasks_are_acknowledged_late_requeued_on_worker_loss_and_time_limited():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.task_publish_retry is False  # a missing broker never blocks a request


def test_email_delivery_retries_with_backoff_on_mail_server_errors():
    task = tasks.deliver_notification
    assert OSError in task.autoretry_for  # smtplib.SMTPException is an OSError
    assert task.retry_backoff and task.retry_jitter and task.max_retries >= 5


def test_beat_runs_the_sla_sweep_and_the_outbox_sweep_every_minute():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule["disputes.tasks.sla_sweep"] == 60.0
    assert schedule["disputes.tasks.sweep_outbox"] == 60.0
    assert schedule["disputes.tasks.sla_automatic_steps"] == 60.0
    sla_entry = next(e for e in app.conf.beat_schedule.values() if e["task"] == "disputes.tasks.sla_sweep")
    assert sla_entry["options"]["expires"] < 60  # sweeps missed while the worker was away do not pile up
