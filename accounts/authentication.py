"""The API's token authentication: DRF's ``TokenAuthentication``, with the
token's user and that user's permissions read in one statement on PostgreSQL,
so that a call-center request does not pay a second round trip for the
permission check every API view makes, nor the ORM's work of building two
queries on every request (``accounts.selectors.user_statement``).
Elsewhere (the embedded SQLite demo) it is DRF's class unchanged. The refusals
are DRF's own, in its words."""
from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from accounts.selectors import user_from_row, user_statement


def _token_statement() -> str:
    return user_statement(f"{Token._meta.db_table} t", "t.user_id", "t.key = %s")


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        if len(key) > Token._meta.get_field("key").max_length or "\x00" in key:
            raise exceptions.AuthenticationFailed(_("Invalid token."))  # no such key can be stored
        if connection.vendor != "postgresql":
            return super().authenticate_credentials(key)
        with connection.cursor() as cursor:
            cursor.execute(_token_statement(), [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        names, *user_values = row
        user = user_from_row(names, user_values)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = Token(key=key, user_id=user.pk)
        token.user = user
        return (user, token)
