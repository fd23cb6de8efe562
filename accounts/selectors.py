"""Reads of staff access."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

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


# --- a user and its permissions in one statement (PostgreSQL) ----------------------


@cache
def user_statement(source: str, user_id: str, where: str) -> str:
    """``SELECT`` of the permission names of the user whose id is ``user_id``
    (an SQL expression over ``source``), then every column of that user ``u``,
    from ``source`` joined to the user table, ``WHERE where``. Written once per
    process from the models' own table and column names: the ORM's work of
    building two queries costs more than the round trip it would save. The
    names are the set ``accounts.backends.permission_names`` defines (held on
    one's own or through a group; tests/api/test_authentication.py compares them)."""
    user_model = get_user_model()
    user_columns = ", ".join(f'u."{field.column}"' for field in user_model._meta.concrete_fields)
    own = user_model.user_permissions.through._meta.db_table
    member_of = user_model.groups.through._meta.db_table
    of_group = Group.permissions.through._meta.db_table
    names = (f"ARRAY(SELECT ct.app_label || '.' || p.codename FROM {Permission._meta.db_table} p "
             f"JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id "
             f"WHERE p.id IN (SELECT permission_id FROM {own} WHERE user_id = {user_id}) "
             f"OR p.id IN (SELECT gp.permission_id FROM {of_group} gp JOIN {member_of} ug ON ug.group_id = gp.group_id "
             f"WHERE ug.user_id = {user_id}))")
    return f"SELECT {names}, {user_columns} FROM {source} JOIN {user_model._meta.db_table} u ON u.id = {user_id} WHERE {where}"


def user_from_row(names: list[str], user_values) -> object:
    """The user of a ``user_statement`` row, its permissions kept where
    ``ModelBackendOneQuery`` keeps them for the instance's life (``_perm_cache``);
    a superuser's are left to the backend (all of them)."""
    user_model = get_user_model()
    user = user_model.from_db(connection.alias, [f.attname for f in user_model._meta.concrete_fields], user_values)
    if not user.is_superuser:
        user._perm_cache = set(names)
    return user


def user_with_permissions(username: str):
    """The user named ``username`` with its permissions (``DoesNotExist`` if
    none): one statement on PostgreSQL, the ORM's two elsewhere (the SQLite demo)."""
    user_model = get_user_model()
    if connection.vendor != "postgresql":
        user = user_model.objects.get(username=username)
        user.get_all_permissions()
        return user
    user_table = user_model._meta.db_table
    statement = user_statement(f"{user_table} named", "named.id",
                               f'named."{user_model._meta.get_field(user_model.USERNAME_FIELD).column}" = %s')
    with connection.cursor() as cursor:
        cursor.execute(statement, [username])
        row = cursor.fetchone()
    if row is None:
        raise user_model.DoesNotExist(f"no user {username!r}")
    names, *user_values = row
    return user_from_row(names, user_values)
