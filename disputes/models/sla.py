"""SLA configuration and alerts: policies, calendar overrides, the alerts raised once (disputes/sla/)."""
from __future__ import annotations

from datetime import time, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.cardguard import ScrubbedCharField
from disputes.models.case import Case
from disputes.workflow.names import OPEN_STATES, State

# --- SLA: policies, calendar overrides, alerts (disputes/sla.py) ----------------


class Recipients(models.Model):
    """Who is told: the assignee, the supervisors, and/or a list of addresses."""

    notify_assignee = models.BooleanField(_("tell the assignee"), default=True)
    notify_supervisors = models.BooleanField(_("tell the supervisors"), default=True)
    notify_emails = models.TextField(
        _("also tell these addresses"), blank=True, help_text=_("One e-mail address per line or separated by commas.")
    )

    class Meta:
        abstract = True

    def email_list(self) -> list[str]:
        return [e.strip() for e in self.notify_emails.replace(",", "\n").splitlines() if e.strip()]

    def recipient_errors(self) -> dict:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        for address in self.email_list():
            try:
                validate_email(address)
            except ValidationError:
                return {"notify_emails": _("“%(address)s” is not an e-mail address.") % {"address": address}}
        return {}

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if errors := self.recipient_errors():
            raise ValidationError(errors)


class TargetUnit(models.TextChoices):
    BUSINESS_HOURS = "hours", _("business hours")
    BUSINESS_DAYS = "days", _("business days")


class DeadlineCounting(models.TextChoices):
    CALENDAR_DAYS = "calendar", _("calendar days")
    WORKING_DAYS = "working", _("working days")


# The first extension takes the overall deadline to this many days (when that is longer).
FIRST_EXTENSION_TO_DAYS = 30


def default_final_days() -> int:
    """The overall deadline of new SLA settings: ``DISPUTE_FINAL_DEADLINE_DAYS``."""
    return settings.DISPUTE_FINAL_DEADLINE_DAYS


def default_first_extension_to_days() -> int:
    """30 days, or the overall deadline when that is longer: an extension never shortens it."""
    return max(FIRST_EXTENSION_TO_DAYS, default_final_days())


class SlaSettings(Recipients):
    """The one row of SLA settings: business calendar, overall deadline, automatic steps.

    Missing, it is created with these defaults on first use (migration 0004
    creates it with the same). Once the row exists, the admin's values decide:
    ``DISPUTE_FINAL_DEADLINE_DAYS`` only gives the overall deadline of new settings."""

    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    work_starts = models.TimeField(_("working day starts"), default=time(9, 0))
    work_ends = models.TimeField(_("working day ends"), default=time(17, 30))
    holiday_country = models.CharField(
        _("public holidays of"), max_length=8, default="CN", blank=True,
        help_text=_("A country code of the holidays package (CN: China); empty for none."),
    )
    final_days = models.PositiveSmallIntegerField(_("overall deadline (days)"), default=default_final_days)
    final_counting = models.CharField(_("days counted as"), max_length=8, choices=DeadlineCounting.choices, default=DeadlineCounting.CALENDAR_DAYS)
    first_extension_to_days = models.PositiveSmallIntegerField(
        _("first extension: up to (days)"), default=default_first_extension_to_days
    )
    second_extension_days = models.PositiveSmallIntegerField(_("second extension: a further (days)"), default=30)
    final_reminder_lead = models.DurationField(_("remind before the overall deadline"), default=timedelta(days=2))
    auto_escalate_merchant_silence = models.BooleanField(
        _("escalate to the processor when the merchant stage breaches"), default=True
    )
    auto_close_after = models.DurationField(
        _("close ended cases after"), null=True, blank=True, default=timedelta(days=7),
        help_text=_("Quiet period after a case ends; empty: never close automatically."),
    )

    class Meta:
        verbose_name = _("SLA settings")
        verbose_name_plural = _("SLA settings")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="sla_settings_single_row")]

    def __str__(self) -> str:
        return str(_("SLA settings"))

    def clean(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from django.core.exceptions import ValidationError

        errors = self.recipient_errors()
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = _("Unknown time zone.")
        if self.work_starts and self.work_ends and self.work_ends <= self.work_starts:
            errors["work_ends"] = _("The working day must end after it starts.")
        if self.final_days < 1:
            errors["final_days"] = _("The overall deadline is at least one day.")
        if self.first_extension_to_days < self.final_days:
            errors["first_extension_to_days"] = _("The first extension cannot shorten the deadline.")
        if self.holiday_country:
            import holidays

            if self.holiday_country.upper() not in holidays.list_supported_countries():
                errors["holiday_country"] = _("The holidays package does not know this country.")
        if errors:
            raise ValidationError(errors)


class StagePolicy(Recipients):
    """The target of one workflow stage; a stage without a policy has no clock."""

    state = models.CharField(_("stage"), max_length=20, choices=State.choices, unique=True)
    target = models.PositiveIntegerField(_("target"))
    unit = models.CharField(_("unit"), max_length=5, choices=TargetUnit.choices, default=TargetUnit.BUSINESS_DAYS)
    reminder_lead = models.DurationField(
        _("remind before the deadline (business time)"), default=timedelta(hours=2)
    )

    class Meta:
        verbose_name = _("stage target")
        verbose_name_plural = _("stage targets")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(target__gt=0), name="stage_policy_target_positive"),
        ]

    def __str__(self) -> str:
        return f"{State(self.state).label}: {self.target} {TargetUnit(self.unit).label}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors = self.recipient_errors()
        if self.state and self.state not in OPEN_STATES or self.state == State.AWAITING_CUSTOMER:
            errors["state"] = _("Only open stages in which the bank works have a target.")
        if errors:
            raise ValidationError(errors)


