"""Create the role groups with their permissions, and the system user that
automatic steps (SLA, reconciliation) act as (see disputes/roles.py)."""
from django.db import migrations


def forwards(apps, schema_editor):
    from disputes.workflow.roles import sync_roles

    sync_roles(apps, using=schema_editor.connection.alias)


def backwards(apps, schema_editor):
    from disputes.workflow.names import ROLE_PERMISSIONS

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
