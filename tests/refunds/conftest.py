from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from disputes.workflow.names import Role
from disputes.workflow.steps import case_transition
from transactions.models import LedgerEntry, LedgerKind

from .payment_stub import SECRET, PaymentStub

PAID_AT = timedelta(days=2)  # the disputed payment, two days ago: past reconciliation's 24-hour grace


@pytest.fixture
def frank(db):
    """A third supervisor: the second approval of a refund bob proposed and carol approved."""
    user = User.objects.create_user(username="frank", password="x", email="frank@bank.example")
    user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def debit(db):
    """The ledger's debit of the complaint filing_data() describes (128.50 CNY, rrn 100000000347)."""
    return LedgerEntry.objects.create(
        entry_id="D1", customer_ref="C1", card_last4="1234", amount=Decimal("128.50"), currency="CNY",
        posted_at=timezone.now() - PAID_AT, kind=LedgerKind.DEBIT, rrn="100000000347", stan="508225",
        auth_code="340191", merchant_id="103287654110281", terminal_id="41082857")


@pytest.fixture
def verifying(file_case, alice, debit):
    """file() -> a case in ``verifying`` whose matched debit is ``debit`` (checked against the ledger)."""
    from disputes.verification.checks import case_verify

    def _file(**overrides):
        case = file_case(transaction_at=timezone.now() - PAID_AT, **overrides)
        case = case_transition(case=case, name="start_verification", actor=alice)
        case_verify(case=case, actor=alice)
        case.refresh_from_db()
        assert case.ledger_entry == debit
        return case

    return _file


@pytest.fixture(autouse=True)
def _english():
    """Messages checked in English (the customer's own language is the letters' and e-mails' business)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def stub():
    """The bank's payment API, stubbed on a local port (tests/refunds/payment_stub.py)."""
    with PaymentStub(SECRET) as running:
        yield running


@pytest.fixture
def http_gateway(settings, stub):
    """Refunds paid through the HTTP gateway, to the stub."""
    settings.DISPUTE_REFUND_GATEWAY = "disputes.refunds.gateways.HttpGateway"
    settings.DISPUTE_REFUND_GATEWAY_URL = stub.url
    settings.DISPUTE_REFUND_GATEWAY_SECRET = SECRET
    settings.DISPUTE_REFUND_GATEWAY_TIMEOUT = 2
    return stub
