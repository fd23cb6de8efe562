"""``Idempotency-Key`` for the API's POSTs: safe retries over a flaky network.

The first request with a key runs inside one database transaction that starts
by inserting the key's row. Until it commits, PostgreSQL makes any other insert
of the same (user, key) wait; when it commits, the waiting requests find its
stored response and replay it. So twenty identical requests sent at once make
one case and get one answer. A request that waits longer than
``DISPUTE_IDEMPOTENCY_WAIT_SECONDS`` gets 409 and may retry. The same key with
another body (or on another endpoint) gets 422. Keys belong to one user, and
are forgotten after ``DISPUTE_IDEMPOTENCY_TTL`` (48 hours by default).

Nothing here keeps a card number: the key is stored as its SHA-256 (a client
may send anything as a key, a card number too), and an error answer, which may
echo what the client sent, has its card numbers masked before it is stored and
sent (``storable_body``).

Only final answers are stored: successes and 4xx that the same request would
get again. 401, 408, 409, 412, 429 and 5xx are not stored (the key is released
with the rolled-back transaction), so a retry runs again.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from core.cardguard import mask_in_json, scrub_free_text
from disputes.api.errors import IdempotencyConflict, IdempotencyKeyReused
from disputes.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
STORED_HEADERS = ("ETag", "Location")
UNSTORED_STATUSES = {401, 408, 409, 412, 429}
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: object
    headers: dict[str, str]


def request_fingerprint(*, method: str, path: str, data) -> str:
    canonical = json.dumps(data, sort_keys=True, cls=JSONEncoder, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def key_digest(key: str) -> str:
    """What is stored of an Idempotency-Key: its SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def _set_lock_timeout(milliseconds: int | None) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's IMMEDIATE transactions already queue writers
    with connection.cursor() as cursor:
        if milliseconds is None:
            cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
        else:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{max(milliseconds, 1)}ms"])


def idempotency_begin(*, user, key: str, fingerprint: str) -> StoredResponse | None:
    """Claim ``key`` for this request (None), or return the stored first response.

    Must run inside the transaction that will do the request's work. Raises
    IdempotencyKeyReused (422) when the key was used for another request, and
    IdempotencyConflict (409) when its first request is still running."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("idempotency_begin must run inside transaction.atomic()")
    cutoff = timezone.now() - settings.DISPUTE_IDEMPOTENCY_TTL
    key_hash = key_digest(key)
    _set_lock_timeout(int(settings.DISPUTE_IDEMPOTENCY_WAIT_SECONDS * 1000))
    try:
        with transaction.atomic():
            IdempotencyKey.objects.filter(user=user, key_hash=key_hash, created_at__lt=cutoff).delete()
            IdempotencyKey.objects.create(user=user, key_hash=key_hash, request_fingerprint=fingerprint)
        return None
    except IntegrityError:
        stored = IdempotencyKey.objects.get(user=user, key_hash=key_hash)
    except OperationalError as exc:
        if getattr(exc.__cause__, "pgcode", None) == LOCK_NOT_AVAILABLE:
            raise IdempotencyConflict() from exc
        raise
    finally:
        _set_lock_timeout(None)
    if stored.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return StoredResponse(status=stored.response_status, body=stored.response_body, headers=stored.response_headers)


def storable_body(body, *, status: int):
    """The body as plain JSON that PostgreSQL can keep: a NUL character (which
    an error message may echo from the request) becomes U+FFFD. In an error
    answer (4xx), which may echo any field or the path, card numbers are masked,
    in keys and values. A success is built from stored rows, whose free text is
    already guarded; its other numbers (a phone, a merchant id) replay as they are."""

    def clean(value):
        if isinstance(value, str):
            return value.replace("\x00", "\ufffd")
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    def masked(value):
        if isinstance(value, dict):
            return {scrub_free_text(k): masked(v) for k, v in value.items()}
        if isinstance(value, list):
            return [masked(item) for item in value]
        return mask_in_json(value)

    body = clean(json.loads(json.dumps(body, cls=JSONEncoder)))
    return masked(body) if status >= 400 else body


def idempotency_finish(*, user, key: str, status: int, body, headers: dict[str, str]) -> None:
    """Store the first response; ``body`` must come from ``storable_body``."""
    IdempotencyKey.objects.filter(user=user, key_hash=key_digest(key)).update(
        response_status=status, response_body=body, response_headers=headers,
    )


def idempotency_purge(*, older_than: timedelta | None = None) -> int:
    """Forget keys past their time to live (beat, hourly)."""
    cutoff = timezone.now() - (older_than or settings.DISPUTE_IDEMPOTENCY_TTL)
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def is_storable(status: int) -> bool:
    return 200 <= status < 500 and status not in UNSTORED_STATUSES


def _key_from(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable():
        raise exceptions.ValidationError(
            {HEADER: [_("An Idempotency-Key is 1 to %(n)s printable characters, e.g. a UUID.") % {"n": KEY_MAX_LENGTH}]}
        )
    return key


def idempotent(view_method):
    """Decorate an APIView's ``post``: honour the Idempotency-Key header."""

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = _key_from(request)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        fingerprint = request_fingerprint(method=request.method, path=request.path, data=request.data)
        with transaction.atomic():
            stored = idempotency_begin(user=request.user, key=key, fingerprint=fingerprint)
            if stored is not None:
                headers = {name: value for name, value in stored.headers.items() if name != "Content-Type"}
                headers[REPLAYED_HEADER] = "true"
                return Response(stored.body, status=stored.status, headers=headers,
                                content_type=stored.headers.get("Content-Type"))
            try:
                response = view_method(self, request, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - turned into the API's error response, as DRF would
                response = self.handle_exception(exc)
            if is_storable(response.status_code):
                headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
                if response.content_type:
                    headers["Content-Type"] = response.content_type
                # The first answer and its replays are the same bytes.
                response.data = storable_body(response.data, status=response.status_code)
                idempotency_finish(user=request.user, key=key, status=response.status_code,
                                   body=response.data, headers=headers)
            else:
                transaction.set_rollback(True)
        return response

    return wrapper
