"""The records tables take their ids a thousand at a time (migration 0009): a
million-row import then locks the sequence a thousand times, not a million
(docs/performance.md, "A nested loop, and ids a thousand at a time"). Django
does not know a sequence's cache, so a migration that made the id again would
quietly put back the default of 1; this test is what notices."""
from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'")


@pytest.mark.parametrize("table", ["transactions_ledgerentry", "transactions_settlementrecord"])
def test_the_records_ids_come_a_thousand_at_a_time(db, table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT s.cache_size FROM pg_sequences s"
                       " WHERE format('%%I.%%I', s.schemaname, s.sequencename)::regclass"
                       " = pg_get_serial_sequence(%s, 'id')::regclass", [table])
        assert cursor.fetchall() == [(1000,)]

