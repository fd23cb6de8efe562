"""Authentication backend: Django's ModelBackend, with a user's permissions read
in one statement (their own UNION their groups') instead of two. Every API
request checks a permission (``view_case``, then e.g. ``file_case``); the
set is kept on the user for the rest of the request, as ModelBackend does."""
from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

PERMISSION_NAME = ("content_type__app_label", "codename")


class ModelBackendOneQuery(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                names = Permission.objects.values_list(*PERMISSION_NAME)
            else:
                # Unordered: a set is wanted, and SQLite refuses ORDER BY inside a UNION.
                own = Permission.objects.filter(user=user_obj).values_list(*PERMISSION_NAME).order_by()
                by_group = Permission.objects.filter(group__user=user_obj).values_list(*PERMISSION_NAME).order_by()
                names = own.union(by_group)
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in names}
        return user_obj._perm_cache
