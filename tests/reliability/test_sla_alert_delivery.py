"""A real Celery worker and beat against the local Redis: an SLA breach raised
by beat's sweep is e-mailed exactly once, even when the worker is killed with
SIGKILL while it sends the e-mail and is started again."""
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from disputes.models import Case, CaseEvent, Notification, SlaAlert, StagePolicy
from disputes.workflow.names import EventKind, State

from .processes import Processes, wait_for

BROKER = "redis://127.0.0.1:6379/3"
DUTY = "duty@bank.example"

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def processes(tmp_path):
    redis.Redis.from_url(BROKER).flushdb()  # this test's own Redis database: no leftovers from an earlier run
    gate = tmp_path / "gate"
    gate.mkdir()
    procs = Processes(tmp_path, BROKER, DISPUTE_TEST_MAIL_GATE=str(gate), DISPUTE_TEST_MAIL_GATED=DUTY)
    procs.gate = gate
    yield procs
    procs.stop_all()
    redis.Redis.from_url(BROKER).flushdb()


def test_an_alert_email_is_delivered_once_when_the_worker_is_killed_while_sending(processes, file_case):
    # (An earlier transactional test may have flushed the seeded policies.)
    StagePolicy.objects.update_or_create(state=State.SUBMITTED, defaults={
        "target": 1, "unit": "days", "notify_assignee": False, "notify_supervisors": False, "notify_emails": DUTY})
    case = file_case(email="")
    # The stage target passed an hour ago: beat's next sweep raises the breach.
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Case.objects.filter(pk=case.pk).update(sla_due_at=an_hour_ago, sla_alert_at=an_hour_ago)

    worker = processes.worker()
    processes.beat()
    try:
        # The worker is inside send_mail for the breach e-mail, held by the gate.
        wait_for(lambda: list(processes.gate.glob("waiting-*")), 40, "the worker to start sending the alert e-mail")
        processes.kill(worker)  # SIGKILL, the worker and its pool child
        notification = Notification.objects.get(case=case, recipient=DUTY)
        assert processes.mails_to(DUTY) == []
        wait_for(lambda: Notification.objects.filter(pk=notification.pk, status="pending").exists(), 10,
                 "the killed worker's transaction to roll back")

        (processes.gate / "open").touch()
        processes.worker()
        wait_for(lambda: Notification.objects.filter(pk=notification.pk, status="sent").exists(), 40,
                 "the outbox sweep to re-send the e-mail through the new worker")
        # Several more sweeps (every second) find nothing left to send.
        processes.wait_for_sweeps_with_nothing_to_send(3, 30)
    except AssertionError:
        print(processes.logs())
        raise
    assert len(processes.mails_to(DUTY)) == 1
    assert SlaAlert.objects.filter(case=case).count() == 1
    assert CaseEvent.objects.filter(case=case, kind=EventKind.SLA_BREACH).count() == 1
    assert Notification.objects.filter(case=case, recipient=DUTY).count() == 1
    assert CaseEvent.objects.filter(case=case, kind=EventKind.NOTIFICATION).count() == 1
