"""SLA actions: the sweep and the deadline extensions (docs/sla.md).

``sla_sweep(now=)`` is the one sweep: the Celery beat task ``disputes.tasks.sla_sweep``
runs it every minute, and ``python manage.py sla_sweep [--now]`` runs it once.
It raises each due reminder and breach exactly once — the ``sla_alert_once``
unique constraint on ``SlaAlert`` makes sure, even with two sweeps at the same
time — writes the ``sla_reminder`` / ``sla_breach`` event and the staff e-mails
(Notification outbox, sent after commit) in the same transaction, then takes
the automatic steps (``sla_automatic_steps``): escalation on merchant silence,
closing ended cases after the quiet period. Beat runs the alerts and the
automatic steps as two tasks, so that the worker's processes share them and
neither waits for the other; the command runs both. A processor inquiry's due date is swept the same way (clock
``inquiry``, the alert's entry the inquiry's id): a reminder before it and a
breach at it, each once, while the inquiry waits for its answer on an open case.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from disputes.delivery.notifications import queue_notifications
from disputes.models import Case, ProcessorInquiry, SlaAlert, SlaAlertKind, SlaClock
from disputes.models.casefile import SystemNote
from disputes.models.sla import sla_alert_text, sla_alert_what
from disputes.sla import clocks as sla
from disputes.workflow.actors import system_user
from disputes.workflow.errors import CaseError, StaleCase, TransitionNotAvailable
from disputes.workflow.events import record_event_rows
from disputes.workflow.names import ENDED_STATES, OPEN_STATES, EventKind, Role, State
from disputes.workflow.steps import case_transition

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
MAX_BATCHES = 200  # per sweep and per clock: 100 000 alerts a minute at most


@dataclass
class SweepResult:
    reminders: int = 0
    breaches: int = 0
    escalated: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    notifications: int = 0
    alerts_seconds: float = 0.0  # how long raising the alerts took, before the automatic steps

    def __str__(self) -> str:
        return (f"reminders={self.reminders} breaches={self.breaches} escalated={len(self.escalated)} "
                f"closed={len(self.closed)} notifications={self.notifications}")


def sla_sweep(*, now: datetime | None = None, batch_size: int | None = None,
              automatic_steps: bool = True) -> SweepResult:
    """Raise the due SLA alerts and (unless told not to) take the automatic steps, as of ``now``."""
    now = now or timezone.now()
    batch_size = batch_size or BATCH_SIZE
    started = time.perf_counter()
    result = SweepResult()
    alerting = _Alerting(now=now)
    for clock in (SlaClock.STAGE, SlaClock.FINAL):
        for _batch in range(MAX_BATCHES):
            found = _sweep_batch(clock=clock, now=now, batch_size=batch_size, result=result, alerting=alerting)
            if found < batch_size:
                break
    for _batch in range(MAX_BATCHES):
        if _sweep_inquiries(now=now, batch_size=batch_size, result=result, alerting=alerting) < batch_size:
            break
    result.alerts_seconds = time.perf_counter() - started
    if automatic_steps:
        sla_automatic_steps(now=now, batch_size=batch_size, result=result)
    return result


def sla_sweep_parts(*, now: datetime, batch_size: int | None = None) -> int:
    """How many sweeps should share the alerts due at ``now``: one per batch of
    cases due (on either clock), at most ``DISPUTE_SLA_SWEEP_PARTS``, at least one.
    The parts are whole ``sla_sweep`` runs with the same ``now``: each claims its
    own batches (``SKIP LOCKED``), so they split the work and never repeat it."""
    most, batch_size = max(1, settings.DISPUTE_SLA_SWEEP_PARTS), batch_size or BATCH_SIZE
    # No ORDER BY (the model's default would walk a whole index in its order): the two alert indexes, OR-ed.
    due = (Case.objects.filter(Q(sla_alert_at__lte=now) | Q(final_alert_at__lte=now)).order_by()
           .values("pk")[: (most - 1) * batch_size + 1].count())
    return max(1, min(most, -(-due // batch_size)))


def sla_automatic_steps(*, now: datetime | None = None, batch_size: int | None = None,
                        result: SweepResult | None = None) -> SweepResult:
    """The automatic steps as of ``now``, each through ``case_transition``: a case
    whose merchant-contact stage breached (its alert raised) is escalated to the
    processor, an ended case quiet for the configured period is closed; at most
    ``batch_size`` of each. Beat runs it as a task of its own beside the sweep."""
    now, batch_size = now or timezone.now(), batch_size or BATCH_SIZE
    result = result or SweepResult()
    conf = sla.sla_settings()
    if conf.auto_escalate_merchant_silence:
        _escalate_silent_merchants(now=now, result=result, batch_size=batch_size)
    if conf.auto_close_after is not None:
        _close_quiet_cases(now=now, before=now - conf.auto_close_after, result=result, batch_size=batch_size)
    return result


# --- alerts --------------------------------------------------------------------------

_COLUMNS = {
    SlaClock.STAGE: ("sla_alert_at", "sla_due_at", "sla_entry"),
    SlaClock.FINAL: ("final_alert_at", "final_due_at", "deadline_extensions"),
}


def _claim_sql(clock: str) -> str:
    """One statement claims a batch of due cases of ``clock``: locks them (skipping
    rows another sweep holds), moves their alert column on (a reminded clock to its
    deadline, a breached one to NULL), inserts their alerts (the ``sla_alert_once``
    constraint drops any raised before) and returns the alerts raised now with what
    the events and e-mails need; the first column counts the cases looked at."""
    alert_col, due_col, entry_col = _COLUMNS[clock]
    case_table, alert_table = Case._meta.db_table, SlaAlert._meta.db_table
    user_table = get_user_model()._meta.db_table
    return f"""
        WITH due AS (
            SELECT id, {due_col} AS due, {entry_col} AS entry, state FROM {case_table}
            WHERE {alert_col} <= %(now)s ORDER BY {alert_col} LIMIT %(limit)s FOR UPDATE SKIP LOCKED
        ), claimed AS (
            SELECT id, entry, state, COALESCE(due, %(now)s) AS due_at,
                   CASE WHEN due IS NOT NULL AND due <= %(now)s THEN %(breach)s ELSE %(reminder)s END AS kind
            FROM due
        ), moved AS (
            UPDATE {case_table} AS c
            SET {alert_col} = CASE WHEN claimed.kind = %(breach)s THEN NULL ELSE c.{due_col} END
            FROM claimed WHERE c.id = claimed.id RETURNING c.id
        ), raised AS (
            INSERT INTO {alert_table} (case_id, clock, entry, kind, stage, due_at, created_at)
            SELECT id, %(clock)s, entry, kind, state, due_at, %(now)s FROM claimed
            ON CONFLICT (case_id, clock, entry, kind) DO NOTHING
            RETURNING case_id, kind, stage, due_at, entry
        )
        SELECT looked.n, r.case_id, r.kind, r.stage, r.due_at, r.entry, c.reference, c.state, c.version, u.email
        FROM (SELECT count(*) AS n FROM moved) AS looked
        LEFT JOIN (raised AS r JOIN {case_table} AS c ON c.id = r.case_id
                   LEFT JOIN {user_table} AS u ON u.id = c.assignee_id) ON TRUE
        ORDER BY r.case_id
    """


def _sweep_batch(*, clock: str, now: datetime, batch_size: int, result: SweepResult, alerting: _Alerting) -> int:
    """One bounded batch of one clock, in one transaction. Returns how many cases it looked at."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_claim_sql(clock), {"now": now, "limit": batch_size, "clock": clock,
                                               "breach": SlaAlertKind.BREACH, "reminder": SlaAlertKind.REMINDER})
            rows = cursor.fetchall()
        looked = rows[0][0] if rows else 0
        raised = [row[1:] for row in rows if row[1] is not None]
        if raised:
            alerting.record(raised, clock=clock, result=result)
    return looked


