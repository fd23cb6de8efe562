"""handler500: a crash, or the database out of reach.

When the database is out of reach (restarting, failing over, a connection cut
mid-request) the request's transaction rolled back and nothing it did stays:
the answer is 503 with Retry-After, as problem details under /api/ and as a
plain page elsewhere, and Django reconnects by itself on the next request
(CONN_HEALTH_CHECKS). Anything else is the usual 500. Neither page touches the
database (no session, no user), or rendering it would fail in turn."""
from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse
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
