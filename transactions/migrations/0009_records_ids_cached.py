"""The records tables' ids come from their sequences a thousand at a time (PostgreSQL).

Each row an import writes takes an id from the table's identity sequence.
With PostgreSQL's default cache of 1, every row locks the sequence's page and
every 32nd writes it to the WAL: in ``psql``, a ``COPY`` of the bench's million
ledger rows into a copy of the table with its identity and primary key took
3.13-3.31 s with a cache of 1,000 against 3.40-3.60 s with 1, three alternating
pairs (docs/performance.md, "A nested loop, and ids a thousand at a time").
A session keeps what it took and did not use: ids leave gaps, which nothing
minds (no one sees them, and nothing orders by them). Only the two records
tables, the only ones written a million rows at a time.
"""
from django.db import migrations

TABLES = ("transactions_ledgerentry", "transactions_settlementrecord")


def _cache(size: int):
    def alter(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET CACHE {size}")
    return alter


class Migration(migrations.Migration):

    dependencies = [
        ("transactions", "0008_settlement_no_status_time_index"),
    ]

    operations = [
        migrations.RunPython(_cache(1000), _cache(1)),
    ]
