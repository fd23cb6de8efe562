"""The API's token authentication: DRF's ``TokenAuthentication``, with the
token's user and that user's permissions read in one statement on PostgreSQL,
so that a call-center request does not pay a second round trip for the
permission check every API view makes, nor the ORM's work of building two
queries on every request: the statement is written once per process from the
models' own table and column names. The permissions (held by the user or
through a group, as ``accounts.backends.permission_names`` defines them) are
put where ``ModelBackendOneQuery`` keeps them for the rest of the request
(``_perm_cache``); a superuser's are left to the backend (all of them).
Elsewhere (the embedded SQLite demo) it is DRF's class unchanged. The refusals
are DRF's own, in its words."""
from __future__ import annotations

from functools import lru_cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


@lru_cache(maxsize=1)
def _token_statement() -> str:
    user_model = get_user_model()
    user_columns = ", ".join(f'u."{field.column}"' for field in user_model._meta.concrete_fields)
    own = user_model.user_permissions.through._meta.db_table
    member_of = user_model.groups.through._meta.db_table
    of_group = Group.permissions.through._meta.db_table
    # The same set as accounts.backends.permission_names (tests/api/test_authentication.py compares them).
    names = (f"ARRAY(SELECT ct.app_label || '.' || p.codename FROM {Permission._meta.db_table} p "
             f"JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id "
             f"WHERE p.id IN (SELECT permission_id FROM {own} WHERE user_id = t.user_id) "
             f"OR p.id IN (SELECT gp.permission_id FROM {of_group} gp JOIN {member_of} ug ON ug.group_id = gp.group_id "
             f"WHERE ug.user_id = t.user_id))")
    return (f"SELECT t.created, {names}, {user_columns} FROM {Token._meta.db_table} t "
            f"JOIN {user_model._meta.db_table} u ON u.id = t.user_id WHERE t.key = %s")


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        if len(key) > Token._meta.get_field("key").max_length or "\x00" in key:
            raise exceptions.AuthenticationFailed(_("Invalid token."))  # no such key can be stored
        if connection.vendor != "postgresql":
            return super().authenticate_credentials(key)
        user_model = get_user_model()
        with connection.cursor() as cursor:
            cursor.execute(_token_statement(), [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        created, names, *user_values = row
        user = user_model.from_db(connection.alias, [f.attname for f in user_model._meta.concrete_fields], user_values)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if not user.is_superuser:
            user._perm_cache = set(names)
        token = Token(key=key, user_id=user.pk, created=created)
        token.user = user
        return (user, token)