def _sweep_inquiries(*, now: datetime, batch_size: int, result: SweepResult, alerting: _Alerting) -> int:
    """One bounded batch of processor inquiries due a reminder or a breach, in one transaction."""
    with transaction.atomic():
        rows = list(
            ProcessorInquiry.objects.filter(alert_at__lte=now).order_by("alert_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", "case_id", "due_at", "case__state")[:batch_size]
        )
        if not rows:
            return 0
        alerts, done = [], []
        for pk, case_id, due, state in rows:
            if state not in OPEN_STATES:
                done.append(pk)  # the case ended: nobody waits for this answer any more
                continue
            kind = SlaAlertKind.BREACH if due <= now else SlaAlertKind.REMINDER
            alerts.append((case_id, SlaClock.INQUIRY, pk, kind, state, due))
        reminded = [entry for _c, _k, entry, kind, _s, _d in alerts if kind == SlaAlertKind.REMINDER]
        done += [entry for _c, _k, entry, kind, _s, _d in alerts if kind == SlaAlertKind.BREACH]
        if reminded:
            ProcessorInquiry.objects.filter(pk__in=reminded).update(alert_at=F("due_at"))
        if done:
            ProcessorInquiry.objects.filter(pk__in=done).update(alert_at=None)
        inserted = _insert_alerts(alerts, now=now) if alerts else []
        if inserted:
            cases = {pk: rest for pk, *rest in Case.objects.filter(pk__in=[r[0] for r in inserted])
                     .values_list("pk", "reference", "state", "version", "assignee__email")}
            alerting.record([(*row, *cases[row[0]]) for row in inserted], clock=SlaClock.INQUIRY, result=result)
    return len(rows)


