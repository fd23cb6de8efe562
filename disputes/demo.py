"""Demo data for a fresh install (``python manage.py seed_demo``).

Staff users of each role, merchants with their POS terminals, payment
processors, issuer ledger and acquirer settlement rows, and fifty cases spread
over every state of the workflow.

Every case is made by the workflow services (``disputes.workflow``) with the actor the workflow expects
at each step (an agent, a second supervisor to approve, the customer replying,
the system user for automatic steps), so the demo audit trail is one the
application could have written itself. The data is drawn from
``random.Random(seed)``: the same seed gives the same merchants, customers,
amounts and paths (references and tracking codes stay random: the service
makes them).

Demo customers have no e-mail address, so seeding queues no e-mail; Celery
tasks run in-process while seeding, so nothing waits on, or piles up in, a
broker.
"""
from __future__ import annotations

import logging
import random
import secrets
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

from accounts.models import EntryPoint
from accounts.services import user_access_set
from merchants.models import Merchant, PaymentProcessor, Terminal, TerminalStatus
from transactions.models import LedgerEntry, LedgerKind, SettlementRecord, SettlementStatus

from disputes.refunds import refund_execute
from disputes.workflow.casework import case_add_note, case_assign
from disputes.workflow.filing import case_file
from disputes.workflow.steps import case_transition
from disputes.workflow.actors import CUSTOMER, system_user
from disputes.models import Case, NoteVisibility, Refund, RefundStatus
from disputes.workflow.names import Channel, Role

DEFAULT_SEED = 20261120
# Carried by every demo case's description, so people (and queries) can tell them apart.
DEMO_TAG = "[演示 demo]"
PASSWORD_LENGTH = 16


# --- users ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str | None  # a Role; None for the superuser
    first_name: str
    is_staff: bool = True
    is_superuser: bool = False


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("agent1", Role.AGENT, "王芳"),
    DemoUser("agent2", Role.AGENT, "李强"),
    DemoUser("supervisor1", Role.SUPERVISOR, "陈静"),
    DemoUser("supervisor2", Role.SUPERVISOR, "刘洋"),
    # The call center reaches the desk through the API only: not staff.
    DemoUser("callcenter1", Role.CALL_CENTER, "赵敏", is_staff=False),
    DemoUser("admin1", Role.ADMIN, "孙伟"),
    DemoUser("root", None, "Root", is_superuser=True),
)


@dataclass(frozen=True)
class UserOutcome:
    username: str
    role: str | None
    created: bool
    password: str | None  # set when created or reset now; None when left unchanged


def _new_password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(PASSWORD_LENGTH))


def demo_users_ensure(*, reset_passwords: bool = False) -> list[UserOutcome]:
    """Create the missing demo users with fresh random passwords.

    Existing users are left as they are (someone may have changed them), but
    for a new password when ``reset_passwords`` is set.
    """
    User = get_user_model()
    outcomes = []
    with transaction.atomic():
        for spec in DEMO_USERS:
            user = User.objects.filter(username=spec.username).first()
            created = user is None
            password = None
            if created:
                user = User(username=spec.username, first_name=spec.first_name, email=f"{spec.username}@bank.example")
            if created or reset_passwords:
                password = _new_password()
                user.set_password(password)
                user.save()
            if created:  # roles and flags through the one audited way to grant them
                user_access_set(actor=None, user=user, entry_point=EntryPoint.COMMAND, source="manage.py seed_demo",
                                roles=[spec.role] if spec.role else [], is_staff=spec.is_staff or spec.is_superuser,
                                is_superuser=spec.is_superuser)
            outcomes.append(UserOutcome(username=spec.username, role=spec.role, created=created, password=password))
    return outcomes


# --- reference data ------------------------------------------------------------------------

# (name, payment business licence number, inquiry phone, promised response hours)
PROCESSORS = (
    ("银联商务", "Z2000131000013", "95534", 48),
    ("拉卡拉", "Z2000411000018", "95016", 48),
    ("通联支付", "Z2000331000011", "95156", 72),
    ("Sumpay", "Z2000133000013", "4008-888-000", 72),
    ("随行付", "Z2004311000014", "4000-919-900", 96),
)

