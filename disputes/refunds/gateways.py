"""The refund gateways: what actually pays a refund (docs/design.md, "Refunds").

``refund_gateway()`` builds the one ``settings.DISPUTE_REFUND_GATEWAY`` names
(a dotted path). Every gateway pays a ``RefundPayment`` and returns a
``Receipt`` with the payment's reference, or raises ``GatewayError``. Paying
the same refund again (the same ``idempotency_key``) must return the first
payment's reference and pay nothing: that is what makes a retried task, a
redelivered one, or a worker killed between the payment and the commit harmless.

- ``LedgerGateway`` (default) posts a ``refund`` entry to the ledger of the
  ``transactions`` app, naming the debit by its rrn / terminal + stan so that
  reconciliation counts it; its ``entry_id`` is derived from the refund id and
  unique, so it is posted once. It runs in the caller's transaction.
- ``HttpGateway`` POSTs the payment to the bank's payment system
  (``DISPUTE_REFUND_GATEWAY_URL``), signed with HMAC-SHA256
  (``DISPUTE_REFUND_GATEWAY_SECRET``) and carrying an ``Idempotency-Key``.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from core import outbound
from disputes.delivery.webhooks import encode_body, sign
from transactions.models import LedgerEntry, LedgerKind

SIGNATURE_HEADER = "Dispute-Desk-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class GatewayError(Exception):
    """The payment was not confirmed: refused, failed or not answered."""


@dataclass(frozen=True)
class RefundPayment:
    """What a gateway needs to pay one refund; the same for every attempt."""

    refund_id: int
    idempotency_key: str
    ledger_entry_id: str
    case_reference: str
    amount: Decimal
    currency: str
    customer_ref: str
    card_last4: str
    merchant_id: str
    terminal_id: str
    rrn: str
    stan: str
    auth_code: str

    def as_json(self) -> dict:
        data = asdict(self)
        data["amount"] = str(self.amount)
        return data


@dataclass(frozen=True)
class Receipt:
    reference: str


class RefundGateway:
    """The interface: ``name`` (its key in ``DISPUTE_REFUND_SETTLEMENT_DAYS``) and ``pay``."""

    name = ""

    @property
    def settlement_days(self) -> int:
        """Business days from the payment until the money shows on the card."""
        return int(settings.DISPUTE_REFUND_SETTLEMENT_DAYS.get(self.name, 0))

    def pay(self, payment: RefundPayment) -> Receipt:
        raise NotImplementedError


class LedgerGateway(RefundGateway):
    name = "ledger"

    def pay(self, payment: RefundPayment) -> Receipt:
        entry, _created = LedgerEntry.objects.get_or_create(
            entry_id=payment.ledger_entry_id,
            defaults={
                "kind": LedgerKind.REFUND, "amount": payment.amount, "currency": payment.currency,
                "posted_at": timezone.now(), "customer_ref": payment.customer_ref, "card_last4": payment.card_last4,
                "merchant_id": payment.merchant_id, "terminal_id": payment.terminal_id, "rrn": payment.rrn,
                "stan": payment.stan, "auth_code": payment.auth_code,
            },
        )
        if (entry.kind, entry.amount, entry.currency) != (LedgerKind.REFUND, payment.amount, payment.currency):
            raise GatewayError(f"ledger entry {entry.entry_id} exists and is not this refund")
        return Receipt(reference=entry.entry_id)


# A receipt is a few dozen bytes; more is not read.
ANSWER_MAX_BYTES = 65536


class HttpGateway(RefundGateway):
    name = "http"

    def __init__(self, *, url: str | None = None, secret: str | None = None, timeout: float | None = None):
        self.url = url if url is not None else settings.DISPUTE_REFUND_GATEWAY_URL
        self.secret = secret if secret is not None else settings.DISPUTE_REFUND_GATEWAY_SECRET
        self.timeout = timeout if timeout is not None else settings.DISPUTE_REFUND_GATEWAY_TIMEOUT
        if not self.url or not self.secret:
            raise GatewayError("DISPUTE_REFUND_GATEWAY_URL and DISPUTE_REFUND_GATEWAY_SECRET must be set")

    def pay(self, payment: RefundPayment) -> Receipt:
        body = encode_body(payment.as_json())
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "User-Agent": "DisputeDesk-Refunds/1",
            IDEMPOTENCY_HEADER: payment.idempotency_key,
            SIGNATURE_HEADER: sign(secret=self.secret, timestamp=int(time.time()), body=body),
        })
        try:
            with outbound.exchange(request, seconds=self.timeout) as response:
                answer = response.read(ANSWER_MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise GatewayError(f"the payment system answered {outbound.status_text(exc.code)}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise GatewayError(f"the payment system did not answer: {type(exc).__name__}: {exc}"[:500]) from None
        if len(answer) > ANSWER_MAX_BYTES:  # cut short, it could only read as "no reference"
            raise GatewayError(f"the payment system's answer is over {ANSWER_MAX_BYTES // 1024} kB: not read")
        try:
            reference = json.loads(answer)["reference"]
        except (ValueError, KeyError, TypeError):
            raise GatewayError("the payment system's answer has no payment reference") from None
        if not isinstance(reference, str) or not 0 < len(reference) <= 64:
            raise GatewayError("the payment system's payment reference is not 1 to 64 characters")
        return Receipt(reference=reference)


def refund_gateway() -> RefundGateway:
    """The gateway ``settings.DISPUTE_REFUND_GATEWAY`` names."""
    return import_string(settings.DISPUTE_REFUND_GATEWAY)()
