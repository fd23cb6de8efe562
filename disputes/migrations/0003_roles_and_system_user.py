"""Create the role groups with their permissions, and the system user that
automatic steps (SLA, reconciliation) act as."""
from django.contrib.auth.management import create_permissions
from django.db import migrations

from disputes.workflow import ROLE_PERMISSIONS, SYSTEM_PERMISSIONS, SYSTEM_USERNAME, Role

# The admin role keeps the reference data and the users; it does not work cases.
ADMIN_MODEL_PERMISSIONS = {
    "customers": ["customer", "card"],
    "merchants": ["merchant", "terminal", "paymentprocessor"],
    "transactions": ["ledgerentry", "settlementrecord"],
    "auth": ["user"],
}


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("auth", "User")

    def case_perms(codenames):
        return list(Permission.objects.filter(content_type__app_label="disputes", codename__in=codenames))

    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*case_perms(codenames))
    admin_group = Group.objects.get(name=Role.ADMIN)
    for app_label, models in ADMIN_MODEL_PERMISSIONS.items():
        codenames = [f"{action}_{model}" for model in models for action in ("add", "change", "view")]
        admin_group.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )
    admin_group.permissions.add(*Permission.objects.filter(content_type__app_label="auth", codename="view_group"))

    system, _ = User.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"first_name": "System", "is_active": True, "password": "!"},  # "!": no password can log in
    )
    system.user_permissions.add(*case_perms(SYSTEM_PERMISSIONS))


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("disputes", "0002_case_event_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("customers", "0001_initial"),
        ("merchants", "0001_initial"),
        ("transactions", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