# (name, acquirer code, area code, MCC, address, processor): the MID is the four codes and a sequence number.
MERCHANTS = (
    ("好又多超市 徐汇店", "102", "2900", "5411", "上海市徐汇区漕溪北路 88 号", "银联商务"),
    ("星巴克咖啡 南京西路店", "102", "2900", "5814", "上海市静安区南京西路 1376 号", "拉卡拉"),
    ("全家便利店 人民广场店", "103", "2900", "5499", "上海市黄浦区西藏中路 268 号", "通联支付"),
    ("海底捞火锅 王府井店", "103", "1000", "5812", "北京市东城区王府井大街 88 号", "银联商务"),
    ("中国石化加油站 五道口站", "105", "1000", "5541", "北京市海淀区成府路 28 号", "Sumpay"),
    ("屈臣氏 天河城店", "308", "5810", "5912", "广州市天河区天河路 208 号", "随行付"),
    ("如家酒店 西湖店", "308", "3310", "7011", "杭州市西湖区曙光路 15 号", "拉卡拉"),
    ("万达影城 春熙路店", "104", "6510", "7832", "成都市锦江区春熙路 9 号", "通联支付"),
)
TERMINAL_MODELS = ("新大陆 ME31", "联迪 A8", "百富 S90", "惠尔丰 VX520", "商米 P2")


# --- cases -----------------------------------------------------------------------------------

CUSTOMER_NAMES = (
    "张伟", "王秀英", "李娜", "刘洋", "陈杰", "杨静", "黄磊", "赵丽", "周涛", "吴敏",
    "徐婷", "孙浩", "胡军", "朱琳", "高峰", "林晓", "何欢", "郭靖", "马云飞", "罗婷",
    "梁宇", "宋佳", "郑爽", "谢娜", "韩雪", "唐嫣", "冯巩", "于谦", "董洁", "Emily Carter",
)
ISSUER_BINS = ("622202", "621700", "622848", "621226", "")
COMPLAINTS = (
    "POS 机显示交易失败，但银行卡已被扣款，后来用微信重新支付了一次。",
    "刷卡时终端提示“交易超时”，收银员让我再刷一次，结果被扣了两次钱。",
    "商户说没收到款，让我用现金付了，可是卡上显示扣款成功。",
    "加油时 POS 机断网，小票显示失败，短信却提示消费成功。",
    "终端黑屏重启后显示失败，账户余额已减少。",
    "The terminal said declined, but my card was charged anyway.",
)
REJECT_REASONS = (
    "经核实，收单机构记录交易成功，商户已确认收款并提供了服务。",
    "该笔交易已于次日自动冲正，款项已退回原卡。",
    "客户提供的交易信息与我行记录不符，且客户未能补充材料。",
)
STEP_NOTES = {
    "start_verification": "开始核实交易记录。",
    "request_customer_info": "请客户提供交易小票照片和扣款短信截图。",
    "customer_info_received": "客户已补充小票照片。",
    "confirm_debit": "核心系统确认扣款，收单记录为超时，联系商户。",
    "reversal_found": "对账发现冲正记录，款项已退回。",
    "merchant_refunded": "商户确认已原路退款。",
    "escalate_to_processor": "商户 48 小时未回复，转收单机构查询。",
    "back_to_merchant": "收单机构回复交易未清算，请商户协助退款。",
    "propose_refund": "扣款属实且未清算，建议全额退款。",
    "approve_refund": "同意退款。",
    "decline_refund": "退款金额需与商户核对后再提交。",
    "reject": "",
    "withdraw": "客户来电撤销投诉。",
    "close": "结案。",
    "reopen": "客户提供新证据，重新受理。",
}

# Who takes a step: the case's agent, any supervisor, a supervisor other than
# the refund's proposer, the customer, the call center or the system user.
AGENT, SUPERVISOR, APPROVER, CUSTOMER_ACTOR, CALL_CENTER, SYSTEM = (
    "agent", "supervisor", "approver", "customer", "call_center", "system")
START = ("start_verification", AGENT)
CONFIRM = ("confirm_debit", AGENT)
ESCALATE = ("escalate_to_processor", AGENT)
PROPOSE = ("propose_refund", AGENT)
APPROVE = ("approve_refund", APPROVER)
REJECT = ("reject", AGENT)
ASK = ("request_customer_info", AGENT)

