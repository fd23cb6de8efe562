"""The staff queue (/staff/): tabs, filters, the search, keyset pages, the export.

A page is one query: the cases of a tab that pass the filters, in the tab's
order, after the position a cursor names, ``LIMIT size + 1`` (the extra row
says whether a next page exists). No OFFSET and no COUNT: each tab's order is
the one of an index named for it (migration 0010), so the first page and a
page deep down cost the same.

Tabs: my cases, unassigned, all open (supervisors), ended (and closed). A
search (``q``) looks through every case the user may see, whatever the tab.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from disputes.models import Case
from disputes.models.queue import ended_or_filed, next_deadline
from disputes.selectors.cases import case_search_q, cases_visible_to, user_may_work_cases
from disputes.sla.conditions import status_q
from disputes.workflow.names import ENDED_STATES, OPEN_STATES, State
from merchants.models import PaymentProcessor

PAGE_SIZE = 50
# The diagnosis filter's value for the cases no check has answered yet.
NOT_CHECKED = "not_checked"


class Tab(models.TextChoices):
    MINE = "mine", _("My cases")
    UNASSIGNED = "unassigned", _("Unassigned")
    OPEN = "open", _("All open")
    ENDED = "ended", _("Ended")


def tabs_for(user) -> list[Tab]:
    """The tabs a user sees: all open cases are the supervisors' view."""
    if not user_may_work_cases(user):
        return []
    tabs = [Tab.MINE, Tab.UNASSIGNED]
    if user.has_perm("disputes.supervise_case"):
        tabs.append(Tab.OPEN)
    return tabs + [Tab.ENDED]


@dataclass(frozen=True)
class Ordering:
    """A queue order: a key expression (the one its index has) and the id as tie-break."""

    key: Callable[[], models.Expression]
    descending: bool


NEAREST_DEADLINE = Ordering(next_deadline, descending=False)
LATEST_ENDED = Ordering(ended_or_filed, descending=True)
NEWEST_FILED = Ordering(lambda: F("created_at"), descending=True)


@dataclass(frozen=True)
class QueueQuery:
    """What the queue shows: a tab, or a search, narrowed by filters (all optional)."""

    tab: str = Tab.MINE
    q: str = ""
    state: str = ""
    sla: str = ""
    channel: str = ""
    merchant_id: str = ""
    processor_id: int | None = None
    diagnosis: str = ""  # an Outcome, or NOT_CHECKED
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    filed_from: date | None = None
    filed_to: date | None = None

    @property
    def is_search(self) -> bool:
        return bool(self.q.strip())


@dataclass(frozen=True)
class Cursor:
    """The position after the last row of a page: its order key and id."""

    key: datetime
    pk: int

    def encode(self) -> str:
        raw = f"{self.key.isoformat()}|{self.pk}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Raises ValueError for anything a page link did not make."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            key_text, pk_text = raw.rsplit("|", 1)
            key, pk = parse_datetime(key_text), int(pk_text)
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise ValueError("not a queue position") from exc
        if key is None or key.tzinfo is None or pk < 1:
            raise ValueError("not a queue position")
        return cls(key=key, pk=pk)


@dataclass
class QueuePage:
    cases: list[Case]
    next_cursor: Cursor | None


