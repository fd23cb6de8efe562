"""Building the demo data through the services."""
from __future__ import annotations

import logging
import random
import string
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.celery import app as celery_app
from customers.models import Customer
from disputes.demo.data import (
    AGENT,
    APPROVER,
    CALL_CENTER,
    CASE_PLANS,
    COMPLAINTS,
    CUSTOMER_ACTOR,
    CUSTOMER_NAMES,
    DEFAULT_SEED,
    DEMO_TAG,
    GUIDE_COMPLAINT,
    GUIDE_MERCHANT,
    GUIDE_PROCESSOR,
    GUIDE_REFERENCE,
    GUIDE_TERMINAL,
    ISSUER_BINS,
    MERCHANTS,
    PROCESSORS,
    REJECT_REASONS,
    STEP_NOTES,
    SUPERVISOR,
    SYSTEM,
    TERMINAL_MODELS,
)
from disputes.demo.users import DEMO_USERS
from disputes.models import Case, NoteVisibility, Refund, RefundStatus
from disputes.refunds.payment import refund_execute
from disputes.workflow.actors import CUSTOMER, system_user
from disputes.workflow.casework import case_add_note, case_assign
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel
from disputes.workflow.steps import case_transition
from merchants.models import Merchant, PaymentProcessor, Terminal, TerminalStatus
from transactions.models import LedgerEntry, LedgerKind, SettlementRecord, SettlementStatus


@dataclass
class DemoDataOutcome:
    created: bool
    counts: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Cast:
    agents: list
    supervisors: list
    call_center: object
    system: object

    @classmethod
    def load(cls) -> _Cast:
        User = get_user_model()
        users = {user.username: user for user in User.objects.filter(username__in=[u.username for u in DEMO_USERS])}
        missing = [spec.username for spec in DEMO_USERS if spec.username not in users]
        if missing:
            raise LookupError(f"demo users missing: {', '.join(missing)}; run demo_users_ensure() first")
        return cls(
            agents=[users["agent1"], users["agent2"]],
            supervisors=[users["supervisor1"], users["supervisor2"]],
            call_center=users["callcenter1"],
            system=system_user(),
        )


def demo_data_exists() -> bool:
    """The demo merchants are made in the same transaction as everything else:
    if one exists, the demo data does."""
    return Merchant.objects.filter(merchant_id=_merchant_id(MERCHANTS[0], 1)).exists()


def _merchant_id(spec: tuple, sequence: int) -> str:
    _name, acquirer, area, mcc, *_rest = spec
    return f"{acquirer}{area}{mcc}{sequence:04d}"


@contextmanager
def _tasks_run_in_process() -> Iterator[None]:
    """Run the Celery tasks the services schedule here, not through a broker:
    seeding must neither wait on a broker that is down nor leave work in it.
    Their per-task log lines would only bury the passwords printed above."""
    quieted = {name: logging.getLogger(name) for name in ("celery.app.trace", "kombu.connection")}
    levels = {name: logger.level for name, logger in quieted.items()}
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    for logger in quieted.values():
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous
        for name, logger in quieted.items():
            logger.setLevel(levels[name])


def demo_data_create(*, seed: int = DEFAULT_SEED) -> DemoDataOutcome:
    """Create the demo data unless it exists; all of it or nothing.

    Needs the demo users (``demo_users_ensure``)."""
    if demo_data_exists():
        return DemoDataOutcome(created=False)
    cast = _Cast.load()
    builder = _Builder(rng=random.Random(seed), cast=cast, now=timezone.now())
    with _tasks_run_in_process(), transaction.atomic():
        builder.reference_data()
        builder.cases()
        builder.background_transactions()
        builder.guide_examples()
        builder.bank_customers()
    return DemoDataOutcome(created=True, counts=dict(builder.counts), states=dict(builder.states))


def _bank_ref(phone: str) -> str:
    """The demo ledger's ``customer_ref`` of the customer with this phone."""
    return f"C{phone[-5:]}"