# (how many cases, their path): fifty cases, every state at least three times.
CASE_PLANS: tuple[tuple[int, tuple[tuple[str, str], ...]], ...] = (
    (6, ()),                                                                            # submitted
    (3, (START,)),                                                                      # verifying
    (1, (START, REJECT, ("reopen", SUPERVISOR))),                                       # verifying, reopened
    (1, (START, PROPOSE, ("decline_refund", SUPERVISOR))),                              # verifying, refund declined
    (1, (START, ASK, ("customer_info_received", CUSTOMER_ACTOR))),                      # verifying, customer replied
    (3, (START, ASK)),                                                                  # awaiting_customer
    (1, (START, CONFIRM, ASK)),                                                         # awaiting_customer
    (3, (START, CONFIRM)),                                                              # merchant_contact
    (1, (START, CONFIRM, ("escalate_to_processor", SYSTEM), ("back_to_merchant", AGENT))),  # merchant_contact
    (1, (START, CONFIRM, ASK, ("customer_info_received", AGENT))),                      # merchant_contact
    (2, (START, CONFIRM, ESCALATE)),                                                    # processor_inquiry
    (1, (START, CONFIRM, ("escalate_to_processor", SYSTEM))),                           # processor_inquiry
    (1, (START, CONFIRM, ESCALATE, PROPOSE, ("decline_refund", SUPERVISOR))),           # processor_inquiry
    (2, (START, CONFIRM, PROPOSE)),                                                     # refund_pending
    (1, (START, ("propose_refund", SUPERVISOR))),                                       # refund_pending
    (3, (START, CONFIRM, PROPOSE, APPROVE)),                                            # refunded
    (1, (START, CONFIRM, ESCALATE, ("propose_refund", SUPERVISOR), APPROVE)),           # refunded
    (2, (START, ("reversal_found", SYSTEM))),                                           # resolved
    (1, (START, ("reversal_found", AGENT))),                                            # resolved
    (2, (START, CONFIRM, ("merchant_refunded", AGENT))),                                # resolved
    (1, (START, REJECT, ("close", AGENT), ("reopen", SUPERVISOR), CONFIRM, ("merchant_refunded", AGENT))),  # resolved
    (2, (START, REJECT)),                                                               # rejected
    (1, (START, CONFIRM, ESCALATE, REJECT)),                                            # rejected
    (1, (("withdraw", CUSTOMER_ACTOR),)),                                               # withdrawn
    (1, (START, ("withdraw", CALL_CENTER))),                                            # withdrawn
    (1, (START, ASK, ("withdraw", CUSTOMER_ACTOR))),                                    # withdrawn
    (2, (START, ("reversal_found", SYSTEM), ("close", SYSTEM))),                        # closed
    (2, (START, CONFIRM, PROPOSE, APPROVE, ("close", AGENT))),                          # closed
    (1, (START, REJECT, ("close", AGENT))),                                             # closed
    (1, (("withdraw", CUSTOMER_ACTOR), ("close", SYSTEM))),                             # closed
)


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
    from config.celery import app

    quieted = {name: logging.getLogger(name) for name in ("celery.app.trace", "kombu.connection")}
    levels = {name: logger.level for name, logger in quieted.items()}
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    for logger in quieted.values():
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        app.conf.task_always_eager = previous
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
    return DemoDataOutcome(created=True, counts=dict(builder.counts), states=dict(builder.states))


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
            self._ledger(slip, kind=LedgerKind.DEBIT, card_last4=last4, customer_ref=f"C9{n:04d}", after=timedelta(seconds=3))
            self._settlement(slip, status=SettlementStatus.TIMEOUT)

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
        self._ledger(slip, kind=LedgerKind.DEBIT, card_last4=last4, customer_ref=f"C{phone[-5:]}", after=timedelta(seconds=5))
        self._settlement(slip, status=self.rng.choice((SettlementStatus.TIMEOUT, SettlementStatus.DECLINED)))
        names = [name for name, _who in steps]
        if "reversal_found" in names:
            self._ledger(slip, kind=LedgerKind.REVERSAL, card_last4=last4, customer_ref=f"C{phone[-5:]}", after=timedelta(hours=20))
        if "merchant_refunded" in names:
            self._ledger(slip, kind=LedgerKind.REFUND, card_last4=last4, customer_ref=f"C{phone[-5:]}", after=timedelta(days=2))

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
                # What the worker would do after commit; the task, if it runs, finds it done.
                refund = Refund.objects.get(case=case, status=RefundStatus.APPROVED)
                refund_execute(refund_id=refund.pk)
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
