"""Importing the bank's ledger and settlement files (docs/design.md, "Transaction
records" and "Commands").

    records_import(kind="ledger", file=open("ledger.csv", "rb"), file_name="ledger.csv")

A file is all or nothing: every row is checked (the exact header, the POS slip
field shapes, amounts as plain decimal strings with at most the currency's minor
units, ISO 4217 currencies, ISO 8601 times with an offset, the kind or status,
ids present and unique in the file, and no id already imported with other
values); one bad row and nothing is imported, and the report names each bad
line (the first ``BAD_LINES_SHOWN``, with the count of all). Importing the same
or an overlapping file again imports only what is new: an id already present
with the same values counts as "already present".

Memory stays constant whatever the size of the file. A plain file into an
empty table (the first load of a bank's history) goes straight into the records
table (``firstload``); any other file, and one the first load stops at, goes
into a temporary staging table first, then into the records table in one
statement, all in one transaction:

- on PostgreSQL the file is ``COPY``-ed as it is into the staging table and
  checked there with SQL. ``prescreen.Prescreen`` looks at each line on its
  way to ``COPY`` and passes the plain good ones, so ``_sql_check`` (which names
  what is wrong) reads only the rest; where the prescreen gives up (a quoted
  value, say), ``_sql_certainly_good`` passes the good rows in SQL instead. A file that ``COPY``
  cannot read (a wrong number of fields, text that is not UTF-8, a blank
  line...) is read again by Python, which names those lines and copies the
  others. A file bigger than its table goes in without the table's secondary
  indexes, built again after (``_secondary_indexes_dropped``);
- on SQLite (the embedded demo) Python reads and checks every row
  (``_python_check``) and inserts the staging rows in batches.

The two checkers follow one table of rules (``COLUMNS``); a test runs the same
bad files through both. Each import is recorded as an ``ImportRun``.

Progress: ``progress`` (optional) is called with an ``ImportProgress`` now and
then (about every megabyte read, and at each phase), for the command's progress
bar or a task's percentage.

The package: ``rules`` (the columns, shapes and formats; what an import
reports), ``reading`` (the file, counted and hashed), ``prescreen`` (the first
look at each line), ``firstload`` (a plain file into an empty table), ``checks`` (the two
checkers and their messages), ``state`` (what one import carries), ``staging``
(the temporary tables, checking the staged rows, writing them) and ``run``
(``records_import``).
"""
from transactions.importing.rules import (
    BAD_LINES_SHOWN,
    FORMATS,
    PROGRESS_EVERY,
    STAGE,
    BadLine,
    ImportProgress,
    ImportReport,
)
from transactions.importing.run import records_import

__all__ = ["BAD_LINES_SHOWN", "FORMATS", "PROGRESS_EVERY", "STAGE", "BadLine", "ImportProgress", "ImportReport",
           "records_import"]
