"""handler500: a crash, or the database out of reach; and the page of a form
refused by the CSRF check (CSRF_FAILURE_VIEW).

When the database is out of reach (restarting, failing over, a connection cut
mid-request) the request's transaction rolled back and nothing it did stays:
the answer is 503 with Retry-After, as problem details under /api/ and as a
plain page elsewhere, and Django reconnects by itself on the next request
(CONN_HEALTH_CHECKS). Anything else is the usual 500. Neither page touches the
database (no session, no user), or rendering it would fail in turn."""
from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from disputes.api.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, database_unavailable_message, problem_response


def server_error(request: HttpRequest) -> HttpResponse:
    database_down = isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE)
    if database_down:
        status, message = 503, database_unavailable_message()
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    else:
        status, message = 500, _("Something went wrong on our side. Nothing was changed: please try again later.")
        headers = {}
    if request.path_info.startswith("/api/"):
        return problem_response(request, status_code=status, detail=message, headers=headers)
    try:
        html = render_to_string("server_error.html", {"status": status, "message": message})
    except Exception:  # noqa: BLE001 - the page of last resort must not fail in turn
        html = f'<!doctype html><title>{status}</title><p id="server-error" data-status="{status}">{escape(message)}</p>'
    return HttpResponse(html, status=status, headers=headers)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form sent without its cookie or token. It is
    mostly a form left open too long (the token changes at each login), or a
    browser that refuses cookies, seldom an attack; either way nothing was
    done. Django's own page explains CSRF in technical terms; a
    customer or an agent needs to know what to do, in their language. (The API
    is exempt: DRF checks its own session callers and answers problem details.)"""
    message = _("This form could not be accepted: it was open too long, or your browser did not send our cookie. "
                "Nothing was changed. Reload the page (allow cookies for this site) and send the form again.")
    return render(request, "request_error.html", {"status": 403, "message": message}, status=403)
