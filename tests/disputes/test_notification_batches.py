"""A batch of e-mails (an SLA sweep's) goes out over one mail connection, each
at most once; one that fails stays pending with its error and goes on to the
retrying one-notification task."""
import pytest
from django.core import mail

from disputes.delivery.notifications import notifications_deliver
from disputes.models import CaseEvent, Notification
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel, EventKind
from tests.conftest import filing_data

from .failing_mail import CountingEmailBackend

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting_mail(settings):
    settings.EMAIL_BACKEND = "tests.disputes.failing_mail.CountingEmailBackend"
    CountingEmailBackend.opened, CountingEmailBackend.down = 0, False
    yield CountingEmailBackend
    CountingEmailBackend.down = False


def batch(recipients):
    case = case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data()).case
    Notification.objects.all().delete()
    return case, [Notification.objects.create(case=case, recipient=r, subject=f"to {r}", body="b").pk
                  for r in recipients]


def test_a_batch_is_sent_over_one_connection_once_each_with_its_event(counting_mail):
    case, ids = batch(["a@example.com", "b@example.com", "c@example.com"])
    Notification.objects.filter(pk=ids[1]).update(status="sent")  # sent before: not again

    assert notifications_deliver(notification_ids=ids) == 2
    assert counting_mail.opened == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "c@example.com"]
    assert sorted(CaseEvent.objects.filter(case=case, kind=EventKind.NOTIFICATION)
                  .values_list("message", flat=True)) == ["to a@example.com", "to c@example.com"]
    assert notifications_deliver(notification_ids=ids) == 0
    assert len(mail.outbox) == 2


def test_one_refused_e_mail_stays_pending_with_its_error_and_goes_on_to_the_retries(
        counting_mail, django_capture_on_commit_callbacks):
    _case, ids = batch(["a@example.com", "refused@example.com", "c@example.com"])

    with django_capture_on_commit_callbacks(execute=False) as handed_on:
        assert notifications_deliver(notification_ids=ids) == 2

    refused = Notification.objects.get(pk=ids[1])
    assert (refused.status, refused.attempts, refused.last_error) == (
        "pending", 1, "ConnectionRefusedError: recipient refused")
    assert list(Notification.objects.filter(pk__in=[ids[0], ids[2]]).values_list("status", flat=True)) == ["sent"] * 2
    assert len(handed_on) == 1


def test_a_mail_server_out_of_reach_sends_nothing_and_hands_each_on(counting_mail, django_capture_on_commit_callbacks):
    _case, ids = batch(["a@example.com", "b@example.com"])
    counting_mail.down = True

    with django_capture_on_commit_callbacks(execute=False) as handed_on:
        assert notifications_deliver(notification_ids=ids) == 0

    assert set(Notification.objects.values_list("status", flat=True)) == {"pending"}
    assert len(handed_on) == 2 and mail.outbox == []
