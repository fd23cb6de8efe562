"""Generated payments for the property tests of reconciliation and diagnosis.

Every payment is a small story on a merchant, terminal and RRNs of its own
(settled by RRN, by terminal and STAN on the same local day, by merchant within
15 minutes; never settled; reversed in full, in part, or too late; a duplicate
swipe settled once; a rival debit paired elsewhere; a record or debit on either
side of the as-of time or the grace boundary; around midnight in
Asia/Shanghai), and each story says which of its debits are orphans and for how
much: the oracle is the construction, never the code under test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone
from hypothesis import strategies as st

from tests.transactions.files import ledger_row, settlement_row

SHANGHAI = ZoneInfo("Asia/Shanghai")
GRACE = timedelta(hours=24)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
# The as-of time: a few days ago, so that every generated time is in the past (imports refuse the future).
AS_OF = (timezone.now() - timedelta(days=4)).astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)
CUTOFF = AS_OF - GRACE


@dataclass
class Story:
    """One payment's rows on its own merchant and terminal, and the orphans it has by construction."""

    number: int
    ledger: list[dict] = field(default_factory=list)
    settlement: list[dict] = field(default_factory=list)
    orphans: dict[str, Decimal] = field(default_factory=dict)
    reversed: set[str] = field(default_factory=set)

    @property
    def merchant_id(self) -> str:
        return f"{700000000000000 + self.number:015d}"

    @property
    def terminal_id(self) -> str:
        return f"T{self.number:07d}"

    def rrn(self, k: int) -> str:
        return f"{self.number:06d}{k:06d}"

    def debit(self, k: int, at: datetime, amount: Decimal, *, rrn: str = "", stan: str = "", kind: str = "debit",
              orphan: Decimal | None = None) -> str:
        entry_id = f"E{self.number:05d}-{k}"
        self.ledger.append(ledger_row(
            entry_id, customer_ref=f"C{self.number:05d}", card_last4=f"{self.number % 10000:04d}", amount=str(amount),
            posted_at=at.isoformat(), kind=kind, rrn=rrn, stan=stan, merchant_id=self.merchant_id,
            terminal_id=self.terminal_id))
        if orphan is not None:
            self.orphans[entry_id] = orphan
        return entry_id

    def record(self, k: int, at: datetime, amount: Decimal, *, rrn: str = "", stan: str = "",
               status: str = "approved", merchant_id: str | None = None) -> None:
        self.settlement.append(settlement_row(
            f"R{self.number:05d}-{k}", merchant_id=merchant_id or self.merchant_id, terminal_id=self.terminal_id,
            rrn=rrn, stan=stan, amount=str(amount), transacted_at=at.isoformat(), status=status))


amounts = st.integers(min_value=1, max_value=500_000).map(lambda cents: Decimal(cents) / 100)
# A debit old enough to be an orphan: up to eight days before the grace cut-off.
old_times = st.integers(min_value=0, max_value=8 * 24 * 3600).map(lambda s: CUTOFF - s * SECOND)
gaps_within_15 = st.integers(min_value=-15 * 60, max_value=15 * 60).map(lambda s: s * SECOND)
gaps_beyond_15 = st.tuples(st.sampled_from([-1, 1]), st.integers(min_value=15 * 60 + 1, max_value=6 * 3600)).map(
    lambda sign_seconds: sign_seconds[0] * sign_seconds[1] * SECOND)
days_back = st.integers(min_value=2, max_value=8)
not_approved = st.sampled_from(["declined", "timeout", "reversed", None])


def local_day(days: int) -> datetime:
    """Local midnight ``days`` days before the as-of day, in Asia/Shanghai."""
    return datetime.combine((AS_OF - timedelta(days=days)).date(), datetime.min.time(), tzinfo=SHANGHAI)


def settled_by_rrn(data, story: Story) -> None:
    at, amount = data.draw(old_times), data.draw(amounts)
    story.debit(1, at, amount, rrn=story.rrn(1), stan="000001")
    gap = data.draw(st.integers(min_value=-3 * 3600, max_value=3 * 3600)) * SECOND
    story.record(1, at + gap, data.draw(st.sampled_from([amount, amount + 1])), rrn=story.rrn(1), stan="999999")


def missing_rrn_settled_by_terminal(data, story: Story) -> None:
    """No RRN in the settlement record; the same terminal, STAN and amount, the same local day, hours apart."""
    day = local_day(data.draw(days_back))
    first, second = sorted(data.draw(st.lists(st.integers(min_value=0, max_value=86_399), min_size=2, max_size=2,
                                              unique=True)))
    amount = data.draw(amounts)
    story.debit(1, day + first * SECOND, amount, rrn=data.draw(st.sampled_from(["", story.rrn(1)])), stan="000042")
    story.record(1, day + second * SECOND, amount, stan="000042")


