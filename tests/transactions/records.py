"""Ledger entries and settlement records made directly, for the rules' tests."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from transactions.models import LedgerEntry, LedgerKind, SettlementRecord, SettlementStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
T = datetime(2026, 11, 10, 12, 0, tzinfo=SHANGHAI)
MERCHANT = "103287654110281"
TERMINAL = "41082857"


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def entry(entry_id: str, at: datetime, *, kind: str = LedgerKind.DEBIT, amount: str = "10.00", **fields) -> LedgerEntry:
    values = dict(customer_ref="C00001", card_last4="1234", currency="CNY", rrn="", stan="", auth_code="",
                  merchant_id=MERCHANT, terminal_id=TERMINAL)
    values.update(fields)
    return LedgerEntry.objects.create(entry_id=entry_id, posted_at=at, kind=kind, amount=Decimal(amount), **values)


def debit(entry_id: str, at: datetime, **fields) -> LedgerEntry:
    return entry(entry_id, at, **fields)


def record(record_id: str, at: datetime, *, status: str = SettlementStatus.APPROVED, amount: str = "10.00",
           **fields) -> SettlementRecord:
    values = dict(processor="银联商务", currency="CNY", rrn="", stan="", auth_code="", merchant_id=MERCHANT,
                  terminal_id=TERMINAL)
    values.update(fields)
    return SettlementRecord.objects.create(record_id=record_id, transacted_at=at, status=status,
                                           amount=Decimal(amount), **values)
