"""Idempotency keys are kept as their SHA-256, never as sent (a client may send
a card number as a key). Keys already stored are hashed in place, so a retry
in flight during the upgrade still finds its first answer."""
import hashlib

from django.db import migrations, models


def hash_stored_keys(apps, schema_editor):
    IdempotencyKey = apps.get_model("disputes", "IdempotencyKey")
    for row in IdempotencyKey.objects.only("pk", "key_hash").iterator():
        row.key_hash = hashlib.sha256(row.key_hash.encode()).hexdigest()
        row.save(update_fields=["key_hash"])


class Migration(migrations.Migration):

    dependencies = [
        ("disputes", "0008_case_transaction_at_plausible"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="idempotencykey", name="idempotency_key_unique_per_user"),
        migrations.RenameField(model_name="idempotencykey", old_name="key", new_name="key_hash"),
        # Back to plain keys is not possible: the keys are gone, their answers are simply not replayed.
        migrations.RunPython(hash_stored_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="idempotencykey",
            name="key_hash",
            field=models.CharField(max_length=64, verbose_name="key (SHA-256)"),
        ),
        migrations.AddConstraint(
            model_name="idempotencykey",
            constraint=models.UniqueConstraint(fields=("user", "key_hash"), name="idempotency_key_unique_per_user"),
        ),
    ]