def missing_rrn_settled_by_merchant(data, story: Story) -> None:
    at, amount = data.draw(old_times), data.draw(amounts)
    story.debit(1, at, amount, stan="000001")
    story.record(1, at + data.draw(gaps_within_15), amount, stan="000002")


def missing_rrn_too_far_apart(data, story: Story) -> None:
    at, amount = data.draw(old_times), data.draw(amounts)
    story.debit(1, at, amount, stan="000001", orphan=amount)
    story.record(1, at + data.draw(gaps_beyond_15), amount, stan="000002")


def across_local_midnight(data, story: Story) -> None:
    """The same terminal and STAN on either side of midnight in Shanghai (one UTC day): not the same local day,
    so only the 15-minute merchant pass can pair them."""
    midnight = local_day(data.draw(days_back))
    before = data.draw(st.integers(min_value=1, max_value=20 * 60)) * SECOND
    after = data.draw(st.integers(min_value=0, max_value=20 * 60)) * SECOND
    amount = data.draw(amounts)
    paired = before + after <= 15 * MINUTE
    story.debit(1, midnight - before, amount, stan="000777", orphan=None if paired else amount)
    story.record(1, midnight + after, amount, stan="000777")


def same_local_day_two_utc_days(data, story: Story) -> None:
    """07:xx and 08:xx in Shanghai are two UTC days but one local day: pass 2 pairs them."""
    day = local_day(data.draw(days_back))
    debit_at = day + timedelta(hours=7) + data.draw(st.integers(min_value=0, max_value=3599)) * SECOND
    amount = data.draw(amounts)
    story.debit(1, debit_at, amount, stan="000888")
    story.record(1, debit_at + data.draw(st.integers(min_value=16 * 60, max_value=3 * 3600)) * SECOND, amount,
                 stan="000888")


def never_settled(data, story: Story) -> None:
    """Timed out, declined, reversed at the POS, or no record at all; then reversed in full, in part, too late or not."""
    at, amount = data.draw(old_times), data.draw(amounts)
    by_rrn = data.draw(st.booleans())
    rrn = story.rrn(1) if by_rrn else ""
    ending = data.draw(st.sampled_from(["none", "full", "split", "partial", "late"]))
    outstanding = amount
    story.debit(1, at, amount, rrn=rrn, stan="000001")
    status = data.draw(not_approved)
    if status:
        story.record(1, at - data.draw(st.integers(min_value=0, max_value=60)) * SECOND, amount, rrn=rrn,
                     stan="000001", status=status)
    undo_at = at + data.draw(st.integers(min_value=60, max_value=3 * 24 * 3600)) * SECOND
    undo_at = min(undo_at, AS_OF)
    kind = data.draw(st.sampled_from(["reversal", "refund"]))
    if ending == "full":
        story.debit(2, undo_at, amount, rrn=rrn, stan="000001", kind=kind)
        outstanding = Decimal(0)
        story.reversed.add(f"E{story.number:05d}-1")
    elif ending == "split" and amount >= Decimal("0.02"):
        part = (amount / 2).quantize(Decimal("0.01"))
        story.debit(2, undo_at, part, rrn=rrn, stan="000001", kind="reversal")
        story.debit(3, undo_at, amount - part, rrn=rrn, stan="000001", kind="refund")
        outstanding = Decimal(0)
        story.reversed.add(f"E{story.number:05d}-1")
    elif ending == "partial" and amount >= Decimal("0.02"):
        part = Decimal(data.draw(st.integers(min_value=1, max_value=int(amount * 100) - 1))) / 100
        story.debit(2, undo_at, part, rrn=rrn, stan="000001", kind=kind)
        outstanding = amount - part
    elif ending == "late":
        story.debit(2, AS_OF + data.draw(st.integers(min_value=1, max_value=86_400)) * SECOND, amount, rrn=rrn,
                    stan="000001", kind=kind)
    if outstanding > 0:
        story.orphans[f"E{story.number:05d}-1"] = outstanding


