"""Two Celery beat schedulers started at once by mistake (two nodes both running
beat), with two workers: every SLA sweep runs twice as often, yet each due case
gets one alert, one event and one e-mail, and nothing is sent twice."""
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from disputes.models import Case, CaseEvent, Notification, SlaAlert, StagePolicy
from disputes.workflow.names import EventKind, State

from .processes import Processes, wait_for

BROKER = "redis://127.0.0.1:6379/4"
DUTY = "duty-two-beats@bank.example"
CASES = 6

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def processes(tmp_path):
    redis.Redis.from_url(BROKER).flushdb()
    procs = Processes(tmp_path, BROKER)
    yield procs
    procs.stop_all()
    redis.Redis.from_url(BROKER).flushdb()


def test_two_beats_at_once_raise_and_send_each_alert_once(processes, file_case, tmp_path):
    StagePolicy.objects.update_or_create(state=State.SUBMITTED, defaults={
        "target": 1, "unit": "days", "notify_assignee": False, "notify_supervisors": False, "notify_emails": DUTY})
    cases = [file_case(email="") for _ in range(CASES)]
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(sla_due_at=an_hour_ago, sla_alert_at=an_hour_ago)

    processes.worker()
    processes.worker()
    processes.beat()
    # The second beat keeps its schedule in a file of its own, as on another node.
    (tmp_path / "second").mkdir()
    second = Processes(tmp_path / "second", BROKER)
    second.beat()
    try:
        wait_for(lambda: Notification.objects.filter(case__in=cases, recipient=DUTY, status="sent").count() >= CASES,
                 60, "every breach e-mail to be sent")
        wait_for(lambda: len(processes.task_results("disputes.tasks.sla_sweep")) >= 10, 60,
                 "ten more SLA sweeps from the two beats")
        processes.wait_for_sweeps_with_nothing_to_send(3, 30)
    except AssertionError:
        print(processes.logs(), second.logs())
        raise
    finally:
        second.stop_all()
    sweeps = len(processes.task_results("disputes.tasks.sla_sweep"))
    alerts = SlaAlert.objects.filter(case__in=cases).count()
    events = CaseEvent.objects.filter(case__in=cases, kind=EventKind.SLA_BREACH).count()
    notifications = Notification.objects.filter(case__in=cases, recipient=DUTY).count()
    mails = len(processes.mails_to(DUTY))
    print(f"\nTwo beats: {sweeps} SLA sweeps by 2 workers over {CASES} breached cases; alerts {alerts}, "
          f"breach events {events}, e-mails queued {notifications}, e-mails delivered {mails}; "
          f"duplicated {max(0, mails - CASES) + max(0, alerts - CASES)}, lost {max(0, CASES - mails)}")
    assert (alerts, events, notifications, mails) == (CASES, CASES, CASES, CASES)