class CalendarOverride(models.Model):
    """A day the admin declares a working day or a day off, whatever the holiday list says."""

    day = models.DateField(_("day"), unique=True)
    is_working_day = models.BooleanField(_("working day"), help_text=_("Ticked: a working day (e.g. 调休); unticked: a day off."))
    note = ScrubbedCharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'working' if self.is_working_day else 'off'}"


class SlaClock(models.TextChoices):
    STAGE = "stage", _("stage deadline")
    FINAL = "final", _("overall deadline")
    # A processor inquiry's due date (the alert's ``entry`` is the inquiry's id).
    INQUIRY = "inquiry", _("processor inquiry due date")


class SlaAlertKind(models.TextChoices):
    REMINDER = "reminder", _("reminder")
    BREACH = "breach", _("breach")


def sla_alert_what(clock: str, stage: str, inquiry_reference: str | None) -> str:
    """What an alert of ``clock`` is about, in the active language."""
    if clock == SlaClock.STAGE:
        return gettext("the target of stage “%(stage)s”") % {"stage": State(stage).label if stage in State.values
                                                                 else stage}
    if clock == SlaClock.INQUIRY:
        return gettext("the payment processor's answer to inquiry %(reference)s") % {"reference": inquiry_reference}
    return gettext("the overall answer deadline")


def sla_alert_text(kind: str, what: str, due_text: str) -> str:
    """A reminder's or breach's words in the active language: the sweep's event
    and e-mail, and the timeline reading the event in its reader's language."""
    if kind == SlaAlertKind.REMINDER:
        return gettext("Reminder: %(what)s is due at %(due)s.") % {"what": what, "due": due_text}
    return gettext("Breach: %(what)s was due at %(due)s.") % {"what": what, "due": due_text}


class SlaAlert(models.Model):
    """An alert raised by the sweep. At most one per case, clock, entry and kind
    (the database makes sure): ``entry`` is the case's stage entry number for the
    stage clock, the number of extensions granted for the overall clock, and
    the inquiry's id for a processor inquiry's due date."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="sla_alerts", verbose_name=_("case"))
    clock = models.CharField(_("clock"), max_length=8, choices=SlaClock.choices)
    entry = models.PositiveIntegerField(_("entry"))
    kind = models.CharField(_("kind"), max_length=8, choices=SlaAlertKind.choices)
    stage = models.CharField(_("stage"), max_length=20, choices=State.choices)
    due_at = models.DateTimeField(_("deadline"))
    created_at = models.DateTimeField(_("raised at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("SLA alert")
        verbose_name_plural = _("SLA alerts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "clock", "entry", "kind"], name="sla_alert_once"),
        ]
        # The dashboard's breaches in a date range (disputes/selectors/dashboard.py).
        indexes = [models.Index(fields=["created_at"], condition=models.Q(kind="breach"), name="slaalert_dash_breach_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.clock} {self.kind}"
