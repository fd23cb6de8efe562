"""The records tables' id columns, and the indexes on them, compare byte by byte
on PostgreSQL (migration 0007): their index builds after an import are several
times faster than with a language's collation. Django does not know the
collation, so an ``AlterField`` of one of these columns would quietly put the
default back; this test is what notices."""
from __future__ import annotations

import pytest
from django.db import connection

from tests.transactions.files import csv_text, ledger_row, settlement_row
from tests.transactions.test_import_transactions import import_bytes

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'")

# The oracle: the columns the matching and the per-case look-ups compare, written out here.
BYTE_BY_BYTE = {
    "transactions_ledgerentry": {"entry_id", "card_last4", "rrn", "stan", "terminal_id", "merchant_id"},
    "transactions_settlementrecord": {"record_id", "status", "rrn", "stan", "terminal_id", "merchant_id"},
}


def _collations(table: str) -> dict[str, str | None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name, collation_name FROM information_schema.columns"
                       " WHERE table_name = %s AND data_type = 'character varying'", [table])
        return dict(cursor.fetchall())


def _index_collations(table: str) -> set[tuple[str, str]]:
    """(index, collation) for every text column of every index of the table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, coalesce(c.collname, '')"
            " FROM pg_index i CROSS JOIN LATERAL unnest(i.indcollation::oid[]) AS k(coll_oid)"
            " LEFT JOIN pg_collation c ON c.oid = k.coll_oid"
            " WHERE i.indrelid = %s::regclass AND k.coll_oid <> 0", [table])
        return set(cursor.fetchall())


@pytest.mark.parametrize("table", sorted(BYTE_BY_BYTE))
def test_the_id_columns_and_their_indexes_compare_byte_by_byte(db, table):
    collations = _collations(table)

    assert {name for name, collation in collations.items() if collation == "C"} == BYTE_BY_BYTE[table]
    indexed = _index_collations(table)
    assert indexed and {collation for _index, collation in indexed} == {"C"}


def test_the_indexes_built_again_after_a_first_load_still_compare_byte_by_byte(db):
    ledger = [ledger_row(f"L{n}", rrn=f"{n:012d}") for n in range(1, 6)]
    settlement = [settlement_row(f"S{n}", rrn=f"{n:012d}") for n in range(1, 6)]

    assert import_bytes("ledger", csv_text("ledger", ledger).encode()).rows_imported == 5
    assert import_bytes("settlement", csv_text("settlement", settlement).encode()).rows_imported == 5

    for table in BYTE_BY_BYTE:
        indexed = _index_collations(table)
        # The unique id, and the indexes on text columns: four on the ledger, three on the settlements.
        assert len({index for index, _collation in indexed}) == {"transactions_ledgerentry": 5}.get(table, 4)
        assert {collation for _index, collation in indexed} == {"C"}
