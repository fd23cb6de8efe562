"""The API's token authentication: DRF's ``TokenAuthentication``, with the
token's user and that user's permissions read in one statement on PostgreSQL
(an ``ARRAY(…)`` subquery of ``accounts.backends.permission_names``), so that a
call-center request does not pay a second round trip for the permission check
every API view makes. The permissions are put where ``ModelBackendOneQuery``
keeps them for the rest of the request (``_perm_cache``); a superuser's are
left to the backend (all of them). Elsewhere (the embedded SQLite demo) it is
DRF's class unchanged. The refusals are DRF's own, in its words."""
from __future__ import annotations

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from accounts.backends import permission_names


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        if connection.vendor != "postgresql":
            return super().authenticate_credentials(key)
        tokens = Token.objects.select_related("user").annotate(
            permission_names=ArraySubquery(permission_names(OuterRef("user_id"))))
        try:
            token = tokens.get(key=key)
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if not token.user.is_superuser:
            token.user._perm_cache = set(token.permission_names)
        return (token.user, token)
