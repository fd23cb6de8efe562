"""The REST API's idempotency keys (docs/api.md)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --- the REST API: idempotency keys and webhooks (docs/api.md) ------------------


class IdempotencyKey(models.Model):
    """The first response to a POST sent with an ``Idempotency-Key`` header,
    replayed to every retry with the same key by the same user. Written in the
    transaction of the request itself, so a request that fails leaves no key.
    The key itself is not kept (a client may send a card number as one): only
    its SHA-256."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user"))
    key_hash = models.CharField(_("key (SHA-256)"), max_length=64)
    request_fingerprint = models.CharField(_("request fingerprint (SHA-256)"), max_length=64)
    # Set before the request's transaction commits; nobody else ever sees it empty.
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)
    response_headers = models.JSONField(_("response headers"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key_hash"], name="idempotency_key_unique_per_user")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created_idx")]

    def __str__(self) -> str:
        return self.key_hash
