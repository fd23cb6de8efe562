"""API clients: the call center's software, as a user of the REST API.

An API client is a user whose only role is ``call_center``, that is neither
staff nor superuser, has no password (it cannot log in to the web pages) and
holds one API token. ``manage.py api_client`` creates one, issues it a new
token (rotate: the old one stops working at once), revokes it (no token, not
active) and lists them. The role and the active flag change only through
``accounts.services.user_access_set``, so the access trail (``AccessChange``)
records each change with this command as its source. The token is returned to
the caller once and never shown again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts.models import EntryPoint
from accounts.selectors import user_access
from accounts.services import user_access_set
from disputes.workflow.names import Role

SOURCE = "manage.py api_client"


@dataclass(frozen=True)
class IssuedToken:
    username: str
    key: str  # shown once


@dataclass(frozen=True)
class ApiClient:
    username: str
    active: bool
    token_created_at: datetime | None  # None: no token (revoked, or never issued)


def _is_api_client(user) -> bool:
    access = user_access(user)
    return access.roles == {Role.CALL_CENTER.value} and not access.is_superuser and not access.is_staff


def _api_client(name: str):
    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise ValidationError(_("There is no API client named “%(name)s”.") % {"name": name})
    if not _is_api_client(user):
        raise ValidationError(_("“%(name)s” is not an API client: its only role must be call center, and it must "
                                "be neither staff nor superuser.") % {"name": name})
    return user


def _new_token(user) -> IssuedToken:
    Token.objects.filter(user=user).delete()
    return IssuedToken(username=user.get_username(), key=Token.objects.create(user=user).key)


@transaction.atomic
def api_client_create(*, name: str, source: str = SOURCE) -> IssuedToken:
    """Create the API client ``name`` with its first token, or give a revoked
    one back its access with a new token. Raises ValidationError for a name
    that is taken by another kind of user, an active client (rotate it
    instead) or no valid username."""
    User = get_user_model()
    user = User.objects.select_for_update().filter(username=name).first()
    if user is None:
        user = User(username=name)
        try:
            user.full_clean(exclude=["password"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict.get("username", exc.messages)) from None
        user.set_unusable_password()
        user.save()
    elif not _is_api_client(user):
        raise ValidationError(_("The name “%(name)s” is taken by a user that is not an API client.") % {"name": name})
    elif user.is_active:
        raise ValidationError(_("The API client “%(name)s” exists already: rotate its token instead.") % {"name": name})
    user_access_set(actor=None, user=user, entry_point=EntryPoint.COMMAND, source=source,
                    roles=[Role.CALL_CENTER], is_staff=False, is_superuser=False, is_active=True)
    return _new_token(user)


@transaction.atomic
def api_client_rotate(*, name: str) -> IssuedToken:
    """A new token for the active API client ``name``; the old one stops working now."""
    user = _api_client(name)
    if not user.is_active:
        raise ValidationError(_("The API client “%(name)s” was revoked: create it again to give it a token.")
                              % {"name": name})
    return _new_token(user)


@transaction.atomic
def api_client_revoke(*, name: str, source: str = SOURCE) -> None:
    """Take the API client's token away and deactivate it; its role stays, so it is still listed."""
    user = _api_client(name)
    Token.objects.filter(user=user).delete()
    user_access_set(actor=None, user=user, entry_point=EntryPoint.COMMAND, source=source, is_active=False)


def api_client_list() -> list[ApiClient]:
    """Every API client, by name (two queries)."""
    users = (get_user_model().objects.filter(groups__name=Role.CALL_CENTER, is_staff=False, is_superuser=False)
             .prefetch_related("groups").order_by("username"))
    tokens = dict(Token.objects.filter(user__in=users).values_list("user_id", "created"))
    return [
        ApiClient(username=user.get_username(), active=user.is_active, token_created_at=tokens.get(user.pk))
        for user in users
        if {group.name for group in user.groups.all()} == {Role.CALL_CENTER.value}
    ]