def _insert_alerts(alerts: list[tuple], *, now: datetime) -> list[tuple]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: only the alerts raised now come back."""
    table = SlaAlert._meta.db_table
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(alerts))
    params: list = []
    for pk, clock, entry, kind, state, due in alerts:
        params += [pk, clock, entry, kind, state, due, now]
    sql = (
        f"INSERT INTO {table} (case_id, clock, entry, kind, stage, due_at, created_at) VALUES {placeholders} "
        f"ON CONFLICT (case_id, clock, entry, kind) DO NOTHING RETURNING case_id, kind, stage, due_at, entry"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class _Alerting:
    """The events and staff e-mails of freshly raised alerts, for one sweep: the
    settings, the system user, the supervisors and each translated text are read
    once, then each alert costs a few string operations (no model instance)."""

    def __init__(self, *, now: datetime):
        self.now = now
        self._system = None
        self._supervisors: list[str] | None = None
        self._texts: dict = {}
        self._due_texts: dict = {}

    def system(self):
        if self._system is None:
            self._system = system_user()
        return self._system

    def supervisors(self) -> list[str]:
        if self._supervisors is None:
            self._supervisors = list(
                get_user_model().objects.filter(groups__name=Role.SUPERVISOR, is_active=True)
                .exclude(email="").order_by("pk").values_list("email", flat=True).distinct()
            )
        return self._supervisors

    def _due_text(self, due: datetime) -> str:
        text = self._due_texts.get(due)
        if text is None:
            text = timezone.localtime(due, sla.business_calendar().tz).strftime("%Y-%m-%d %H:%M")
            self._due_texts[due] = text
        return text

    def _text(self, key: tuple, build, *args):
        """``build(*args)``, made once per ``key`` in a sweep."""
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = build(*args)
        return text

    def _what(self, clock: str, stage: str, reference: str | None):
        """(what is due, whom to tell) of an alert of ``clock`` in ``stage``."""
        targets, conf = sla.stage_targets(), sla.sla_settings()
        what = sla_alert_what(clock, stage, reference)
        if clock == SlaClock.STAGE:
            return what, getattr(targets.get(stage), "policy", None) or conf
        if clock == SlaClock.INQUIRY:
            return what, getattr(targets.get(State.PROCESSOR_INQUIRY), "policy", None) or conf
        return what, conf

    def record(self, raised: list[tuple], *, clock: str, result: SweepResult) -> None:
        """``raised``: rows (case_id, kind, stage, due_at, entry, reference, state, version, assignee e-mail)."""
        inquiries = ({} if clock != SlaClock.INQUIRY else
                     dict(ProcessorInquiry.objects.filter(pk__in=[row[4] for row in raised])
                          .values_list("pk", "our_reference")))
        events, emails = [], []
        with translation.override(settings.LANGUAGE_CODE):
            for case_id, kind, stage, due, entry, reference, state, version, assignee_email in raised:
                inquiry = inquiries.get(entry) if clock == SlaClock.INQUIRY else None
                what, recipients_conf = self._text(("what", clock, stage, inquiry), self._what, clock, stage, inquiry)
                if kind == SlaAlertKind.REMINDER:
                    event_kind = EventKind.SLA_REMINDER
                    result.reminders += 1
                else:
                    event_kind = EventKind.SLA_BREACH
                    result.breaches += 1
                due_text = self._due_text(due)
                message = sla_alert_text(kind, what, due_text)
                # The payload holds the words' parts, so the timeline says them in its reader's language.
                events.append((case_id, version, event_kind, message,
                               {"clock": clock, "stage": stage, "due_at": due.isoformat(), "due_text": due_text,
                                **({"inquiry_id": entry, "inquiry_reference": inquiry}
                                   if clock == SlaClock.INQUIRY else {})}))
                recipients: list[str] = []
                if recipients_conf.notify_assignee and assignee_email:
                    recipients.append(assignee_email)
                # A reminder goes to the assignee; with nobody assigned, and on a breach, to the supervisors.
                if recipients_conf.notify_supervisors and (kind == SlaAlertKind.BREACH or not recipients):
                    recipients += self.supervisors()
                if kind == SlaAlertKind.BREACH:
                    recipients += recipients_conf.email_list()
                if recipients:
                    subject = f"[{reference}] {message}"[:200]
                    now_text = self._text(("state", state), lambda name: State(name).label, state)
                    body = "\n\n".join([message, _("Case %(reference)s, now %(state)s.")
                                         % {"reference": reference, "state": now_text}])
                    emails += [(case_id, address, subject, body) for address in dict.fromkeys(recipients)]
        record_event_rows(events, actor=self.system())
        result.notifications += queue_notifications(emails)


# --- automatic steps ------------------------------------------------------------------


def _escalate_silent_merchants(*, now: datetime, result: SweepResult, batch_size: int) -> None:
    """A case whose merchant-contact stage breached (alert raised) goes to the processor."""
    breached = SlaAlert.objects.filter(
        case=OuterRef("pk"), clock=SlaClock.STAGE, entry=OuterRef("sla_entry"), kind=SlaAlertKind.BREACH
    )
    due = (Case.objects.filter(state=State.MERCHANT_CONTACT, sla_due_at__lte=now)
           .filter(Exists(breached)).order_by("sla_due_at").select_related("customer"))[:batch_size]
    _take_step(list(due), "escalate_to_processor", SystemNote.MERCHANT_SILENT, result.escalated)


def _close_quiet_cases(*, now: datetime, before: datetime, result: SweepResult, batch_size: int) -> None:
    quiet = (Case.objects.filter(state__in=ENDED_STATES, ended_at__lte=before)
             .order_by("ended_at").select_related("customer"))[:batch_size]
    _take_step(list(quiet), "close", SystemNote.QUIET, result.closed)


def _take_step(cases: list[Case], name: str, note: SystemNote, done: list[str]) -> None:
    system = system_user()
    for case in cases:
        try:
            case_transition(case=case, name=name, actor=system, note=note)
        except (StaleCase, TransitionNotAvailable):
            continue  # someone moved it meanwhile; the next sweep looks again
        except CaseError:
            logger.exception("SLA automatic step %s failed on %s", name, case.reference)
            continue
        done.append(case.reference)
