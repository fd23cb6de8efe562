"""The bank opens a case itself for an orphan debit (``reconcile --open-cases``,
the default ``RECONCILE_CASE_OPENER``): an ``auto`` case for the verified
customer the ledger names, diagnosed at once, the customer told; never two
cases for one debit, not even with two runs at once."""
from __future__ import annotations

import io
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import translation

from customers.models import Card, Customer
from disputes.models import Case, CaseEvent, DebitCase, Notification, Outcome
from disputes.verification.checks import case_verify, case_verify_by_id
from disputes.workflow.actors import CUSTOMER
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel, EventKind, State
from merchants.models import Merchant
from tests.conftest import filing_data
from tests.transactions.records import MERCHANT, TERMINAL, T, debit
from transactions.models import OrphanCase
from transactions.reconciliation import orphan_cases_open, reconcile

AS_OF = T + timedelta(days=2)


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def customer(ref: str, *, phone: str = "+8613900139000", verified: bool = True, email: str = "li@example.com"):
    return Customer.objects.create(name="Li Lei", phone=phone, email=email, verified=verified,
                                   preferred_language="en", bank_ref=ref)


def reconcile_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("reconcile", "--as-of", AS_OF.isoformat(), *args, stdout=out, stderr=err)
    finally:
        out.seek(0), err.seek(0)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_an_orphan_debit_gets_an_auto_case_for_the_customer_the_ledger_names(settings):
    assert settings.RECONCILE_CASE_OPENER == "disputes.verification.opening.orphan_case_open"
    li = customer("C00001")
    card = Card.objects.create(customer=li, scheme="visa", last4="1234", bin6="622848")
    Merchant.objects.create(name="好又多超市", merchant_id=MERCHANT)
    debit("L1", T, amount="128.50", customer_ref="C00001", rrn="100000000347", stan="508225", auth_code="340191")

    out, _err = reconcile_command("--open-cases")

    assert "Cases: 1 opened, 0 already open, 0 failed." in out
    case = Case.objects.get()
    assert (case.channel, case.state, case.customer, case.card) == (Channel.AUTO, State.SUBMITTED, li, card)
    assert (case.card.last4, case.amount, case.currency, case.transaction_at) == ("1234", Decimal("128.50"), "CNY", T)
    assert (case.rrn, case.stan, case.auth_code, case.merchant_id, case.terminal_id) == (
        "100000000347", "508225", "340191", MERCHANT, TERMINAL)
    assert case.merchant_name == "好又多超市"
    assert OrphanCase.objects.get().case_reference == case.reference
    # The diagnosis is on the case when it commits, not left for a worker.
    assert case.verification.outcome == Outcome.ORPHAN
    assert case.ledger_entry.entry_id == "L1"
    assert DebitCase.objects.get(entry__entry_id="L1").case == case
    assert list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True).order_by("id")) == [
        EventKind.FILED, EventKind.VERIFICATION]


@pytest.mark.django_db
def test_the_check_queued_after_filing_does_not_check_the_opened_case_twice():
    customer("C00001")
    debit("L1", T, customer_ref="C00001")
    reconcile_command("--open-cases")
    case = Case.objects.get()

    assert case_verify_by_id(case_id=case.pk) is None  # the task VERIFY_CASE, run after commit
    assert CaseEvent.objects.filter(case=case, kind=EventKind.VERIFICATION).count() == 1


@pytest.mark.django_db
def test_the_customer_is_told_the_bank_opened_the_case_not_that_they_filed_it():
    customer("C00001")
    debit("L1", T, amount="128.50", customer_ref="C00001")

    reconcile_command("--open-cases")

    [mail] = Notification.objects.all()
    assert mail.recipient == "li@example.com"
    assert "We found a payment that did not reach the merchant" in mail.subject
    assert "card ending 1234 was debited 128.50 CNY" in mail.body
    assert "We have opened a case for you" in mail.body
    assert "received your complaint" not in mail.body


@pytest.mark.django_db
def test_a_complaint_filed_by_a_customer_still_gets_the_complaint_wording(file_case):
    case = file_case(channel=Channel.WEB, preferred_language="en")
    [mail] = Notification.objects.filter(case=case)
    assert "We have received your complaint" in mail.subject
    assert "did not reach the merchant" not in mail.body


