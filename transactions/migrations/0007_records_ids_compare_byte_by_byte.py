"""The indexed id columns of the records tables compare byte by byte (PostgreSQL's
``C`` collation), like the matching's tie-breaks already do.

They hold codes (ids, RRNs, STANs, terminal and merchant ids, card last 4, a
status), never words: the language's collation orders them no better, and
it sorts them several times slower. PostgreSQL uses abbreviated keys and
``memcmp`` only for ``C``. Building the eight indexes after a million-row
import takes 2.5 to 3 s less per table (docs/performance.md, "Ids compared byte by byte").

Only on PostgreSQL, and not in the models' ``db_collation``: SQLite has no
collation named ``C`` (its default, BINARY, already compares bytes). Django
does not know about it, so an ``AlterField`` of one of these columns would put
back the default collation: ``tests/transactions/test_records_collation.py``
fails if it does. On an existing database, the migration rebuilds the indexes
of these columns.
"""
from django.db import migrations

COLUMNS = {
    "ledgerentry": ("entry_id", "card_last4", "rrn", "stan", "terminal_id", "merchant_id"),
    "settlementrecord": ("record_id", "status", "rrn", "stan", "terminal_id", "merchant_id"),
}


def _collate(collation: str):
    def alter(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for model_name, columns in COLUMNS.items():
            model = apps.get_model("transactions", model_name)
            changes = ", ".join(
                f'ALTER COLUMN {name} TYPE varchar({model._meta.get_field(name).max_length}) COLLATE {collation}'
                for name in columns)
            schema_editor.execute(f"ALTER TABLE {model._meta.db_table} {changes}")
    return alter


class Migration(migrations.Migration):

    dependencies = [
        ("transactions", "0006_records_refuse_card_numbers"),
    ]

    operations = [
        migrations.RunPython(_collate('"C"'), _collate("pg_catalog.\"default\"")),
    ]
