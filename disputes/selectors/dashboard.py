"""The supervisors' dashboard (/staff/dashboard/): each figure one set-based
query (a few for the refunds), bounded by the date range or by the open
cases and served by an index named for it (migration 0010), never a loop
over rows in Python. Each figure is a table (columns and rows) that the page
draws as a chart and a table and exports as CSV.

Case figures count the cases filed in the period; the SLA figure counts the
stage entries and the breaches raised in the period; refunds paid count those
paid in the period. Open cases and outstanding amounts are as of now.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Case as Choose
from django.db.models import Count, F, Max, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from disputes.models import REFUND_OPEN_STATUSES, Case, CaseEvent, Refund, RefundStatus, SlaAlert, SlaAlertKind, SlaClock
from disputes.sla.clocks import overdue_q
from disputes.sla.conditions import RUNNING_STATES
from disputes.workflow.names import OPEN_STATES, Channel, EventKind, RootCause, State

TOP = 10
# Age buckets of open cases, in days since filing: [from, to).
AGE_BUCKETS = ((0, 1), (1, 3), (3, 7), (7, 15), (15, None))
AGE_LABELS = (_("under 1 day"), _("1–3 days"), _("3–7 days"), _("7–15 days"), _("15 days or more"))


@dataclass(frozen=True)
class Period:
    """Local days ``first`` to ``last``, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first, time.min))

    @property
    def end(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@dataclass
class Figure:
    slug: str
    title: str
    columns: list[str]
    rows: list[list]
    chart: str = "bar"  # bar, stacked, line, or "" for a table only
    chart_columns: tuple[int, ...] = ()  # the columns drawn; the first column labels them

    @property
    def chart_id(self) -> str:
        return f"chart-{self.slug}"

    def chart_data(self) -> dict:
        return {
            "type": self.chart,
            "labels": [str(row[0]) for row in self.rows],
            "datasets": [{"label": str(self.columns[i]), "data": [str(row[i]) if row[i] is not None else None
                                                                 for row in self.rows]}
                         for i in self.chart_columns],
        }


def _filed(period: Period):
    return Case.objects.filter(created_at__gte=period.start, created_at__lt=period.end)


def open_by_state_and_age(now: datetime) -> Figure:
    counts = {f"age{i}": Count("id", filter=Q(created_at__lte=now - timedelta(days=low))
                               & (Q(created_at__gt=now - timedelta(days=high)) if high else Q()))
              for i, (low, high) in enumerate(AGE_BUCKETS)}
    found = {row["state"]: row for row in Case.objects.filter(state__in=OPEN_STATES).values("state").annotate(
        **counts, total=Count("id"), breached=Count("id", filter=overdue_q(now))).order_by()}
    rows = []
    for state in OPEN_STATES:
        row = found.get(state, {})
        rows.append([State(state).label, *(row.get(f"age{i}", 0) for i in range(len(AGE_BUCKETS))),
                     row.get("total", 0), row.get("breached", 0)])
    return Figure("open-by-age", _("Open cases by state and age"),
                  [_("State"), *AGE_LABELS, _("Total"), _("Breached now")], rows,
                  chart="stacked", chart_columns=tuple(range(1, len(AGE_BUCKETS) + 1)))


def sla_by_stage(period: Period) -> Figure:
    entries = dict(CaseEvent.objects.filter(
        kind__in=[EventKind.FILED, EventKind.TRANSITION], created_at__gte=period.start, created_at__lt=period.end,
    ).values("to_state").annotate(n=Count("*")).order_by().values_list("to_state", "n"))
    breaches = {(row["clock"], row["stage"]): row["n"] for row in SlaAlert.objects.filter(
        kind=SlaAlertKind.BREACH, created_at__gte=period.start, created_at__lt=period.end,
    ).values("clock", "stage").annotate(n=Count("*")).order_by()}
    rows = []
    for state in RUNNING_STATES:
        entered = entries.get(state, 0)
        stage_breaches = breaches.get((SlaClock.STAGE, state), 0)
        compliance = round(100 * max(entered - stage_breaches, 0) / entered, 1) if entered else None
        rows.append([State(state).label, entered, stage_breaches, compliance, breaches.get((SlaClock.FINAL, state), 0)])
    return Figure("sla-by-stage", _("SLA compliance and breaches per stage"),
                  [_("Stage"), _("Entered"), _("Stage deadline breaches"), _("Within the stage deadline (%)"),
                   _("Overall deadline breaches")], rows, chart="bar", chart_columns=(2, 4))


def filed_per_day(period: Period) -> Figure:
    zone = timezone.get_current_timezone()
    counts = {(row["day"], row["channel"]): row["n"] for row in _filed(period).annotate(
        day=TruncDate("created_at", tzinfo=zone)).values("day", "channel").annotate(n=Count("*")).order_by()}
    channels = list(Channel)
    rows = []
    for day in period.days():
        per_channel = [counts.get((day, channel.value), 0) for channel in channels]
        rows.append([day.isoformat(), *per_channel, sum(per_channel)])
    return Figure("filed-per-day", _("Cases filed per day and channel"),
                  [_("Day"), *(channel.label for channel in channels), _("Total")], rows,
                  chart="stacked", chart_columns=tuple(range(1, len(channels) + 1)))


def root_causes(period: Period) -> Figure:
    found = _filed(period).exclude(root_cause="").values("root_cause").annotate(n=Count("*")).order_by("-n")
    rows = [[RootCause(row["root_cause"]).label, row["n"]] for row in found]
    return Figure("root-causes", _("Root causes"), [_("Root cause"), _("Cases")], rows, chart="bar",
                  chart_columns=(1,))


def top_merchants(period: Period) -> Figure:
    found = (_filed(period).exclude(merchant_id="").values("merchant_id")
             .annotate(name=Max("merchant_name"), n=Count("*")).order_by("-n", "merchant_id")[:TOP])
    rows = [[row["merchant_id"], row["name"], row["n"]] for row in found]
    return Figure("top-merchants", _("Merchants with the most complaints"),
                  [_("Merchant id"), _("Merchant name"), _("Complaints")], rows, chart="bar", chart_columns=(2,))


def top_terminals(period: Period) -> Figure:
    found = (_filed(period).exclude(terminal_id="").values("terminal_id")
             .annotate(merchant=Max("merchant_id"), n=Count("*")).order_by("-n", "terminal_id")[:TOP])
    rows = [[row["terminal_id"], row["merchant"], row["n"]] for row in found]
    return Figure("top-terminals", _("Terminals with the most complaints"),
                  [_("Terminal id"), _("Merchant id"), _("Complaints")], rows, chart="bar", chart_columns=(2,))


def top_processors(period: Period) -> Figure:
    found = (_filed(period).filter(processor__isnull=False).values("processor__name", "processor__licensed")
             .annotate(n=Count("*")).order_by("-n", "processor__name")[:TOP])
    rows = [[row["processor__name"], _("yes") if row["processor__licensed"] else _("NO LICENCE"), row["n"]]
            for row in found]
    return Figure("top-processors", _("Payment processors with the most complaints"),
                  [_("Payment processor"), _("Licensed"), _("Complaints")], rows, chart="bar", chart_columns=(2,))


def unlicensed_processors(period: Period) -> Figure:
    """Cases whose processor holds no payment licence ("二清"), per processor:
    filed in the period, and open now (the compliance list names them)."""
    in_period, open_now = Q(created_at__gte=period.start, created_at__lt=period.end), Q(state__in=OPEN_STATES)
    # Only the rows that can count are read (the period's and the open ones, both indexed): not every
    # case of the processor's history (a sequential scan of a million cases, most of the dashboard's time).
    found = (Case.objects.filter(in_period | open_now, processor__licensed=False).values("processor__name")
             .annotate(filed=Count("id", filter=in_period), open=Count("id", filter=open_now))
             .filter(Q(filed__gt=0) | Q(open__gt=0)).order_by("-filed", "processor__name"))
    rows = [[row["processor__name"], row["filed"], row["open"]] for row in found]
    return Figure("unlicensed-processors", _("Cases with an unlicensed payment processor"),
                  [_("Payment processor"), _("Filed in the period"), _("Open now")], rows, chart="bar",
                  chart_columns=(1, 2))


def refunds(period: Period) -> Figure:
    paid = Refund.objects.filter(status=RefundStatus.EXECUTED, executed_at__gte=period.start,
                                 executed_at__lt=period.end).values("currency").annotate(n=Count("*"), total=Sum("amount"))
    # Approved and not paid yet: to be paid, being paid, or a failed payment waiting for its retry.
    being_paid = Choose(When(status__in=[RefundStatus.PAYING, RefundStatus.FAILED], then=Value(RefundStatus.APPROVED.value)),
                        default=F("status"))
    unpaid = list(Refund.objects.filter(status__in=REFUND_OPEN_STATUSES).annotate(stage=being_paid).values(
        "stage", "currency").annotate(n=Count("*"), total=Sum("amount")).order_by("currency"))
    disputed = Case.objects.filter(state__in=OPEN_STATES).values("currency").annotate(n=Count("*"), total=Sum("amount"))
    rows = [[_("Refunds paid in the period"), row["currency"], row["n"], row["total"]] for row in paid.order_by("currency")]
    for status, label in ((RefundStatus.APPROVED, _("Refunds approved, being paid")),
                          (RefundStatus.PROPOSED, _("Refunds awaiting approval"))):
        rows += [[label, row["currency"], row["n"], row["total"]]
                 for row in unpaid if row["stage"] == status]
    rows += [[_("Disputed on open cases"), row["currency"], row["n"], row["total"]] for row in disputed.order_by("currency")]
    return Figure("refunds", _("Refunds paid and amounts outstanding"),
                  [_("What"), _("Currency"), _("Count"), _("Amount")], rows, chart="bar", chart_columns=(3,))


FIGURES = {
    "open-by-age": lambda period, now: open_by_state_and_age(now),
    "sla-by-stage": lambda period, now: sla_by_stage(period),
    "filed-per-day": lambda period, now: filed_per_day(period),
    "root-causes": lambda period, now: root_causes(period),
    "top-merchants": lambda period, now: top_merchants(period),
    "top-terminals": lambda period, now: top_terminals(period),
    "top-processors": lambda period, now: top_processors(period),
    "unlicensed-processors": lambda period, now: unlicensed_processors(period),
    "refunds": lambda period, now: refunds(period),
}


def user_may_see_dashboard(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("disputes.supervise_case"))


def _require_supervisor(user) -> None:
    if not user_may_see_dashboard(user):
        raise PermissionDenied


def dashboard_figure(*, user, slug: str, period: Period, now: datetime | None = None) -> Figure:
    """One figure by its slug (KeyError for an unknown one); supervisors only."""
    _require_supervisor(user)
    return FIGURES[slug](period, now or timezone.now())


def dashboard(*, user, period: Period, now: datetime | None = None) -> list[Figure]:
    """Every figure, for a supervisor."""
    _require_supervisor(user)
    now = now or timezone.now()
    return [build(period, now) for build in FIGURES.values()]
