from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from disputes.delivery.notifications import notification_deliver
from disputes.workflow.filing import case_file
from disputes.workflow.tracking import tracking_code_matches
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.errors import ActionForbidden
from disputes.models import Case, CaseEvent, Notification
from disputes.workflow.names import Channel, EventKind, State
from merchants.models import Merchant, Terminal
from tests.conftest import filing_data
from tests.disputes.merchants import merchant_on_record


def test_a_customer_files_on_the_web_and_gets_a_reference_and_tracking_code(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        filed = case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data())
    case = Case.objects.get(pk=filed.case.pk)
    assert case.state == State.SUBMITTED
    assert case.reference.startswith("DD")
    assert len(filed.tracking_code) == 10
    assert filed.tracking_code not in case.tracking_code_hash
    assert tracking_code_matches(case, filed.tracking_code.lower())
    assert not tracking_code_matches(case, "WRONGCODE1")
    assert case.amount == Decimal("128.50") and case.currency == "CNY"
    assert case.card.last4 == "1234"
    assert case.final_due_at > case.created_at
    [event] = CaseEvent.objects.filter(case=case)
    assert (event.kind, event.actor_label, event.to_state) == (EventKind.FILED, "customer", State.SUBMITTED)
    assert Notification.objects.filter(case=case, recipient="zhang@example.com", status="pending").exists()


def test_the_confirmation_email_is_sent_after_commit_once(db, django_capture_on_commit_callbacks, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            filed = case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data())
    finally:
        app.conf.task_always_eager = False
    assert len(mail.outbox) == 1
    assert filed.case.reference in mail.outbox[0].subject
    assert notification_deliver(notification_id=Notification.objects.get().pk) is False
    assert len(mail.outbox) == 1


def test_a_second_complaint_taken_by_the_call_center_reuses_the_customer_and_card(file_case, dave):
    first = file_case(actor=dave, channel=Channel.API)
    second = file_case(actor=dave, channel=Channel.API, amount=Decimal("9.90"))
    assert first.customer_id == second.customer_id
    assert first.card_id == second.card_id


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "-1"),
        ("amount", "12.345"),
        ("amount", "abc"),
        ("card_last4", "12345"),
        ("card_last4", "12a4"),
        ("merchant_id", "12345"),
        ("terminal_id", "123"),
        ("rrn", "1234567890123"),
        ("stan", "12"),
        ("phone", "call me"),
        ("currency", "XXX"),
        ("customer_name", "Zhang\r\nBcc: someone@example.com"),
        ("customer_name", "\u202egnp.exe"),
        ("customer_name", "\u200b\u200b"),
        ("merchant_name", "Shop\x1b[31m"),
    ],
)
def test_bad_input_is_refused_with_a_field_error_and_nothing_is_written(db, field, value):
    with pytest.raises(ValidationError) as excinfo:
        case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(**{field: value}))
    assert field in excinfo.value.message_dict
    assert not Case.objects.exists()
    assert not CaseEvent.objects.exists()


def test_a_float_amount_is_refused(db):
    with pytest.raises(ValidationError) as excinfo:
        case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(amount=128.5))
    assert "amount" in excinfo.value.message_dict


def test_staff_filing_needs_the_file_permission(db, alice, dave, erin):
    assert case_file(actor=alice, channel=Channel.STAFF, **filing_data()).case.channel == Channel.STAFF
    assert case_file(actor=dave, channel=Channel.API, **filing_data()).case.channel == Channel.API
    with pytest.raises(ActionForbidden):
        case_file(actor=erin, channel=Channel.STAFF, **filing_data())
    with pytest.raises(ActionForbidden):
        case_file(actor=alice, channel=Channel.WEB, **filing_data())


@pytest.mark.parametrize("typed", ["+86 138-0013-8000", "138 0013 8000", "(+86) 138.0013.8000", "0086 13800138000"])
def test_a_phone_is_stored_in_its_international_form_and_finds_the_same_customer(file_case, dave, typed):
    first = file_case(actor=dave, channel=Channel.API, phone=typed)
    second = file_case(actor=dave, channel=Channel.API, phone="+8613800138000")
    assert first.customer.phone == "+8613800138000"
    assert first.customer_id == second.customer_id


def test_a_failed_send_keeps_the_notification_pending_with_its_attempt_and_error(db, settings):
    settings.EMAIL_BACKEND = "tests.disputes.failing_mail.DownEmailBackend"
    case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data())
    notification = Notification.objects.get()
    with pytest.raises(ConnectionRefusedError):
        notification_deliver(notification_id=notification.pk)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.sent_at) == ("pending", 1, None)
    assert notification.last_error == "ConnectionRefusedError: mail server refused the connection"
    assert not CaseEvent.objects.filter(kind=EventKind.NOTIFICATION).exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notification_deliver(notification_id=notification.pk) is True
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1


def test_a_reference_drawn_twice_is_drawn_again_and_the_filing_goes_through(db, dave, monkeypatch):
    """The reference is random: one already taken is replaced, without a savepoint,
    and nothing of the first draw is left behind (no event, no e-mail, no case)."""
    from disputes.workflow import filing

    taken = case_file(actor=dave, channel=Channel.API, **filing_data()).case.reference
    draws = iter([taken, taken, "DD261130-FRESH1"])
    monkeypatch.setattr(filing, "new_reference", lambda now: next(draws))

    case = case_file(actor=dave, channel=Channel.API, **filing_data(amount=Decimal("9.90"))).case

    assert case.reference == "DD261130-FRESH1"
    assert Case.objects.get(reference=taken).amount == Decimal("128.50")
    assert Case.objects.count() == 2
    assert CaseEvent.objects.filter(case=case).count() == 1
    assert Notification.objects.count() == 2


def test_five_references_taken_in_a_row_refuse_the_filing_whole(db, dave, monkeypatch):
    from django.db import IntegrityError, transaction

    from disputes.workflow import filing

    taken = case_file(actor=dave, channel=Channel.API, **filing_data()).case.reference
    monkeypatch.setattr(filing, "new_reference", lambda now: taken)

    with pytest.raises(IntegrityError, match="five references"), transaction.atomic():
        case_file(actor=dave, channel=Channel.API, **filing_data(amount=Decimal("9.90")))

    assert Case.objects.count() == 1 and CaseEvent.objects.count() == 1


@pytest.mark.parametrize(("terminal_id", "on_record", "terminal_found"), [
    ("41082857", True, True),     # the merchant's own terminal
    ("", True, False),            # no terminal on the slip (was a server error: the query had no type for "none")
    ("99999999", True, False),    # a terminal that is not this merchant's
    ("41082857", False, True),    # an unknown merchant: the terminal alone, wherever it is on record
    ("", False, False),
])
def test_the_slip_finds_its_merchant_and_terminal_on_record(file_case, terminal_id, on_record, terminal_found):
    other = Merchant.objects.create(name="别家", merchant_id="999999999999999")
    merchant = merchant_on_record()
    terminal = Terminal.objects.create(merchant=merchant if on_record else other, terminal_id="41082857")
    Terminal.objects.create(merchant=other, terminal_id="99999999")
    case = file_case(terminal_id=terminal_id, **({} if on_record else {"merchant_id": "103287654110999"}))
    case = Case.objects.get(pk=case.pk)
    assert case.resolved_merchant == (merchant if on_record else None)
    assert case.resolved_terminal == (terminal if terminal_found else None)
