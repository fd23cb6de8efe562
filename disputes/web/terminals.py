"""Terminal health for supervisors (/staff/terminals/, and its CSV): per
terminal over the last ``days`` days up to now, its settlement records, the
declines and timeouts among them and the orphan debits of the latest finished
reconciliation posted there; the terminals with at least ``threshold`` such
incidents, most first. A POS that keeps timing out is where complaints come from.

Thin: the GET parameters go through ``TerminalHealthForm`` (a bad value is a
400 with the form's error, and nothing is queried); the counting is
``transactions.reconciliation.terminal_health``.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from disputes.web.workspace import (
    csv_download,
    refusal,
    supervisors_only,
    workspace_view,
)
from transactions.models import ReconciliationRun
from transactions.reconciliation import (
    TerminalHealth,
    latest_reconciliation,
    terminal_health,
)


class WholeNumberField(forms.IntegerField):
    """A whole number from ``min_value`` to ``max_value``; anything else (letters,
    a fraction, a number out of range or too long to read) gets the one message
    that says what is expected."""

    def __init__(self, *, message, **kwargs) -> None:
        super().__init__(**kwargs)
        self.message = message

    def clean(self, value):
        try:
            return super().clean(value)
        except forms.ValidationError:
            raise forms.ValidationError(self.message, code="invalid",
                                        params={"low": self.min_value, "high": self.max_value}) from None


class TerminalHealthForm(forms.Form):
    """The page's GET parameters; a parameter left out or empty takes its default."""

    DEFAULT_DAYS, MAX_DAYS = 7, 90
    DEFAULT_THRESHOLD, MAX_THRESHOLD = 3, 10_000

    days = WholeNumberField(label=gettext_lazy("Days"), min_value=1, max_value=MAX_DAYS,
                            help_text=gettext_lazy("How many days back from now."),
                            message=gettext_lazy("Enter a whole number of days from %(low)s to %(high)s."))
    threshold = WholeNumberField(label=gettext_lazy("Minimum incidents"), min_value=1, max_value=MAX_THRESHOLD,
                                 help_text=gettext_lazy("Declines + timeouts + orphan debits."),
                                 message=gettext_lazy("Enter a whole number of incidents from %(low)s to %(high)s."))

    def __init__(self, query, **kwargs) -> None:
        data = {"days": str(self.DEFAULT_DAYS), "threshold": str(self.DEFAULT_THRESHOLD)}
        data.update({name: query[name] for name in data if query.get(name)})
        super().__init__(data, **kwargs)

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        return now - timedelta(days=self.cleaned_data["days"]), now

    def query_string(self) -> str:
        return urlencode({name: self.cleaned_data[name] for name in ("days", "threshold")})

    def error_text(self) -> str:
        return " ".join(str(error) for errors in self.errors.values() for error in errors)


def _columns() -> list[str]:
    return [_("Terminal id"), _("Merchant id"), _("Settlement records"), _("Approved"), _("Declined"),
            _("Timeouts"), _("Orphan debits"), _("Incidents")]


def _health(form: TerminalHealthForm, run: ReconciliationRun | None) -> tuple[list[TerminalHealth], datetime, datetime]:
    since, until = form.window(timezone.now())
    rows = terminal_health(since=since, until=until, threshold=form.cleaned_data["threshold"], reconciliation=run)
    return rows, since, until


@require_GET
@workspace_view
def terminals_page(request: HttpRequest) -> HttpResponse:
    if refused := supervisors_only(request, _("Terminal health is for supervisors.")):
        return refused
    form = TerminalHealthForm(request.GET)
    context = {"section": "terminals", "form": form, "columns": _columns()}
    if not form.is_valid():
        return render(request, "disputes/staff/terminals.html", context, status=400)
    run = latest_reconciliation()
    rows, since, until = _health(form, run)
    return render(request, "disputes/staff/terminals.html", {
        **context, "rows": rows, "since": since, "until": until, "reconciliation": run,
        "csv_url": f"{reverse('staff-terminals-csv')}?{form.query_string()}",
    })


@require_GET
@workspace_view
def terminals_csv(request: HttpRequest) -> HttpResponse:
    if refused := supervisors_only(request, _("Terminal health is for supervisors.")):
        return refused
    form = TerminalHealthForm(request.GET)
    if not form.is_valid():
        return refusal(request, 400, form.error_text())
    rows, _since, _until = _health(form, latest_reconciliation())
    return csv_download(f"terminal-health-{timezone.localdate().isoformat()}.csv", _columns(),
                        (row.as_row() for row in rows))
