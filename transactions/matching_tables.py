"""The temporary tables of the matching (``transactions.matching``) and the
settings its statements run with. Each lives in the current connection, inside
the matching's transaction."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

EDGES = "tx_match_edge"  # the candidate pairs of a pass
PAIRS = "tx_match_pair"  # the pairs: the result
DEBITS_LEFT = "tx_match_debit_left"  # the debits still unpaired
RECORDS_LEFT = "tx_match_record_left"  # the records still unpaired
LARGE = "tx_match_large"  # the groups too large for the rounds
LONE = "tx_match_lone"  # pass 1's lone pairs, over whole tables, until they join the others
TABLES = (EDGES, PAIRS, DEBITS_LEFT, RECORDS_LEFT, LARGE, LONE)


def postgresql() -> bool:
    return connection.vendor == "postgresql"


def drop() -> None:
    with connection.cursor() as cursor:
        if postgresql():  # one statement (a case's check drops them twice)
            cursor.execute(f"DROP TABLE IF EXISTS {', '.join(TABLES)}")
            return
        for table in TABLES:  # SQLite drops one table a statement
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def analyze(cursor, table: str) -> None:
    # Temporary tables get no autovacuum: without statistics the planner guesses badly.
    if postgresql():
        cursor.execute(f"ANALYZE {table}")


@contextmanager
def serial(cursor, *, needed: bool) -> Iterator[None]:
    """No parallel workers for the statements inside (PostgreSQL; this transaction only;
    unless not ``needed``: a case's few candidates are never read in parallel).

    PostgreSQL keeps no statistics of a UNION ALL's columns, so it takes pass 1's
    count by rrn for 200 groups where there are about as many as rows: it splits
    the hashing over its process and two workers, then sorts their 1.6 million
    partial groups to merge them. One process hashing the rows once takes 3.4 s
    for a million rows a side where the workers take 5.5-6.0 s (docs/performance.md)."""
    if not (needed and postgresql()):
        yield
        return
    cursor.execute("SELECT current_setting('max_parallel_workers_per_gather')")
    before = cursor.fetchone()[0]
    cursor.execute("SELECT set_config('max_parallel_workers_per_gather', '0', true)")
    yield  # a failure rolls the setting back with the transaction (or savepoint) it fails
    cursor.execute("SELECT set_config('max_parallel_workers_per_gather', %s, true)", [before])
