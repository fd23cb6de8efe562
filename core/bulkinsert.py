"""Many rows into one table with one INSERT, without a model instance per row.

``bulk_create`` builds and prepares a model instance per row; for the tens of
thousands of rows of an SLA sweep that Python work is most of its time. Here
each value still goes through its field's ``get_db_prep_save`` (so a scrubbed
field masks card numbers and a JSON field is serialised the same way), but
the rows stay tuples and go out as one ``INSERT … VALUES … RETURNING id``.
``InsertOrNothingMixin`` saves a new model instance with ``INSERT … ON CONFLICT
DO NOTHING`` (a case whose random reference was drawn twice). ``insert_for_each`` writes the same values once per row of a query, in one
``INSERT … SELECT`` (a state change's webhook delivery per active endpoint).
"""
from __future__ import annotations

from django.db import connection
from django.db.models.constants import OnConflict


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


def insert_for_each(model, values: dict, *, each: str, source) -> list[int]:
    """Insert into ``model``'s table one row per row of the queryset ``source``:
    its primary key in the field ``each`` (e.g. ``endpoint_id``), ``values`` (by
    attribute name, prepared by their fields) in the others; one ``INSERT …
    SELECT … RETURNING id`` with no read before it. Returns the new ids."""
    opts = model._meta
    fields = [opts.get_field(name) for name in values]
    names = ", ".join(connection.ops.quote_name(field.column) for field in [opts.get_field(each), *fields])
    prepared = [field.get_db_prep_save(value, connection) for field, value in zip(fields, values.values())]
    select, select_params = source.values("pk").query.sql_with_params()
    columns = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(opts.db_table)} ({names}) "
                       f"SELECT chosen.*, {columns} FROM ({select}) AS chosen "
                       f"RETURNING {connection.ops.quote_name(opts.pk.column)}", [*prepared, *select_params])
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


class InsertOrNothingMixin:
    """``insert_or_nothing()``: save this new instance with ``INSERT … ON CONFLICT DO
    NOTHING``, through ``save`` (its fields' ``pre_save``, its signals). Returns
    False, with nothing written and the instance still new, when a unique value
    is taken: the caller may change it and try again inside its transaction,
    with no savepoint (a failed plain INSERT would abort the transaction)."""

    def insert_or_nothing(self) -> bool:
        self._insert_or_nothing = True
        try:
            self.save(force_insert=True)
        finally:
            del self._insert_or_nothing
        if self.pk is None:
            self._state.adding = True
            return False
        return True

    def _do_insert(self, manager, using, fields, returning_fields, raw):
        if not getattr(self, "_insert_or_nothing", False):
            return super()._do_insert(manager, using, fields, returning_fields, raw)
        rows = manager._insert([self], fields=fields, returning_fields=returning_fields, using=using, raw=raw,
                               on_conflict=OnConflict.IGNORE)
        return [row for row in rows if row is not None]  # nothing inserted: no id, ``pk`` stays None