def _scope(user, query: QueueQuery) -> tuple[QuerySet[Case], Ordering]:
    if not user_may_work_cases(user):
        raise PermissionDenied
    cases = cases_visible_to(user)
    if query.is_search:
        return cases.filter(case_search_q(query.q)), NEWEST_FILED
    if query.tab not in tabs_for(user):
        raise PermissionDenied
    open_cases = cases.filter(state__in=OPEN_STATES)
    if query.tab == Tab.MINE:
        return open_cases.filter(assignee=user), NEAREST_DEADLINE
    if query.tab == Tab.UNASSIGNED:
        return open_cases.filter(assignee__isnull=True), NEAREST_DEADLINE
    if query.tab == Tab.OPEN:
        return open_cases, NEAREST_DEADLINE
    return cases.filter(state__in=[*ENDED_STATES, State.CLOSED]), LATEST_ENDED


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _filtered(cases: QuerySet[Case], query: QueueQuery, now: datetime) -> QuerySet[Case]:
    conditions = Q()
    if query.state:
        conditions &= Q(state=query.state)
    if query.sla:
        conditions &= status_q(query.sla, now)
    if query.channel:
        conditions &= Q(channel=query.channel)
    if query.merchant_id:
        conditions &= Q(merchant_id=query.merchant_id)
    if query.processor_id:
        conditions &= Q(processor_id=query.processor_id)
    if query.diagnosis == NOT_CHECKED:
        conditions &= Q(verification__isnull=True)
    elif query.diagnosis:
        conditions &= Q(verification__outcome=query.diagnosis)
    if query.amount_min is not None:
        conditions &= Q(amount__gte=query.amount_min)
    if query.amount_max is not None:
        conditions &= Q(amount__lte=query.amount_max)
    if query.filed_from:
        conditions &= Q(created_at__gte=_local_midnight(query.filed_from))
    if query.filed_to:
        conditions &= Q(created_at__lt=_local_midnight(query.filed_to + timedelta(days=1)))
    return cases.filter(conditions)


def queue_cases(user, query: QueueQuery, *, now: datetime | None = None) -> tuple[QuerySet[Case], Ordering]:
    """The cases of the tab (or the search) that pass the filters, in the queue's
    order, each with its order key as ``queue_key``. Raises PermissionDenied for
    a tab the user does not have (all open: supervisors)."""
    now = now or timezone.now()
    cases, ordering = _scope(user, query)
    cases = _filtered(cases, query, now).annotate(queue_key=ordering.key())
    if ordering.descending:
        return cases.order_by(F("queue_key").desc(), F("id").desc()), ordering
    return cases.order_by("queue_key", "id"), ordering


def _after(cases: QuerySet[Case], ordering: Ordering, cursor: Cursor) -> QuerySet[Case]:
    # "key >= k" is the index's range; the few rows that share k are filtered by id.
    if ordering.descending:
        return cases.filter(queue_key__lte=cursor.key).exclude(queue_key=cursor.key, id__gte=cursor.pk)
    return cases.filter(queue_key__gte=cursor.key).exclude(queue_key=cursor.key, id__lte=cursor.pk)


def queue_page(user, query: QueueQuery, *, after: Cursor | None = None, size: int | None = None,
               now: datetime | None = None) -> QueuePage:
    """One page of the queue (PAGE_SIZE rows): one query, whatever the page's depth."""
    size = size or PAGE_SIZE
    cases, ordering = queue_cases(user, query, now=now)
    if after is not None:
        cases = _after(cases, ordering, after)
    # linked_reference: the case about the same debit this one joined ("linked to DD-…").
    rows = list(cases.select_related("customer", "card", "assignee", "processor")
                .annotate(linked_reference=F("linked_to__reference"))[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        next_cursor = Cursor(key=rows[-1].queue_key, pk=rows[-1].pk)
    return QueuePage(cases=rows, next_cursor=next_cursor)


def queue_export(user, query: QueueQuery, *, now: datetime | None = None) -> Iterator[Case]:
    """Every case of the filtered queue, in its order, read in chunks (for the CSV)."""
    cases, _ordering = queue_cases(user, query, now=now)
    return cases.select_related("customer", "card", "assignee", "processor").iterator(chunk_size=1000)


def payment_processors() -> QuerySet[PaymentProcessor]:
    """The processors to filter by (a short list: acquirers and payment institutions)."""
    return PaymentProcessor.objects.order_by("name").only("pk", "name")


def cases_for_bulk_assign(user, references: list[str]) -> dict[str, Case]:
    """The open cases named, by reference, for a supervisor's bulk assignment."""
    if not user.has_perm("disputes.supervise_case"):
        raise PermissionDenied
    cases = cases_visible_to(user).filter(reference__in=references, state__in=OPEN_STATES)
    return {case.reference: case for case in cases.select_related("assignee", "customer")}