@pytest.mark.django_db
def test_a_debit_whose_customer_ref_names_no_verified_customer_is_refused_with_the_reason():
    customer("C00001")
    customer("C00002", phone="+8613900139002", verified=False)  # nobody confirmed who this is
    debit("L1", T, rrn="100000000001", customer_ref="C00001")
    debit("L2", T, rrn="100000000002", customer_ref="C00002")
    debit("L3", T, rrn="100000000003", customer_ref="C99999")

    with pytest.raises(CommandError, match="2 cases could not be opened"):
        reconcile_command("--open-cases")

    assert list(Case.objects.values_list("ledger_entry__entry_id", flat=True)) == ["L1"]
    assert list(OrphanCase.objects.values_list("entry__entry_id", flat=True)) == ["L1"]
    # A later run, once the bank has confirmed the customer, opens the case.
    Customer.objects.filter(bank_ref="C00002").update(verified=True)
    with pytest.raises(CommandError, match="1 cases could not be opened"):
        reconcile_command("--open-cases")
    assert sorted(Case.objects.values_list("ledger_entry__entry_id", flat=True)) == ["L1", "L2"]


@pytest.mark.django_db
def test_the_refusal_names_the_debit_and_the_missing_reference():
    debit("L3", T, customer_ref="C99999")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("reconcile", "--as-of", AS_OF.isoformat(), "--open-cases", stdout=io.StringIO(), stderr=err)
    assert "L3: no case opened: No verified customer has the bank reference “C99999”" in err.getvalue()


@pytest.mark.django_db
def test_a_debit_a_customer_already_complained_about_gets_no_second_case(system):
    customer("C00001")
    debit("L1", T, amount="128.50", customer_ref="C00001", rrn="100000000347")
    complaint = case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(
        transaction_at=T, rrn="100000000347", stan="", terminal_id="", merchant_id="")).case
    case_verify(case=complaint, actor=system)

    out, _err = reconcile_command("--open-cases")

    assert "Cases: 0 opened, 1 already open, 0 failed." in out
    assert list(Case.objects.all()) == [complaint]
    assert OrphanCase.objects.get().case_reference == complaint.reference


@pytest.mark.django_db
def test_a_debit_whose_complaint_ended_long_ago_gets_a_new_case(system, settings):
    customer("C00001")
    debit("L1", T, amount="128.50", customer_ref="C00001", rrn="100000000347")
    old = case_file(actor=CUSTOMER, channel=Channel.WEB, **filing_data(
        transaction_at=T, rrn="100000000347", stan="", terminal_id="", merchant_id="")).case
    case_verify(case=old, actor=system)
    Case.objects.filter(pk=old.pk).update(ended_at=T - settings.DISPUTE_REOPEN_WINDOW, closed_at=T)
    Case.objects.filter(pk=old.pk).update(state=State.CLOSED)

    out, _err = reconcile_command("--open-cases")

    assert "Cases: 1 opened, 0 already open, 0 failed." in out
    new = Case.objects.get(channel=Channel.AUTO)
    assert DebitCase.objects.get().case == new and new.linked_to is None


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_open_one_case_per_debit_and_one_email_each():
    customer("C00001")
    customer("C00002", phone="+8613900139002", email="han@example.com")
    for n in range(6):
        debit(f"L{n}", T + timedelta(minutes=n), rrn=f"10000000000{n}", customer_ref=f"C0000{1 + n % 2}")
    runs = [reconcile(as_of=AS_OF), reconcile(as_of=AS_OF)]
    start = threading.Barrier(2)
    results, errors = [], []

    def open_cases(run):
        try:
            start.wait(timeout=10)
            results.append(orphan_cases_open(run))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=open_cases, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert all(not result.failed for result in results)
    assert sum(result.opened for result in results) == 6
    assert sum(result.already_open for result in results) == 6
    assert Case.objects.filter(channel=Channel.AUTO).count() == 6
    assert sorted(Case.objects.values_list("ledger_entry__entry_id", flat=True)) == [f"L{n}" for n in range(6)]
    assert Notification.objects.count() == 6
