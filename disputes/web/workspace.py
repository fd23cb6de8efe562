"""What the staff pages share: who may enter (agents and supervisors), the page
that says why something was refused, htmx partial requests, and CSV downloads
that a spreadsheet cannot mistake for formulas."""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

from disputes.selectors import user_may_work_cases
from disputes.selectors.dashboard import user_may_see_dashboard

# A cell starting with one of these is a formula to a spreadsheet (CSV injection):
# such cells get a leading apostrophe, which spreadsheets show as text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def refusal(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """A clear page for a request the workspace refuses (403, 404, 409...)."""
    return render(request, "disputes/staff/refused.html", {"status": status, "message": message}, status=status)


def supervisors_only(request: HttpRequest, message: str) -> HttpResponse | None:
    """The refusal page (403, ``message``) for anyone but a supervisor; ``None`` for a supervisor."""
    if user_may_see_dashboard(request.user):
        return None
    return refusal(request, 403, message)


def workspace_view(view: Callable) -> Callable:
    """Login required; then agents and supervisors only (a 403 page for anyone
    else); a PermissionDenied raised by a selector becomes the same page."""

    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not user_may_work_cases(request.user):
            return refusal(request, 403, _("The staff workspace is for agents and supervisors; your account has "
                                           "neither role. Ask an administrator if you need it."))
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return refusal(request, 403, str(exc) or _("Your role does not allow this."))

    return wrapped


def is_htmx_partial(request: HttpRequest) -> bool:
    """An htmx request for part of a page (not a history restore, which needs the whole page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


def csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_download(filename: str, header: list, rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """A CSV file streamed row by row (UTF-8 with a BOM so spreadsheets read Chinese),
    every cell safe from formula injection, in the language of the request."""
    writer = csv.writer(_Echo())
    language = translation.get_language()

    def lines():
        with translation.override(language):
            yield "\ufeff" + writer.writerow([csv_cell(cell) for cell in header])
            for row in rows:
                yield writer.writerow([csv_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
