"""SLA actions: the sweep and the deadline extensions (docs/sla.md).

``sla_sweep(now=)`` is the one sweep: the Celery beat task ``disputes.tasks.sla_sweep``
runs it every minute, and ``python manage.py sla_sweep [--now]`` runs it once.
It raises each due reminder and breach exactly once — the ``sla_alert_once``
unique constraint on ``SlaAlert`` makes sure, even with two sweeps at the same
time — writes the ``sla_reminder`` / ``sla_breach`` event and the staff e-mails
(Notification outbox, sent after commit) in the same transaction, then takes
the automatic steps: escalation on merchant silence, closing ended cases after
the quiet period. A processor inquiry's due date is swept the same way (clock
``inquiry``, the alert's entry the inquiry's id): a reminder before it and a
breach at it, each once, while the inquiry waits for its answer on an open case.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from disputes.delivery import outbox
from disputes.delivery.outbox import enqueue_after_commit
from disputes.models import Case, Notification, ProcessorInquiry, SlaAlert, SlaAlertKind, SlaClock
from disputes.sla import clocks as sla
from disputes.workflow.actors import system_user
from disputes.workflow.errors import CaseError, StaleCase, TransitionNotAvailable
from disputes.workflow.events import new_event, record_events
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

    def __str__(self) -> str:
        return (f"reminders={self.reminders} breaches={self.breaches} escalated={len(self.escalated)} "
                f"closed={len(self.closed)} notifications={self.notifications}")


def sla_sweep(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> SweepResult:
    """Raise the due SLA alerts and take the automatic steps, as of ``now``."""
    now = now or timezone.now()
    result = SweepResult()
    for clock in (SlaClock.STAGE, SlaClock.FINAL):
        for _batch in range(MAX_BATCHES):
            found = _sweep_batch(clock=clock, now=now, batch_size=batch_size, result=result)
            if found < batch_size:
                break
    for _batch in range(MAX_BATCHES):
        if _sweep_inquiries(now=now, batch_size=batch_size, result=result) < batch_size:
            break
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


def _sweep_batch(*, clock: str, now: datetime, batch_size: int, result: SweepResult) -> int:
    """One bounded batch of one clock, in one transaction. Returns how many cases it looked at."""
    alert_col, due_col, entry_col = _COLUMNS[clock]
    with transaction.atomic():
        # The partial index on the alert column finds the due cases; rows another
        # sweep holds are skipped, not waited for.
        rows = list(
            Case.objects.filter(**{f"{alert_col}__lte": now})
            .order_by(alert_col)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", due_col, entry_col, "state")[:batch_size]
        )
        if not rows:
            return 0
        alerts = []
        for pk, due, entry, state in rows:
            kind = SlaAlertKind.BREACH if due is not None and due <= now else SlaAlertKind.REMINDER
            alerts.append((pk, clock, entry, kind, state, due or now))
        inserted = _insert_alerts(alerts, now=now)
        # Next look: a reminded clock at its deadline; a breached clock never again.
        reminded = [pk for pk, _c, _e, kind, _s, _d in alerts if kind == SlaAlertKind.REMINDER]
        breached = [pk for pk, _c, _e, kind, _s, _d in alerts if kind == SlaAlertKind.BREACH]
        if reminded:
            Case.objects.filter(pk__in=reminded).update(**{alert_col: F(due_col)})
        if breached:
            Case.objects.filter(pk__in=breached).update(**{alert_col: None})
        if inserted:
            _record_alerts(inserted, clock=clock, result=result)
    return len(rows)


def _sweep_inquiries(*, now: datetime, batch_size: int, result: SweepResult) -> int:
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
            _record_alerts(inserted, clock=SlaClock.INQUIRY, result=result)
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


def _record_alerts(inserted: list[tuple], *, clock: str, result: SweepResult) -> None:
    """The events and the staff e-mails of freshly raised alerts (same transaction)."""
    system = system_user()
    cases = {c.pk: c for c in Case.objects.filter(pk__in=[r[0] for r in inserted]).select_related("assignee")}
    targets = sla.stage_targets()
    conf = sla.sla_settings()
    supervisors = None
    events, notifications = [], []
    inquiries = ({} if clock != SlaClock.INQUIRY else
                 dict(ProcessorInquiry.objects.filter(pk__in=[row[4] for row in inserted])
                      .values_list("pk", "our_reference")))
    with translation.override(settings.LANGUAGE_CODE):
        for case_id, kind, stage, due, entry in inserted:
            case = cases[case_id]
            due_text = timezone.localtime(due, sla.business_calendar().tz).strftime("%Y-%m-%d %H:%M")
            if clock == SlaClock.STAGE:
                what = _("the target of stage “%(stage)s”") % {"stage": State(stage).label}
                recipients_conf = getattr(targets.get(stage), "policy", None) or conf
            elif clock == SlaClock.INQUIRY:
                what = _("the payment processor's answer to inquiry %(reference)s") % {"reference": inquiries[entry]}
                recipients_conf = getattr(targets.get(State.PROCESSOR_INQUIRY), "policy", None) or conf
            else:
                what = _("the overall answer deadline")
                recipients_conf = conf
            if kind == SlaAlertKind.REMINDER:
                event_kind = EventKind.SLA_REMINDER
                message = _("Reminder: %(what)s is due at %(due)s.") % {"what": what, "due": due_text}
                result.reminders += 1
            else:
                event_kind = EventKind.SLA_BREACH
                message = _("Breach: %(what)s was due at %(due)s.") % {"what": what, "due": due_text}
                result.breaches += 1
            events.append(new_event(
                case, kind=event_kind, actor=system, message=message,
                payload={"clock": clock, "stage": stage, "due_at": due.isoformat(),
                         **({"inquiry_id": entry} if clock == SlaClock.INQUIRY else {})},
            ))
            recipients: list[str] = []
            if recipients_conf.notify_assignee and case.assignee and case.assignee.email:
                recipients.append(case.assignee.email)
            # A reminder goes to the assignee; with nobody assigned, and on a breach, to the supervisors.
            if recipients_conf.notify_supervisors and (kind == SlaAlertKind.BREACH or not recipients):
                if supervisors is None:
                    supervisors = list(
                        get_user_model().objects.filter(groups__name=Role.SUPERVISOR, is_active=True)
                        .exclude(email="").order_by("pk").values_list("email", flat=True).distinct()
                    )
                recipients += supervisors
            if kind == SlaAlertKind.BREACH:
                recipients += recipients_conf.email_list()
            for address in dict.fromkeys(recipients):
                notifications.append(Notification(
                    case=case, recipient=address, subject=f"[{case.reference}] {message}"[:200],
                    body="\n\n".join([message, _("Case %(reference)s, now %(state)s.")
                                      % {"reference": case.reference, "state": State(case.state).label}]),
                ))
    record_events(events)
    created = Notification.objects.bulk_create(notifications)
    result.notifications += len(created)
    if created:
        enqueue_after_commit(outbox.DELIVER_NOTIFICATIONS, [n.pk for n in created])


# --- automatic steps ------------------------------------------------------------------


def _escalate_silent_merchants(*, now: datetime, result: SweepResult, batch_size: int) -> None:
    """A case whose merchant-contact stage breached (alert raised) goes to the processor."""
    breached = SlaAlert.objects.filter(
        case=OuterRef("pk"), clock=SlaClock.STAGE, entry=OuterRef("sla_entry"), kind=SlaAlertKind.BREACH
    )
    due = (Case.objects.filter(state=State.MERCHANT_CONTACT, sla_due_at__lte=now)
           .filter(Exists(breached)).order_by("sla_due_at").select_related("customer"))[:batch_size]
    _take_step(list(due), "escalate_to_processor",
               _("Automatic: the merchant did not answer within the stage target."), result.escalated)


def _close_quiet_cases(*, now: datetime, before: datetime, result: SweepResult, batch_size: int) -> None:
    quiet = (Case.objects.filter(state__in=ENDED_STATES, ended_at__lte=before)
             .order_by("ended_at").select_related("customer"))[:batch_size]
    _take_step(list(quiet), "close", _("Automatic: closed after the quiet period."), result.closed)


def _take_step(cases: list[Case], name: str, note: str, done: list[str]) -> None:
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
