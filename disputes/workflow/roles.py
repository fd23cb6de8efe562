"""The role groups, their permissions and the system user.

Created by migration 0003 and kept in step after every ``migrate`` and
``flush`` (a ``post_migrate`` handler), so a database always has them.
"""
from django.contrib.auth.management import create_permissions

from disputes.workflow.names import ROLE_PERMISSIONS, SYSTEM_PERMISSIONS, SYSTEM_USERNAME, Role

# The admin role keeps the reference data and the users; it does not work cases.
ADMIN_MODEL_PERMISSIONS = {
    "customers": ["customer", "card"],
    "merchants": ["merchant", "terminal", "paymentprocessor"],
    "transactions": ["ledgerentry", "settlementrecord"],
    "auth": ["user"],
    "disputes": ["webhookendpoint", "webhookdelivery"],
}


def sync_roles(apps, *, using: str = "default") -> None:
    """Create or complete the groups and the system user (idempotent)."""
    for app_config in apps.get_app_configs():
        # In a migration the app configs are stubs without models_module, which
        # create_permissions needs to be truthy.
        stub = getattr(app_config, "models_module", None) is None
        if stub:
            app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        if stub:
            app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("auth", "User")

    def case_perms(names):
        """The permissions named (``codename`` of the disputes app, or ``app_label.codename``)."""
        by_app: dict[str, list[str]] = {}
        for name in names:
            app_label, _dot, codename = name.rpartition(".")
            by_app.setdefault(app_label or "disputes", []).append(codename)
        return [permission for app_label, codenames in by_app.items()
                for permission in Permission.objects.using(using).filter(content_type__app_label=app_label,
                                                                         codename__in=codenames)]

    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        group.permissions.add(*case_perms(codenames))
    admin_group = Group.objects.using(using).get(name=Role.ADMIN)
    for app_label, models in ADMIN_MODEL_PERMISSIONS.items():
        codenames = [f"{action}_{model}" for model in models for action in ("add", "change", "view")]
        admin_group.permissions.add(
            *Permission.objects.using(using).filter(content_type__app_label=app_label, codename__in=codenames)
        )

    system, _ = User.objects.using(using).get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"first_name": "System", "is_active": True, "password": "!"},  # "!": no password logs in
    )
    system.user_permissions.add(*case_perms(SYSTEM_PERMISSIONS))


def sync_roles_after_migrate(sender, app_config, using="default", apps=None, **kwargs) -> None:
    from django.apps import apps as global_apps

    sync_roles(apps or global_apps, using=using)
