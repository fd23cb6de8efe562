"""The supervisors' dashboard (/staff/dashboard/) and the CSV of each figure.

Thin: the figures come from ``selectors.dashboard`` (set-based queries); the
page draws each as a chart (Chart.js, vendored, fed from a JSON data block by
``static/js/dashboard.js``) above the same numbers as a table, which is what a
browser without JavaScript shows.
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from disputes.selectors.dashboard import FIGURES, Period, dashboard, dashboard_figure
from disputes.web.staff_forms import PeriodForm
from disputes.web.workspace import (
    csv_download,
    refusal,
    supervisors_only,
    workspace_view,
)


def _period(request: HttpRequest) -> tuple[PeriodForm, Period, bool]:
    """The period asked for (the last 30 days when none is), and whether it is valid."""
    if not request.GET:
        period = PeriodForm.default_period()
        return PeriodForm(initial={"start": period.first, "end": period.last}), period, True
    form = PeriodForm(request.GET)
    if form.is_valid():
        return form, form.cleaned_data["period"], True
    return form, PeriodForm.default_period(), False


@require_GET
@workspace_view
def dashboard_page(request: HttpRequest) -> HttpResponse:
    if refused := supervisors_only(request, _("The dashboard is for supervisors.")):
        return refused
    form, period, valid = _period(request)
    figures = dashboard(user=request.user, period=period)
    query = request.GET.urlencode()
    return render(request, "disputes/staff/dashboard.html", {
        "form": form, "period": period, "section": "dashboard",
        "figures": [(figure, figure.chart_data(),
                     reverse("staff-dashboard-csv", args=[figure.slug]) + (f"?{query}" if query else ""))
                    for figure in figures],
    }, status=200 if valid else 400)


@require_GET
@workspace_view
def dashboard_csv(request: HttpRequest, figure: str) -> HttpResponse:
    if refused := supervisors_only(request, _("The dashboard is for supervisors.")):
        return refused
    if figure not in FIGURES:
        return refusal(request, 404, _("There is no such figure on the dashboard."))
    _form, period, valid = _period(request)
    if not valid:
        return refusal(request, 400, _("Choose a valid period on the dashboard, then export."))
    found = dashboard_figure(user=request.user, slug=figure, period=period)
    name = f"{figure}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return csv_download(name, [str(column) for column in found.columns], found.rows)
