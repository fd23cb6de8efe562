"""Staff access: who may grant which role to whom, applied and audited in one place.

The rules (every entry point — the admin, management commands — goes through
``user_access_set``; the admin also asks ``user_account_check`` before it
lets anyone edit an account or set its password):

- Nobody changes their own access: their roles (groups), permissions, staff,
  superuser or active flag — not even a superuser. Every grant then takes two
  people, a superuser cannot lock themselves out by mistake, and the four-eyes
  rule on refunds cannot be undone by one person.
- A superuser may change anyone else's access.
- A user with the "change user" permission (the admin role) may grant and
  remove only the agent and call-center roles, and the staff and active flags,
  and only on accounts whose whole access they could have granted: no
  superuser, no role beyond agent and call center, no permission of their own.
  Supervisors', admins' and superusers' accounts (their roles, profile,
  password) are a superuser's to change.
- Only a superuser sets the superuser flag or gives permissions directly.
- The command line (``actor=None``) is trusted: whoever runs ``manage.py``
  already owns the database.

Every accepted change writes one ``AccessChange`` with the values before and
after; a refused one raises ``AccessRefused`` and changes nothing.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy as _

from disputes.workflow.names import Role

from .models import AccessChange, EntryPoint
from .selectors import UserAccess, user_access

# The roles a non-superuser with "change user" may grant and remove.
GRANTABLE_BY_USER_ADMINS = frozenset({Role.AGENT.value, Role.CALL_CENTER.value})


class AccessRefused(Exception):
    """The actor may not make this change to this account; nothing was changed."""

    default_message = _("You are not allowed to change this account.")

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(str(self.message))


def _role_names(names: Iterable[str]) -> str:
    labels = {role.value: role.label for role in Role}
    return ", ".join(str(labels.get(name, name)) for name in sorted(names))


def user_account_check(*, actor, user, access: UserAccess | None = None) -> None:
    """Raise ``AccessRefused`` unless ``actor`` may change ``user``'s account at all
    (profile, password, roles); ``access`` is the user's current access if known."""
    if actor is None or actor.is_superuser:
        return
    if not actor.has_perm("auth.change_user"):
        raise AccessRefused(_("You are not allowed to change user accounts."))
    if actor.pk == user.pk:
        raise AccessRefused(_("You cannot change your own account here: a superuser changes it. "
                              "Change your password with “Change password” at the top of the page."))
    access = access or user_access(user)
    if access.is_superuser or access.permissions or not access.roles <= GRANTABLE_BY_USER_ADMINS:
        raise AccessRefused(_("Only a superuser may change the account of a supervisor, an admin, a superuser "
                              "or a user with permissions of their own."))


def user_access_check(*, actor, user, before: UserAccess, after: UserAccess) -> None:
    """Raise ``AccessRefused`` unless ``actor`` may change ``user``'s access from ``before`` to ``after``."""
    if before == after or actor is None:
        return
    if actor.pk == user.pk:
        raise AccessRefused(_("Nobody may change their own roles, permissions, or staff, superuser or active "
                              "status: ask a superuser."))
    if actor.is_superuser:
        return
    user_account_check(actor=actor, user=user, access=before)
    if before.is_superuser != after.is_superuser:
        raise AccessRefused(_("Only a superuser may make a user a superuser."))
    if before.permissions != after.permissions:
        raise AccessRefused(_("Only a superuser may give a user permissions directly."))
    beyond = (before.roles ^ after.roles) - GRANTABLE_BY_USER_ADMINS
    if beyond:
        raise AccessRefused(gettext("Only a superuser may grant or remove the role: %(roles)s.")
                            % {"roles": _role_names(beyond)})


def _groups(names: frozenset[str]) -> list[Group]:
    groups = list(Group.objects.filter(name__in=names))
    unknown = names - {group.name for group in groups}
    if unknown:
        raise ValidationError(gettext("There is no role named %(roles)s.") % {"roles": ", ".join(sorted(unknown))})
    return groups


def _permissions(names: frozenset[str]) -> list[Permission]:
    wanted = Q(pk__in=[])
    for name in names:
        app_label, _dot, codename = name.partition(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    permissions = list(Permission.objects.filter(wanted).select_related("content_type"))
    unknown = names - {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
    if unknown:
        raise ValidationError(gettext("There is no permission named %(permissions)s.")
                              % {"permissions": ", ".join(sorted(unknown))})
    return permissions


def _access_after(
    before: UserAccess,
    *,
    roles: Iterable[str] | None = None,
    permissions: Iterable[str] | None = None,
    is_superuser: bool | None = None,
    is_staff: bool | None = None,
    is_active: bool | None = None,
) -> UserAccess:
    wanted = {
        "roles": None if roles is None else frozenset(str(role) for role in roles),
        "permissions": None if permissions is None else frozenset(permissions),
        "is_superuser": is_superuser,
        "is_staff": is_staff,
        "is_active": is_active,
    }
    return replace(before, **{name: value for name, value in wanted.items() if value is not None})


def user_access_change_check(*, actor, user, **wanted) -> None:
    """``user_access_check`` of the change ``user_access_set(**wanted)`` would make now (for forms)."""
    before = user_access(user)
    user_access_check(actor=actor, user=user, before=before, after=_access_after(before, **wanted))


@transaction.atomic
def user_access_set(
    *,
    actor,
    user,
    entry_point: str,
    source: str = "",
    roles: Iterable[str] | None = None,
    permissions: Iterable[str] | None = None,
    is_superuser: bool | None = None,
    is_staff: bool | None = None,
    is_active: bool | None = None,
) -> AccessChange | None:
    """Set what is given (``None``: leave as it is), check the rules, write the audit record.

    ``roles`` are group names, ``permissions`` ``app_label.codename`` strings;
    both replace the user's whole set. ``actor`` is the user making the change,
    or ``None`` for a management command (``source`` then names it). Returns the
    ``AccessChange`` written, or ``None`` when nothing changed.
    """
    if actor is None and entry_point != EntryPoint.COMMAND:
        raise ValueError("Only a management command may change access without an acting user.")
    User = get_user_model()
    User.objects.select_for_update().filter(pk=user.pk).get()  # one change at a time per user
    before = user_access(user)
    after = _access_after(before, roles=roles, permissions=permissions, is_superuser=is_superuser,
                          is_staff=is_staff, is_active=is_active)
    user_access_check(actor=actor, user=user, before=before, after=after)
    changed = before.changed_fields(after)
    if not changed:
        return None

    flags = {name: getattr(after, name) for name in ("is_superuser", "is_staff", "is_active") if name in changed}
    if flags:
        User.objects.filter(pk=user.pk).update(**flags)
        for name, value in flags.items():
            setattr(user, name, value)
    if "roles" in changed:
        user.groups.set(_groups(after.roles))
    if "permissions" in changed:
        user.user_permissions.set(_permissions(after.permissions))
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)

    return AccessChange.objects.create(
        actor=actor,
        actor_label=actor.get_username() if actor is not None else (source or "manage.py"),
        user=user,
        user_label=user.get_username(),
        entry_point=entry_point,
        before=before.as_dict(changed),
        after=after.as_dict(changed),
    )
