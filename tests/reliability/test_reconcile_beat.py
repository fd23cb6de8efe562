"""The daily reconciliation in real processes: two Celery beats started by
mistake, each sending the task (here every second, not daily), and two
workers running those runs at once, still open one case per orphan debit and
e-mail each customer once."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer
from disputes.models import Case, Notification
from disputes.workflow.names import Channel
from transactions.models import LedgerEntry, ReconciliationRun

from .processes import Processes, free_port, wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TASK = "disputes.tasks.reconcile_daily"


@pytest.fixture
def processes(tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    procs = Processes(tmp_path, url, DISPUTE_TEST_RECONCILE_EVERY="1", DISPUTE_RECONCILE_OPEN_CASES="true")
    procs.redis(int(url.rsplit(":", 1)[1].split("/")[0]))
    yield procs
    procs.stop_all()


def orphans(count: int) -> None:
    three_days_ago = timezone.now() - timedelta(days=3)
    for n in range(2):
        Customer.objects.create(name=f"Customer {n}", phone=f"+861390013900{n}", email=f"c{n}@example.com",
                                verified=True, bank_ref=f"C{n:05d}")
    for n in range(count):
        LedgerEntry.objects.create(
            entry_id=f"L{n}", customer_ref=f"C{n % 2:05d}", card_last4="1234", amount=Decimal("99.00"),
            currency="CNY", posted_at=three_days_ago + timedelta(minutes=n), kind="debit", rrn=f"{n:012d}",
            stan=f"{n:06d}", merchant_id="103287654110281", terminal_id="41082857")


def test_two_beats_and_two_workers_open_one_case_per_orphan_and_mail_each_once(processes):
    orphans(6)
    processes.worker()
    processes.worker()
    processes.beat()
    processes.beat("second-beat-schedule")
    try:
        wait_for(lambda: len(processes.task_results(TASK)) >= 6, 90, "six runs of the daily reconciliation")
        wait_for(lambda: Notification.objects.filter(status="sent").count() >= 6, 40, "the six e-mails")
    except AssertionError:
        print(processes.logs())
        raise
    finally:
        processes.stop_all()

    assert ReconciliationRun.objects.filter(orphans=6).count() >= 6
    assert Case.objects.filter(channel=Channel.AUTO).count() == 6
    assert sorted(Case.objects.values_list("ledger_entry__entry_id", flat=True)) == [f"L{n}" for n in range(6)]
    assert Notification.objects.count() == 6
    assert len(processes.mails_to("c0@example.com")) == 3 and len(processes.mails_to("c1@example.com")) == 3
    # Both beats sent the task (the schedule every second), and the later runs found every case open.
    beat_logs = sorted(processes.tmp.glob("beat-*.log"))
    assert len(beat_logs) == 2 and all("reconcile-daily" in log.read_text() for log in beat_logs)
    assert any("already open" in result and "0 opened" in result for result in processes.task_results(TASK))
