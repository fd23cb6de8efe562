"""One error shape for the whole API: RFC 9457 problem details.

Every failure, whether DRF's own (authentication, throttling, parsing), the
services' (``disputes.workflow.errors``, Django's ``ValidationError``) or an unexpected
crash, leaves as ``application/problem+json``::

    {"type": "urn:dispute-desk:problem:validation", "title": "...", "status": 400,
     "detail": "...", "instance": "/api/v1/cases/", "errors": {"customer.phone": ["..."]}}

Titles and details are in the language the request asked for (Accept-Language).
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse, UnreadablePostError
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from disputes.workflow.errors import ActionForbidden, CaseError, StaleCase, TransitionNotAvailable, TransitionUnknown

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:dispute-desk:problem:"

# The database out of reach (restarting, failing over, a connection cut): the
# request changed nothing that stays (its transaction rolled back), so the answer
# is 503 with Retry-After, never a 500. Django reconnects on the next request.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def database_unavailable_message() -> str:
    return _("The service is briefly unavailable. Nothing was changed: try again in a few seconds.")



class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_in_progress"

    def __init__(self):
        super().__init__(_("A request with this Idempotency-Key is still being processed. Retry in a moment."))


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"

    def __init__(self):
        super().__init__(_("This Idempotency-Key was already used with a different request. Use a new key for a new request."))


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"


def _titles() -> dict[int, str]:
    return {
        400: _("Invalid request"),
        401: _("Authentication required"),
        403: _("Forbidden"),
        404: _("Not found"),
        405: _("Method not allowed"),
        406: _("Not acceptable"),
        409: _("Conflict"),
        412: _("Precondition failed"),
        413: _("Request too large"),
        415: _("Unsupported media type"),
        422: _("Unprocessable request"),
        429: _("Too many requests"),
        500: _("Server error"),
        503: _("Service briefly unavailable"),
    }


def _slug(status_code: int, code: str | None) -> str:
    default = {
        400: "validation", 401: "not-authenticated", 403: "forbidden", 404: "not-found",
        405: "method-not-allowed", 406: "not-acceptable", 409: "conflict", 412: "precondition-failed",
        413: "request-too-large", 415: "unsupported-media-type", 422: "unprocessable", 429: "throttled", 500: "server-error",
        503: "unavailable",
    }.get(status_code, "error")
    return (code or default).replace("_", "-")


def problem(
    *, status_code: int, detail: str, instance: str, code: str | None = None,
    errors: dict[str, list[str]] | None = None, headers: dict | None = None,
) -> Response:
    body = {
        "type": PROBLEM_TYPE_PREFIX + _slug(status_code, code),
        "title": _titles().get(status_code, _("Error")),
        "status": status_code,
        "detail": str(detail),
        "instance": instance,
    }
    if errors:
        body["errors"] = errors
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error details as {"customer.phone": ["..."]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, messages in flatten_errors(value, name).items():
                flat.setdefault(field, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            flat[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                for field, messages in flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)).items():
                    flat.setdefault(field, []).extend(messages)
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def service_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": [str(m) for m in exc.messages]}


def problem_exception_handler(exc, context):
    request = context.get("request")
    instance = request.get_full_path() if request is not None else ""

    if isinstance(exc, DjangoValidationError):
        return problem(status_code=400, code="validation", detail=_("The request has invalid fields."),
                       instance=instance, errors=service_errors(exc))
    if isinstance(exc, CaseError):
        if isinstance(exc, TransitionUnknown):
            status_code, code = 404, "unknown-transition"
        elif isinstance(exc, ActionForbidden):
            status_code, code = 403, "forbidden"
        elif isinstance(exc, TransitionNotAvailable):
            status_code, code = 409, "transition-not-available"
        elif isinstance(exc, StaleCase):
            has_if_match = request is not None and bool(request.headers.get("If-Match"))
            status_code, code = (412, "stale-version") if has_if_match else (409, "concurrent-change")
        else:
            status_code, code = 409, "conflict"
        return problem(status_code=status_code, code=code, detail=str(exc.message), instance=instance)

    if isinstance(exc, (RequestDataTooBig, SuspiciousOperation, BadRequest)):
        status_code, detail = request_error(exc)
        if status_code == 413 and request is not None:
            discard_unread_body(request)
        return problem(status_code=status_code, detail=detail, instance=instance)

    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.warning("database unavailable on %s: %s", instance, exc)
        return problem(status_code=503, detail=database_unavailable_message(), instance=instance,
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("API error on %s", instance, exc_info=exc)
        return problem(status_code=500, detail=_("Something went wrong on our side. The request may be retried."),
                       instance=instance)

    headers = {name: value for name, value in response.items() if name in ("WWW-Authenticate", "Retry-After", "Allow")}
    if isinstance(exc, exceptions.ValidationError):
        return problem(status_code=response.status_code, code="validation",
                       detail=_("The request has invalid fields."), instance=instance,
                       errors=flatten_errors(exc.detail), headers=headers)
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(detail, (dict, list)):
        errors = flatten_errors(detail)
        detail = next(iter(errors.values()))[0] if errors else ""
    code = getattr(exc, "default_code", None) if type(exc).__module__ != exceptions.__name__ else None
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # DRF answers 403 to session-less requests when no authenticator sends a
        # challenge; Token does, so a missing or bad token is always 401.
        if "WWW-Authenticate" not in headers:
            headers["WWW-Authenticate"] = 'Token realm="api"'
        return problem(status_code=401, detail=str(detail), instance=instance, headers=headers)
    return problem(status_code=response.status_code, code=code, detail=str(detail), instance=instance, headers=headers)


# A refused body up to this size is read to its end before the answer; larger, the
# connection is simply closed (the front proxy should have refused it already).
DISCARD_AT_MOST = 16 * 1024 * 1024


def discard_unread_body(request: HttpRequest) -> None:
    """Read and drop the rest of a body refused before it was read (too large).

    The WSGI server closes the connection after the answer; a client still
    sending its body would get a broken pipe instead of our 413."""
    request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if length > DISCARD_AT_MOST:
        return
    try:
        while request.read(64 * 1024):
            pass
    except (OSError, UnreadablePostError):
        pass


def request_error(exc: Exception) -> tuple[int, str]:
    """Status and message for a request Django could not read: a body above
    DATA_UPLOAD_MAX_MEMORY_SIZE (413), or another malformed request (400: too
    many fields, a form not in UTF-8, ...). For the API and the pages alike."""
    if isinstance(exc, RequestDataTooBig):
        return 413, _("The request body is too large: at most %(size)s kB are accepted.") % {
            "size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024}
    return 400, _("The request could not be read. Send it again as UTF-8 text with a valid Content-Type.")


def problem_response(request: HttpRequest, *, status_code: int, detail: str, code: str | None = None,
                     errors: dict[str, list[str]] | None = None, headers: dict | None = None) -> JsonResponse:
    """A problem details response outside DRF's views (URL fallbacks, middleware, error handlers)."""
    body = {
        "type": PROBLEM_TYPE_PREFIX + _slug(status_code, code),
        "title": _titles().get(status_code, _("Error")),
        "status": status_code,
        "detail": str(detail),
        "instance": request.get_full_path(),
    }
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE, headers=headers,
                        json_dumps_params={"ensure_ascii": False})


@csrf_exempt  # it changes nothing, and a CSRF page in HTML would break the API's error shape
def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/ answer in the API's error shape too, whatever the method."""
    return problem_response(request, status_code=404, detail=_("There is no such API endpoint."))
