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
from django.db import OperationalError, connection, transaction
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


# The claim, in one statement: bound the wait for a first request still running
# with the same key (the INSERT waits on the unique index until it commits or
# rolls back), insert the key unless it is there, and put ``lock_timeout`` back
# as it was once the row is in. ``previous`` is read before ``bounded`` sets it
# (``bounded`` reads from ``previous``); the row is produced from ``bounded``, so
# the bound is in place before the INSERT can wait.
_CLAIM = """
WITH previous AS (SELECT current_setting('lock_timeout') AS value),
     bounded AS (SELECT set_config('lock_timeout', %s, true) FROM previous)
INSERT INTO {table} (user_id, key_hash, request_fingerprint, response_headers, created_at)
SELECT %s, %s, %s, '{{}}', %s FROM bounded
ON CONFLICT (user_id, key_hash) DO NOTHING
RETURNING set_config('lock_timeout', (SELECT value FROM previous), true)
"""


def _claim(*, user, key_hash: str, fingerprint: str) -> bool:
    """Insert the key's row; False when it is there already (committed by a first request)."""
    if connection.vendor != "postgresql":  # SQLite's IMMEDIATE transactions already queue writers
        _row, created = IdempotencyKey.objects.get_or_create(
            user=user, key_hash=key_hash, defaults={"request_fingerprint": fingerprint})
        return created
    wait = f"{max(int(settings.DISPUTE_IDEMPOTENCY_WAIT_SECONDS * 1000), 1)}ms"
    try:
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM.format(table=IdempotencyKey._meta.db_table),
                           [wait, user.pk, key_hash, fingerprint, timezone.now()])
            return cursor.fetchone() is not None
    except OperationalError as exc:
        if getattr(exc.__cause__, "pgcode", None) == LOCK_NOT_AVAILABLE:
            raise IdempotencyConflict() from exc
        raise


def idempotency_begin(*, user, key: str, fingerprint: str) -> StoredResponse | None:
    """Claim ``key`` for this request (None), or return the stored first response.

    Must run inside the transaction that will do the request's work. Raises
    IdempotencyKeyReused (422) when the key was used for another request, and
    IdempotencyConflict (409) when its first request is still running. A key
    past its time to live is forgotten here when it is sent again (and by the
    hourly ``idempotency_purge`` otherwise), so no request pays for the purge."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("idempotency_begin must run inside transaction.atomic()")
    key_hash = key_digest(key)
    for _attempt in range(3):
        if _claim(user=user, key_hash=key_hash, fingerprint=fingerprint):
            return None
        stored = IdempotencyKey.objects.filter(user=user, key_hash=key_hash).first()
        if stored is None:
            continue  # purged in between: claim it anew
        if stored.created_at < timezone.now() - settings.DISPUTE_IDEMPOTENCY_TTL:
            IdempotencyKey.objects.filter(pk=stored.pk).delete()
            continue
        if stored.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        return StoredResponse(status=stored.response_status, body=stored.response_body,
                              headers=stored.response_headers)
    raise IdempotencyConflict()


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
