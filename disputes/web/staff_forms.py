"""Forms of the staff workspace. They check shapes only; the rules are the
services' (their ValidationError goes back onto these fields).

Every form that changes a case carries the ``version`` of the case it was
read at, so that a change made meanwhile by someone else is refused (or, for
additions that overwrite nothing, reported) instead of overwritten.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.slip import validate_merchant_id
from disputes.models import ContactChannel, NoteVisibility, Outcome
from disputes.selectors.dashboard import Period
from disputes.selectors.queue import NOT_CHECKED, Cursor, QueueQuery, Tab
from disputes.sla.conditions import STATUSES
from disputes.web.badges import SLA_STATUS_LABELS
from disputes.workflow.names import NOTE_MAX_LENGTH, Channel, State


class DayField(forms.DateField):
    """A local day that a filter turns into instants: 2000-01-01 to 2099-12-31.
    Python has no day after 9999-12-31 (a filter's end is the next midnight),
    and converts no local time of year 1 to UTC; no case is filed outside."""

    FIRST, LAST = date(2000, 1, 1), date(2099, 12, 31)
    default_error_messages = {"out_of_range": _("Enter a date from 2000-01-01 to 2099-12-31.")}

    def __init__(self, **kwargs) -> None:
        attrs = {"type": "date", "min": self.FIRST.isoformat(), "max": self.LAST.isoformat()}
        super().__init__(widget=forms.DateInput(attrs=attrs, format="%Y-%m-%d"), **kwargs)

    def validate(self, value) -> None:
        super().validate(value)
        if value is not None and not self.FIRST <= value <= self.LAST:
            raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range")


def _any(label) -> list[tuple[str, str]]:
    return [("", label)]


class QueueFilterForm(forms.Form):
    """The queue's GET parameters: the URL is the whole state of the list."""

    tab = forms.ChoiceField(label=_("Tab"), choices=Tab.choices, required=False)
    q = forms.CharField(label=_("Search"), max_length=40, required=False,
                        help_text=_("Reference, phone, card last 4 or RRN."),
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    state = forms.ChoiceField(label=_("State"), choices=_any(_("any state")) + State.choices, required=False)
    sla = forms.ChoiceField(label=_("SLA"), required=False,
                            choices=_any(_("any SLA status")) + [(s, SLA_STATUS_LABELS[s]) for s in STATUSES])
    channel = forms.ChoiceField(label=_("Channel"), choices=_any(_("any channel")) + Channel.choices, required=False)
    merchant_id = forms.CharField(label=_("Merchant id"), max_length=15, required=False,
                                  validators=[validate_merchant_id],
                                  widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    processor = forms.TypedChoiceField(label=_("Payment processor"), coerce=int, required=False, empty_value=None)
    diagnosis = forms.ChoiceField(label=_("Diagnosis"), required=False,
                                  choices=_any(_("any diagnosis")) + [(NOT_CHECKED, _("not checked yet"))]
                                  + Outcome.choices)
    amount_min = forms.DecimalField(label=_("Amount from"), min_value=0, max_digits=14, decimal_places=2,
                                    required=False)
    amount_max = forms.DecimalField(label=_("Amount to"), min_value=0, max_digits=14, decimal_places=2,
                                    required=False)
    filed_from = DayField(label=_("Filed from"), required=False)
    filed_to = DayField(label=_("Filed to"), required=False)
    after = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)

    FILTERS = ("state", "sla", "channel", "merchant_id", "processor", "diagnosis", "amount_min", "amount_max",
               "filed_from", "filed_to")

    def __init__(self, *args, processors=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["processor"].choices = _any(_("any processor")) + [(p.pk, p.name) for p in processors]
        for name in ("state", "sla", "channel", "processor", "diagnosis", "filed_from", "filed_to"):
            # Applied as soon as chosen, with JavaScript (static/js/staff.js); with the button without.
            self.fields[name].widget.attrs["data-autosubmit"] = ""

    def clean_after(self) -> Cursor | None:
        text = self.cleaned_data.get("after") or ""
        if not text:
            return None
        try:
            return Cursor.decode(text)
        except ValueError:
            raise forms.ValidationError(_("This page link is broken: go back to the first page.")) from None

    def clean(self):
        data = super().clean()
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", _("The upper amount is below the lower one."))
        first, last = data.get("filed_from"), data.get("filed_to")
        if first and last and first > last:
            self.add_error("filed_to", _("This date is before the first one."))
        return data

    def query(self) -> QueueQuery:
        data = self.cleaned_data
        return QueueQuery(
            tab=data.get("tab") or Tab.MINE, q=data.get("q") or "", state=data.get("state") or "",
            sla=data.get("sla") or "", channel=data.get("channel") or "", merchant_id=data.get("merchant_id") or "",
            processor_id=data.get("processor"), diagnosis=data.get("diagnosis") or "", amount_min=data.get("amount_min"), amount_max=data.get("amount_max"),
            filed_from=data.get("filed_from"), filed_to=data.get("filed_to"),
        )


class VersionedForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1,
                                 error_messages={"required": _("This form is out of date: reload the case page.")})


class StepForm(VersionedForm):
    """One workflow step; the template shows only what the step asks for."""

    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=NOTE_MAX_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=NOTE_MAX_LENGTH,
                             widget=forms.Textarea(attrs={"rows": 2}))
    amount = forms.CharField(label=_("Amount to refund"), required=False, max_length=20,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))