class _Builder:
    def __init__(self, *, rng: random.Random, cast: _Cast, now: datetime) -> None:
        self.rng = rng
        self.cast = cast
        self.now = now
        self.counts: Counter[str] = Counter()
        self.states: Counter[str] = Counter()
        self.merchants: list[Merchant] = []
        self.terminals: dict[int, list[Terminal]] = {}
        self.processor_of: dict[int, PaymentProcessor] = {}
        self.customers: list[tuple[str, str, str]] = []  # (name, phone, language)
        self._ledger_seq = 0
        self._settlement_seq = 0
        self._rrn_seq = 0

    # --- reference data --------------------------------------------------------------------

    def reference_data(self) -> None:
        processors = {}
        for name, licence, phone, hours in PROCESSORS:
            # Real reference data may already name these processors: keep it.
            processors[name], _created = PaymentProcessor.objects.get_or_create(name=name, defaults=dict(
                licence_number=licence, licensed=True, inquiry_phone=phone,
                inquiry_contact=f"{name} 客服中心", promised_response_hours=hours,
            ))
        self.counts["processors"] = len(processors)
        for sequence, spec in enumerate(MERCHANTS, start=1):
            name, _acquirer, _area, _mcc, address, processor = spec
            merchant = Merchant.objects.create(
                name=name, merchant_id=_merchant_id(spec, sequence), address=address,
                contact_name=self.rng.choice(CUSTOMER_NAMES[:20]) + " 店长",
                contact_phone=f"021-{self.rng.randrange(10_000_000, 99_999_999)}",
            )
            self.merchants.append(merchant)
            self.processor_of[merchant.pk] = processors[processor]
            terminals = []
            for _n in range(self.rng.randint(2, 3)):
                # The first terminal of some merchants is the faulty one customers complain about.
                status = TerminalStatus.FAULTY if not terminals and self.rng.random() < 0.4 else TerminalStatus.ACTIVE
                terminals.append(Terminal.objects.create(
                    merchant=merchant, terminal_id=f"{self.rng.randrange(10_000_000, 99_999_999)}",
                    model=self.rng.choice(TERMINAL_MODELS), status=status,
                ))
            self.terminals[merchant.pk] = terminals
        Terminal.objects.filter(pk=self.terminals[self.merchants[-1].pk][-1].pk).update(status=TerminalStatus.RETIRED)
        self.counts["merchants"] = len(self.merchants)
        self.counts["terminals"] = sum(len(t) for t in self.terminals.values())
        self.customers = [
            (name, f"+86138{self.rng.randrange(10_000_000, 99_999_999)}", "en" if name.isascii() else "zh-hans")
            for name in CUSTOMER_NAMES
        ]

    # --- transaction records ---------------------------------------------------------------------

    def _rrn(self) -> str:
        self._rrn_seq += 1
        return f"{620_000_000_000 + self._rrn_seq * 7919:012d}"

    def _slip(self) -> dict[str, object]:
        """A POS payment: where, when, how much, and the slip numbers."""
        merchant = self.rng.choice(self.merchants)
        terminal = self.rng.choice(self.terminals[merchant.pk])
        amount = Decimal(self.rng.choice(("12.50", "38.00", "45.80", "128.50", "256.00", "399.00", "1299.00", "3580.00")))
        return {
            "merchant": merchant,
            "terminal": terminal,
            "amount": amount,
            "at": self.now - timedelta(minutes=self.rng.randrange(3 * 60, 20 * 24 * 60)),
            "rrn": self._rrn(),
            "stan": f"{self.rng.randrange(1_000_000):06d}",
            "auth_code": "".join(self.rng.choice(string.digits + "ABCDEF") for _ in range(6)),
        }

    def _ledger(self, slip: dict, *, kind: str, card_last4: str, customer_ref: str, after: timedelta) -> LedgerEntry:
        self._ledger_seq += 1
        self.counts["ledger entries"] += 1
        return LedgerEntry.objects.create(
            entry_id=f"LD{self._ledger_seq:06d}", customer_ref=customer_ref, card_last4=card_last4,
            amount=slip["amount"], currency="CNY", posted_at=slip["at"] + after, kind=kind,
            rrn=slip["rrn"], stan=slip["stan"], auth_code=slip["auth_code"] if kind == LedgerKind.DEBIT else "",
            merchant_id=slip["merchant"].merchant_id, terminal_id=slip["terminal"].terminal_id,
        )

    def _settlement(self, slip: dict, *, status: str) -> SettlementRecord:
        self._settlement_seq += 1
        self.counts["settlement records"] += 1
        return SettlementRecord.objects.create(
            record_id=f"SD{self._settlement_seq:06d}", processor=self.processor_of[slip["merchant"].pk].name,
            merchant_id=slip["merchant"].merchant_id, terminal_id=slip["terminal"].terminal_id,
            rrn=slip["rrn"], stan=slip["stan"], auth_code=slip["auth_code"], amount=slip["amount"], currency="CNY",
            transacted_at=slip["at"], status=status,
        )

    def background_transactions(self) -> None:
        """Payments that went through, and a few orphan debits nobody has complained about yet."""
        for n in range(60):
            slip = self._slip()
            last4 = f"{self.rng.randrange(10_000):04d}"
            self._ledger(slip, kind=LedgerKind.DEBIT, card_last4=last4, customer_ref=f"C{n:05d}", after=timedelta(seconds=2))
            self._settlement(slip, status=SettlementStatus.APPROVED)
        for n in range(5):
            slip = self._slip()
            last4 = f"{self.rng.randrange(10_000):04d}"
            # Orphans of demo customers: ``reconcile --open-cases`` opens their cases.
            self._ledger(slip, kind=LedgerKind.DEBIT, card_last4=last4, customer_ref=_bank_ref(self.customers[n][1]),
                         after=timedelta(seconds=3))
            self._settlement(slip, status=SettlementStatus.TIMEOUT)

    def bank_customers(self) -> None:
        """The demo customers as the bank knows them: a verified record each, with
        the reference its ledger rows carry (``customer_ref``)."""
        people = [(name, phone, language) for name, phone, language in self.customers]
        people.append((GUIDE_COMPLAINT["customer_name"], GUIDE_COMPLAINT["phone"], "zh-hans"))
        for name, phone, language in people:
            ref = _bank_ref(phone)
            if Customer.objects.filter(bank_ref=ref).exists():
                continue  # two demo phones ending alike: the first keeps the reference
            customer = Customer.objects.filter(phone=phone, verified=True).first() or Customer(
                name=name, phone=phone, verified=True, preferred_language=language)
            customer.bank_ref = ref
            customer.save()

    # --- cases --------------------------------------------------------------------------------

    def cases(self) -> None:
        plans = [steps for count, steps in CASE_PLANS for _n in range(count)]
        self.rng.shuffle(plans)
        for number, steps in enumerate(plans):
            case = self._file(number, steps)
            self._walk(case, steps)
            self.states[case.state] += 1
        self.counts["cases"] = len(plans)
        self.counts["customers"] = min(len(plans), len(self.customers))

    def _file(self, number: int, steps: tuple) -> Case:
        name, phone, language = self.customers[number % len(self.customers)]
        slip = self._slip()
        last4 = f"{self.rng.randrange(10_000):04d}"
        # What the customer saw at the POS: failed, yet the card was debited.
        self._ledger(slip, kind=LedgerKind.DEBIT, card_last4=last4, customer_ref=_bank_ref(phone), after=timedelta(seconds=5))
        self._settlement(slip, status=self.rng.choice((SettlementStatus.TIMEOUT, SettlementStatus.DECLINED)))
        names = [name for name, _who in steps]
        if "reversal_found" in names:
            self._ledger(slip, kind=LedgerKind.REVERSAL, card_last4=last4, customer_ref=_bank_ref(phone), after=timedelta(hours=20))
        if "merchant_refunded" in names:
            self._ledger(slip, kind=LedgerKind.REFUND, card_last4=last4, customer_ref=_bank_ref(phone), after=timedelta(days=2))

        channel, actor = self.rng.choice((
            (Channel.WEB, CUSTOMER), (Channel.WEB, CUSTOMER), (Channel.STAFF, self.rng.choice(self.cast.agents)),
            (Channel.API, self.cast.call_center),
        ))
        if number % 17 == 5:
            channel, actor = Channel.AUTO, self.cast.system
        # Some customers leave out the slip numbers they cannot read.
        known = self.rng.random() < 0.8
        filed = case_file(
            actor=actor, channel=channel, customer_name=name, phone=phone, preferred_language=language,
            card_last4=last4, card_bin=self.rng.choice(ISSUER_BINS),
            card_scheme="visa" if language == "en" else "unionpay",
            amount=slip["amount"], currency="CNY", transaction_at=slip["at"],
            merchant_name=slip["merchant"].name, merchant_id=slip["merchant"].merchant_id,
            terminal_id=slip["terminal"].terminal_id,
            rrn=slip["rrn"] if known else "", stan=slip["stan"] if known else "",
            auth_code=slip["auth_code"] if known else "",
            description=f"{self.rng.choice(COMPLAINTS)} {DEMO_TAG}",
        )
        return filed.case

    def _walk(self, case: Case, steps: tuple) -> None:
        if not steps:
            return
        agent = self.rng.choice(self.cast.agents)
        if steps[0][1] == AGENT:
            case_assign(case=case, actor=agent, assignee=agent)
        for name, who in steps:
            actor = self._actor(who, agent=agent, case=case)
            kwargs: dict = {}
            if name == "reject":
                kwargs["reason"] = self.rng.choice(REJECT_REASONS)
            if name == "propose_refund":
                kwargs["amount"] = case.amount if self.rng.random() < 0.7 else (case.amount / 2).quantize(Decimal("0.01"))
            case_transition(case=case, name=name, actor=actor, note=STEP_NOTES[name], **kwargs)
            if name == "approve_refund":
                # What the worker would do after commit (the demo's amounts need one approval); the task, if it
                # runs, finds it done.
                refund = Refund.objects.get(case=case, status=RefundStatus.APPROVED)
                refund_execute(refund_id=refund.pk)
                case.refresh_from_db()
        if self.rng.random() < 0.3:
            case_add_note(case=case, actor=agent, body="已电话联系客户，说明处理进度。",
                                   visibility=self.rng.choice((NoteVisibility.INTERNAL, NoteVisibility.CUSTOMER)))

    def _actor(self, who: str, *, agent, case: Case):
        if who == AGENT:
            return agent
        if who == SUPERVISOR:
            return self.rng.choice(self.cast.supervisors)
        if who == APPROVER:
            return self.rng.choice([s for s in self.cast.supervisors if s.pk != case.refund_proposed_by_id])
        if who == CUSTOMER_ACTOR:
            return CUSTOMER
        if who == CALL_CENTER:
            return self.cast.call_center
        if who == SYSTEM:
            return self.cast.system
        raise ValueError(who)

    # --- the API guide's examples ------------------------------------------------------------

    def guide_examples(self) -> None:
        """The merchant, terminal, customer, payment and case that docs/api.md's
        examples name, so its requests work on a fresh demo as written (made
        last: the random demo above is the same with or without them)."""
        merchant = Merchant.objects.create(**GUIDE_MERCHANT)
        terminal = Terminal.objects.create(merchant=merchant, status=TerminalStatus.FAULTY, **GUIDE_TERMINAL)
        self.processor_of[merchant.pk] = PaymentProcessor.objects.get(name=GUIDE_PROCESSOR)
        self.counts["merchants"] += 1
        self.counts["terminals"] += 1
        complaint = dict(GUIDE_COMPLAINT)
        at = min(parse_datetime(complaint.pop("transaction_at")), self.now - timedelta(hours=3))
        slip = {"merchant": merchant, "terminal": terminal, "amount": Decimal(complaint["amount"]), "at": at,
                "rrn": complaint["rrn"], "stan": complaint["stan"], "auth_code": complaint["auth_code"]}
        self._ledger(slip, kind=LedgerKind.DEBIT, card_last4=complaint["card_last4"],
                     customer_ref=_bank_ref(complaint["phone"]), after=timedelta(seconds=5))
        self._settlement(slip, status=SettlementStatus.TIMEOUT)
        case = case_file(
            actor=self.cast.call_center, channel=Channel.API, transaction_at=at, merchant_id=merchant.merchant_id,
            terminal_id=terminal.terminal_id, **{**complaint, "description": f"{complaint['description']} {DEMO_TAG}"},
        ).case
        # The guide's example reference (references are otherwise random): not a state, no event names it.
        Case.objects.filter(pk=case.pk).update(reference=GUIDE_REFERENCE)
        case.reference = GUIDE_REFERENCE
        case_transition(case=case, name="withdraw", actor=self.cast.call_center, note=STEP_NOTES["withdraw"])
        self.states[case.state] += 1
        self.counts["cases"] += 1
        self.counts["customers"] += 1
