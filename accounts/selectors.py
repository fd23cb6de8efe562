"""Reads of staff access."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

ACCESS_FIELDS = ("roles", "permissions", "is_superuser", "is_staff", "is_active")


@dataclass(frozen=True)
class UserAccess:
    """What a user may do, as stored: everything a role change changes."""

    roles: frozenset[str]  # group names (disputes.workflow.Role)
    permissions: frozenset[str]  # "app_label.codename", granted to the user directly
    is_superuser: bool
    is_staff: bool
    is_active: bool

    def as_dict(self, fields=ACCESS_FIELDS) -> dict:
        """JSON-ready, sets as sorted lists."""
        values = {}
        for name in fields:
            value = getattr(self, name)
            values[name] = sorted(value) if isinstance(value, frozenset) else value
        return values

    def changed_fields(self, other: UserAccess) -> list[str]:
        return [name for name in ACCESS_FIELDS if getattr(self, name) != getattr(other, name)]


def user_access(user) -> UserAccess:
    """The user's access as the database has it now (not the instance's attributes)."""
    flags = get_user_model().objects.filter(pk=user.pk).values("is_superuser", "is_staff", "is_active").get()
    roles = Group.objects.filter(user=user.pk).values_list("name", flat=True)
    permissions = Permission.objects.filter(user=user.pk).values_list("content_type__app_label", "codename")
    return UserAccess(
        roles=frozenset(roles),
        permissions=frozenset(f"{app_label}.{codename}" for app_label, codename in permissions),
        **flags,
    )
