"""The staff queue (/staff/): tabs, filters, search, keyset pages, bulk
assignment and the CSV export. Thin: reads through ``selectors.queue``,
writes through ``workflow.casework.case_assign``.

The list works without JavaScript (plain links and forms, the URL holds every
filter); with htmx, filtering and paging replace only the results
(``_queue_results.html``) and push the same URL.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from disputes.models import Case
from disputes.selectors import staff_assignees
from disputes.selectors.queue import (
    Tab,
    cases_for_bulk_assign,
    payment_processors,
    queue_export,
    queue_page,
    tabs_for,
)
from disputes.sla import clocks as sla
from disputes.web.badges import Badge, case_badge
from disputes.web.staff_forms import BulkAssignForm, QueueFilterForm
from disputes.web.workspace import csv_download, is_htmx_partial, refusal, workspace_view
from disputes.workflow.casework import case_assign
from disputes.workflow.errors import CaseError, StaleCase
from disputes.workflow.names import State


@dataclass
class QueueRow:
    case: Case
    badge: Badge | None

    @property
    def may_take(self) -> bool:
        return self.case.is_open


def _querystring(request: HttpRequest, **changes) -> str:
    """The current filters as a query string (empty ones left out), with
    ``changes`` (None removes a key)."""
    params = QueryDict(mutable=True)
    for key, values in request.GET.lists():
        kept = [value for value in values if value != ""]
        if kept and key != "after":
            params.setlist(key, kept)
    for key, value in changes.items():
        params.pop(key, None)
        if value is not None:
            params[key] = value
    return params.urlencode()


@require_GET
@workspace_view
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET, processors=payment_processors())
    tabs = tabs_for(request.user)
    context = {"form": form, "section": "queue", "rows": [], "next_url": None,
               "tab_urls": [(tab, "?" + _querystring(request, tab=tab.value, q=None)) for tab in tabs],
               "may_bulk_assign": request.user.has_perm("disputes.supervise_case")}
    status = 200
    if form.is_valid():
        query = form.query()
        page = queue_page(request.user, query, after=form.cleaned_data["after"])  # PermissionDenied: 403
        now = timezone.now()
        context.update(
            query=query,
            rows=[QueueRow(case, case_badge(sla.case_clocks(case, now), now)) for case in page.cases],
            next_url=("?" + _querystring(request, after=page.next_cursor.encode())) if page.next_cursor else None,
            first_url=("?" + _querystring(request)) if form.cleaned_data["after"] else None,
            export_url=reverse("staff-queue-export") + "?" + _querystring(request),
            current_qs=_querystring(request),
            filtered=any(form.cleaned_data.get(name) not in (None, "") for name in QueueFilterForm.FILTERS),
        )
        if context["may_bulk_assign"] and not query.is_search and query.tab != Tab.ENDED:
            context["bulk_form"] = BulkAssignForm(assignees=staff_assignees())
    else:
        status = 400
    partial = is_htmx_partial(request)
    template = "disputes/staff/_queue_results.html" if partial else "disputes/staff/queue.html"
    response = render(request, template, context, status=status)
    if partial:  # the address bar shows the filters without the empty fields of the form
        after = form.cleaned_data.get("after") if form.is_valid() else None
        query = _querystring(request, after=after.encode() if after else None)
        response["HX-Push-Url"] = reverse("staff-queue") + (f"?{query}" if query else "")
    patch_vary_headers(response, ["HX-Request"])
    return response


def _export_row(case: Case, now) -> list:
    clocks = sla.case_clocks(case, now)
    return [
        case.reference, State(case.state).label, case.get_channel_display(), timezone.localtime(case.created_at).isoformat(),
        case.amount, case.currency, case.customer.name, f"····{case.card.last4}", case.merchant_name, case.merchant_id,
        case.terminal_id, case.rrn, case.processor.name if case.processor else "",
        case.assignee.get_username() if case.assignee else "", clocks.status or "",
        timezone.localtime(case.sla_due_at).isoformat() if case.sla_due_at else "",
        timezone.localtime(case.final_due_at).isoformat() if case.final_due_at else "",
        timezone.localtime(case.ended_at).isoformat() if case.ended_at else "",
    ]


EXPORT_HEADER = ("reference", "state", "channel", "filed_at", "amount", "currency", "customer", "card",
                 "merchant_name", "merchant_id", "terminal_id", "rrn", "processor", "assignee", "sla_status",
                 "stage_due_at", "final_due_at", "ended_at")


@require_GET
@workspace_view
def queue_export_csv(request: HttpRequest) -> HttpResponse:
    """The filtered list (every page of it) as CSV, streamed."""
    form = QueueFilterForm(request.GET, processors=payment_processors())
    if not form.is_valid():
        return refusal(request, 400, _("These filters are not valid: correct them on the queue page, then export."))
    now = timezone.now()
    cases = queue_export(request.user, form.query(), now=now)  # PermissionDenied: 403
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M")
    return csv_download(f"cases-{stamp}.csv", list(EXPORT_HEADER), (_export_row(case, now) for case in cases))


def _back_to_queue(next_qs: str) -> HttpResponse:
    params = QueryDict(next_qs or "", mutable=True)  # re-encoded: nothing but a query string goes back
    params.pop("after", None)
    return redirect(reverse("staff-queue") + ("?" + params.urlencode() if params else ""))


@require_POST
@workspace_view
def queue_assign(request: HttpRequest) -> HttpResponse:
    """A supervisor gives the ticked cases to someone (or nobody). Each case goes
    through ``case_assign`` at the version it was listed at: a case changed
    meanwhile is left alone and named."""
    if not request.user.has_perm("disputes.supervise_case"):
        raise PermissionDenied(_("Only a supervisor may assign cases in bulk."))
    form = BulkAssignForm(request.POST, assignees=staff_assignees())
    if not form.is_valid():
        messages.error(request, _("Tick the cases to assign and choose someone (or nobody)."))
        return _back_to_queue(request.POST.get("next", ""))
    assignee, selected = form.cleaned_data["assignee"], form.cleaned_data["cases"]
    cases = cases_for_bulk_assign(request.user, [reference for reference, _version in selected])
    done, stale, refused = 0, [], []
    for reference, version in selected:
        case = cases.get(reference)
        if case is None:
            refused.append(_("%(reference)s: not an open case, left as it is.") % {"reference": reference})
            continue
        try:
            case_assign(case=case, actor=request.user, assignee=assignee, expected_version=version)
        except StaleCase:
            stale.append(reference)
        except CaseError as exc:
            refused.append(f"{reference}: {exc.message}")
        except ValidationError as exc:
            refused.append(f"{reference}: {' '.join(exc.messages)}")
        else:
            done += 1
    if done:
        who = assignee.get_username() if assignee else _("nobody")
        messages.success(request, ngettext("%(count)d case assigned to %(who)s.", "%(count)d cases assigned to %(who)s.",
                                           done) % {"count": done, "who": who})
    if stale:
        messages.warning(request, _("Changed by someone else since the list was shown, so left as they are: "
                                    "%(references)s. Check them and assign again.") % {"references": ", ".join(stale)})
    for text in refused:
        messages.error(request, text)
    return _back_to_queue(request.POST.get("next", ""))