def duplicate_swipe(data, story: Story) -> None:
    """Swiped twice, settled once: the record is closer to the second debit, so the first is the orphan."""
    at, amount = data.draw(old_times), data.draw(amounts)
    apart = data.draw(st.integers(min_value=60, max_value=10 * 60)) * SECOND
    with_rrn = data.draw(st.booleans())
    story.debit(1, at - apart, amount, rrn=story.rrn(1) if with_rrn else "", stan="000001", orphan=amount)
    story.debit(2, at, amount, rrn=story.rrn(2) if with_rrn else "", stan="000002")
    story.record(1, at + data.draw(st.integers(min_value=0, max_value=5 * 60)) * SECOND, amount,
                 rrn=story.rrn(2) if with_rrn else "", stan="000003")


def two_payments_two_records(data, story: Story) -> None:
    """Two payments 20 minutes apart, each settled, each record a candidate of both debits:
    the closest pair first leaves the other two to each other, and no orphan."""
    at, amount = data.draw(old_times), data.draw(amounts)
    story.debit(1, at - 20 * MINUTE, amount, stan="000001")
    story.debit(2, at, amount, stan="000002")
    story.record(1, at - 15 * MINUTE + data.draw(st.integers(min_value=0, max_value=30)) * SECOND, amount, stan="000003")
    story.record(2, at - 6 * MINUTE - data.draw(st.integers(min_value=0, max_value=30)) * SECOND, amount, stan="000004")


def rival_paired_elsewhere(data, story: Story) -> None:
    """Debit 2, closer to record 1, is paired first by its RRN with record 2 (at another merchant, a day or two
    later): record 1 is left to debit 1, and neither is an orphan. Looking only at the records of debit 1's
    merchant, debit 2 would seem to take record 1."""
    at, amount = data.draw(old_times), data.draw(amounts)
    story.debit(1, at, amount, stan="000001")
    story.debit(2, at + 2 * MINUTE, amount, rrn=story.rrn(2), stan="000002")
    story.record(1, at + 2 * MINUTE + data.draw(st.integers(min_value=0, max_value=60)) * SECOND, amount,
                 stan="000003")
    story.record(2, min(at + data.draw(st.integers(min_value=1, max_value=2)) * timedelta(days=1), AS_OF), amount,
                 rrn=story.rrn(2), merchant_id=f"{800000000000000 + story.number:015d}")


def around_the_grace_cutoff(data, story: Story) -> None:
    offset = data.draw(st.sampled_from([-3600, -1, 0, 1, 3600]))
    amount = data.draw(amounts)
    story.debit(1, CUTOFF + offset * SECOND, amount, stan="000001", orphan=amount if offset <= 0 else None)


def around_the_as_of_time(data, story: Story) -> None:
    """A debit posted after the as-of time is not looked at; a record transacted after it settles nothing yet."""
    amount = data.draw(amounts)
    story.debit(1, AS_OF + data.draw(st.integers(min_value=1, max_value=86_400)) * SECOND, amount, stan="000001")
    at = data.draw(old_times)
    story.debit(2, at, amount, rrn=story.rrn(2), stan="000002", orphan=amount)
    story.record(2, AS_OF + data.draw(st.integers(min_value=1, max_value=86_400)) * SECOND, amount, rrn=story.rrn(2))


def hold_only(data, story: Story) -> None:
    story.debit(1, data.draw(old_times), data.draw(amounts), rrn=story.rrn(1), kind="hold")


STORIES = [settled_by_rrn, missing_rrn_settled_by_terminal, missing_rrn_settled_by_merchant, missing_rrn_too_far_apart,
           across_local_midnight, same_local_day_two_utc_days, never_settled, duplicate_swipe,
           two_payments_two_records, rival_paired_elsewhere, around_the_grace_cutoff, around_the_as_of_time, hold_only]


@dataclass
class Drawn:
    ledger: list[dict]
    settlement: list[dict]
    orphans: dict[str, Decimal]  # by construction, {entry_id: outstanding}
    reversed: set[str]  # the debits reversed or refunded in full by the as-of time


def draw_stories(data) -> Drawn:
    """One to thirty stories, their rows in any order."""
    kinds = data.draw(st.lists(st.sampled_from(STORIES), min_size=1, max_size=30), label="stories")
    stories = []
    for number, build in enumerate(kinds, start=1):
        story = Story(number)
        build(data, story)
        stories.append(story)
    ledger = data.draw(st.permutations([row for story in stories for row in story.ledger]), label="ledger order")
    settlement = data.draw(st.permutations([row for story in stories for row in story.settlement]),
                           label="settlement order")
    return Drawn(ledger, settlement, {entry: amount for story in stories for entry, amount in story.orphans.items()},
                 {entry for story in stories for entry in story.reversed})
