"""Many rows into one table with one INSERT, without a model instance per row.

``bulk_create`` builds and prepares a model instance per row; for the tens of
thousands of rows of an SLA sweep that Python work is most of its time. Here
each value still goes through its field's ``get_db_prep_save`` (so a scrubbed
field masks card numbers and a JSON field is serialised the same way), but
the rows stay tuples and go out as one ``INSERT … VALUES … RETURNING id``.
"""
from __future__ import annotations

from django.db import connection


def insert_rows(model, fields: list[str], rows: list[tuple]) -> list[int]:
    """Insert ``rows`` (tuples in the order of ``fields``, by attribute name, e.g.
    ``case_id``) into ``model``'s table; returns the new ids in the rows' order."""
    if not rows:
        return []
    opts = model._meta
    columns = [opts.get_field(name) for name in fields]  # a field's name or attname (``case_id``)
    preps = [_memoised(field) for field in columns]
    names = ", ".join(connection.ops.quote_name(field.column) for field in columns)
    template = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        # The values are quoted by the driver (mogrify), then sent as one statement
        # through Django's cursor, so it is logged and counted like any other.
        mogrify = cursor.cursor.mogrify
        values = b", ".join(
            mogrify(template, [prep(value) for prep, value in zip(preps, row)]) for row in rows
        ).decode()
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(opts.db_table)} ({names}) VALUES {values} "
                       f"RETURNING {connection.ops.quote_name(opts.pk.column)}")
        return [row[0] for row in cursor.fetchall()]


def _memoised(field):
    """The field's ``get_db_prep_save``, computed once per distinct value (a subject
    sent to three people is scrubbed once; the batch's one timestamp prepared once)."""
    memo: dict = {}

    def prep(value):
        try:
            key = (type(value), value)
            prepared = memo.get(key, _MISSING)
        except TypeError:  # not hashable (a JSON payload): prepared each time
            return field.get_db_prep_save(value, connection)
        if prepared is _MISSING:
            prepared = memo[key] = field.get_db_prep_save(value, connection)
        return prepared

    return prep


_MISSING = object()
