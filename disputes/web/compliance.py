"""The compliance list of cases with an unlicensed processor
(/staff/compliance/unlicensed/, and its CSV): supervisors only."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from disputes.selectors.compliance import unlicensed_cases
from disputes.web.workspace import csv_download, supervisors_only, workspace_view
from disputes.workflow.names import State

PAGE_ROWS = 500  # the page shows the newest; the CSV has them all


def _columns() -> list[str]:
    return [_("Reference"), _("State"), _("Filed"), _("Payment processor"), _("Merchant id"), _("Merchant name"),
            _("Terminal id"), _("Amount"), _("Currency")]


def _row(row: tuple) -> list:
    reference, state, created_at, *rest = row
    return [reference, State(state).label, timezone.localtime(created_at).strftime("%Y-%m-%d %H:%M"), *rest]


@require_GET
@workspace_view
def unlicensed_page(request: HttpRequest) -> HttpResponse:
    if refused := supervisors_only(request, _("The compliance lists are for supervisors.")):
        return refused
    rows = list(unlicensed_cases(user=request.user)[: PAGE_ROWS + 1])
    return render(request, "disputes/staff/compliance_unlicensed.html", {
        "section": "compliance", "columns": _columns(), "rows": [_row(row) for row in rows[:PAGE_ROWS]],
        "more": len(rows) > PAGE_ROWS, "page_rows": PAGE_ROWS,
    })


@require_GET
@workspace_view
def unlicensed_csv(request: HttpRequest) -> HttpResponse:
    if refused := supervisors_only(request, _("The compliance lists are for supervisors.")):
        return refused
    rows = unlicensed_cases(user=request.user).iterator(chunk_size=1000)
    return csv_download(f"unlicensed-processor-cases-{timezone.localdate().isoformat()}.csv", _columns(),
                        (_row(row) for row in rows))
