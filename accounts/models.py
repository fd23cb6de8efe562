"""The audit trail of staff access: who changed whose roles, flags and permissions.

Append-only: the database refuses UPDATE and DELETE on this table (trigger in
migration 0002), like the case events. Rows are written only by
``accounts.services.user_access_set``.
"""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EntryPoint(models.TextChoices):
    """Where a change came from."""

    ADMIN = "admin", _("admin site")
    COMMAND = "command", _("management command")


class AccessChange(models.Model):
    """One change of one user's access, with the values before and after.

    ``before`` and ``after`` hold only what changed, among ``roles`` (group
    names), ``permissions`` (``app_label.codename`` granted to the user
    directly), ``is_superuser``, ``is_staff`` and ``is_active``.
    """

    created_at = models.DateTimeField(_("at"), default=timezone.now, editable=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("changed by"))
    actor_label = models.CharField(_("changed by"), max_length=150,
                                   help_text=_("A username, or the command that made the change."))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("user"))
    user_label = models.CharField(_("user"), max_length=150)
    entry_point = models.CharField(_("entry point"), max_length=16, choices=EntryPoint.choices)
    before = models.JSONField(_("before"), default=dict)
    after = models.JSONField(_("after"), default=dict)

    class Meta:
        verbose_name = _("access change")
        verbose_name_plural = _("access changes")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["user", "created_at", "id"], name="accesschange_user_time_idx")]

    def __str__(self) -> str:
        return f"{self.user_label} {self.created_at:%Y-%m-%d %H:%M}"
