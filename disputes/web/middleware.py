"""Request hygiene for every page and API endpoint, checked once before any view.

- A NUL character (``%00``) or a lone UTF-16 surrogate is never part of a
  reference, a merchant id, a step name or a filter value, and PostgreSQL refuses
  NUL in any text it is sent. So a URL carrying one never reaches a view (nor the
  database): in its path it names nothing (404), in its query string it is a bad
  parameter (400).
- A body declared in a charset other than UTF-8 (``charset=latin-1``, or one
  that does not exist) is refused: 415 on the API, 400 on pages. Django would
  refuse only some of them, and read the others as UTF-8 anyway.

Under /api/ the answer is a problem details body, elsewhere Django's error
pages (``views.bad_request`` for 400). Each refusal is logged in one line, as
Django logs a 404: a hostile URL is not a fault, its traceback would only bury
the real ones.
"""
from __future__ import annotations

import codecs
import re

from django.core.exceptions import BadRequest
from django.core.handlers.exception import get_exception_response
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import get_resolver, get_urlconf
from django.utils.http import parse_header_parameters
from django.utils.log import log_response
from django.utils.translation import gettext as _
from rest_framework import exceptions

from disputes.api.errors import problem_response

_FORBIDDEN_TEXT = re.compile("[\x00\ud800-\udfff]")
API_PREFIX = "/api/"


def has_forbidden_text(text: str) -> bool:
    return _FORBIDDEN_TEXT.search(text) is not None


def _shown(text: str) -> str:
    """``text`` fit to be echoed in an error (JSON, HTML, logs)."""
    return _FORBIDDEN_TEXT.sub("\ufffd", text)


def _declares_other_charset_than_utf8(request: HttpRequest) -> bool:
    if request.META.get("CONTENT_LENGTH") in (None, "", "0"):
        return False
    charset = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))[1].get("charset")
    if charset is None:
        return False
    try:
        return codecs.lookup(charset.strip()).name != "utf-8"
    except LookupError:
        return True


def _bad_request(request: HttpRequest, message: str) -> HttpResponse:
    """The page of handler400, as Django would answer ``BadRequest(message)``, logged without a traceback."""
    response = get_exception_response(request, get_resolver(get_urlconf()), 400, BadRequest(message))
    log_response("Bad Request: %s", request.path, response=response, request=request)
    return response


class RequestTextGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        is_api = request.path_info.startswith(API_PREFIX)
        if has_forbidden_text(request.path_info):
            if is_api:
                return problem_response(request, status_code=404, detail=exceptions.NotFound.default_detail)
            raise Http404("forbidden character in the path")
        for name, values in request.GET.lists():
            if has_forbidden_text(name) or any(has_forbidden_text(value) for value in values):
                message = _("This parameter contains a character that is not allowed (NUL or a lone surrogate).")
                if is_api:
                    return problem_response(request, status_code=400, code="validation",
                                            detail=_("The request has invalid fields."), errors={_shown(name): [message]})
                return _bad_request(request, message)
        if _declares_other_charset_than_utf8(request):
            if is_api:
                return problem_response(request, status_code=415,
                                        detail=_("Send the JSON body in UTF-8 (Content-Type: application/json)."))
            return _bad_request(request, "request body not in UTF-8")
        return self.get_response(request)
