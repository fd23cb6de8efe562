"""Authentication backend: Django's ModelBackend, with a user's permissions read
in one statement (their own and their groups') instead of two. Every API
request checks a permission (``view_case``, then e.g. ``file_case``); the
set is kept on the user for the rest of the request, as ModelBackend does.

``permission_names`` defines "a user's permissions"; the API's token
authentication (``accounts.authentication``) reads the same set in the token's
own statement (a test compares the two)."""
from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat


# A permission's name as Django spells it: "app_label.codename".
_FULL_NAME = Concat("content_type__app_label", Value("."), "codename")


def permission_names(user) -> QuerySet:
    """The names (``app_label.codename``) of the permissions ``user`` holds itself
    or through a group, as one-column rows; ``user`` may be an ``OuterRef``."""
    return (Permission.objects.filter(Q(user=user) | Q(group__user=user))
            .annotate(full_name=_FULL_NAME).values("full_name").order_by().distinct())


class ModelBackendOneQuery(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                names = Permission.objects.annotate(full_name=_FULL_NAME).values_list("full_name", flat=True)
            else:
                names = permission_names(user_obj).values_list("full_name", flat=True)
            user_obj._perm_cache = set(names)
        return user_obj._perm_cache