class NoteForm(VersionedForm):
    body = forms.CharField(label=_("Note"), max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))
    visibility = forms.ChoiceField(label=_("Who sees it"), choices=NoteVisibility.choices,
                                   initial=NoteVisibility.INTERNAL, widget=forms.RadioSelect)


class AttachForm(VersionedForm):
    file = forms.FileField(label=_("File"), help_text=_("PDF, JPEG, PNG, CSV or text."),
                           widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.csv,.txt"}))


class MerchantContactForm(VersionedForm):
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices, initial=ContactChannel.EMAIL)
    asked = forms.CharField(label=_("What was asked"), max_length=NOTE_MAX_LENGTH,
                            widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.CharField(label=_("Outcome (optional)"), max_length=NOTE_MAX_LENGTH, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
    send_link = forms.BooleanField(label=_("E-mail the merchant its answer link"), required=False, initial=True)


class InquirySendForm(VersionedForm):
    processor = forms.ModelChoiceField(label=_("Payment processor"), queryset=None, required=False,
                                       empty_label=_("the case's processor"))
    our_reference = forms.CharField(label=_("Our reference"), max_length=40)
    question = forms.CharField(label=_("Question (optional)"), max_length=NOTE_MAX_LENGTH, required=False,
                               widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, processors, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["processor"].queryset = processors


class InquiryAnswerForm(VersionedForm):
    answer = forms.CharField(label=_("The processor's answer"), max_length=NOTE_MAX_LENGTH,
                             widget=forms.Textarea(attrs={"rows": 2}))


class AssignForm(VersionedForm):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=None, required=False,
                                      empty_label=_("nobody (unassigned)"))

    def __init__(self, *args, assignees, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class SelectedCasesField(forms.Field):
    """The queue's ticked rows, each ``REFERENCE:version`` (the version it was
    read at): ASCII letters, digits and dashes, then up to 9 ASCII digits. Any
    other value (a NUL, a superscript digit, text) was not sent by the queue,
    and refuses the whole form: nothing is assigned."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": _("Tick the cases to assign and choose someone (or nobody).")}
    SHAPE = re.compile(r"([0-9A-Z-]{1,20}):([0-9]{1,9})", re.ASCII)

    def to_python(self, value) -> list[tuple[str, int]]:
        values = value if isinstance(value, (list, tuple)) else [value] if value else []
        matches = [self.SHAPE.fullmatch(item) if isinstance(item, str) else None for item in values]
        if not all(matches):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return [(match[1], int(match[2])) for match in matches]


class BulkAssignForm(forms.Form):
    cases = SelectedCasesField()
    assignee = forms.ModelChoiceField(label=_("Assign the selected cases to"), queryset=None, required=False,
                                      empty_label=_("nobody (unassigned)"))

    def __init__(self, *args, assignees, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class ExtendDeadlineForm(VersionedForm):
    reason = forms.CharField(label=_("Reason (told to the customer)"), max_length=NOTE_MAX_LENGTH,
                             widget=forms.Textarea(attrs={"rows": 2}))


class PeriodForm(forms.Form):
    """The dashboard's date range: local days, both included; the last 30 days by default."""

    DEFAULT_DAYS = 30
    MAX_DAYS = 366

    start = DayField(label=_("From"), required=False)
    end = DayField(label=_("To"), required=False)

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        last = data.get("end") or today
        first = data.get("start") or last - timedelta(days=self.DEFAULT_DAYS - 1)
        if first > last:
            self.add_error("end", _("This date is before the first one."))
        elif (last - first).days >= self.MAX_DAYS:
            self.add_error("start", _("Choose at most %(days)s days.") % {"days": self.MAX_DAYS})
        data["period"] = Period(first=first, last=last)
        return data

    @classmethod
    def default_period(cls) -> Period:
        today = timezone.localdate()
        return Period(first=today - timedelta(days=cls.DEFAULT_DAYS - 1), last=today)
