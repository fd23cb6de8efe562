"""Make the audit trail append-only in the database itself.

UPDATE and DELETE on disputes_caseevent raise an error whatever the client
(the ORM, the admin, psql). Written for PostgreSQL and for SQLite (the
embedded default). TRUNCATE is a table owner's DDL, not a row change; the
deployment guide has the application connect as a role that does not own the
tables.
"""
from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION disputes_caseevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'case events are append-only: % is not allowed on disputes_caseevent', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER disputes_caseevent_no_update_delete
    BEFORE UPDATE OR DELETE ON disputes_caseevent
    FOR EACH ROW EXECUTE FUNCTION disputes_caseevent_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS disputes_caseevent_no_update_delete ON disputes_caseevent;
DROP FUNCTION IF EXISTS disputes_caseevent_append_only();
"""
SQLITE_UP = [
    """CREATE TRIGGER disputes_caseevent_no_update BEFORE UPDATE ON disputes_caseevent
       BEGIN SELECT RAISE(ABORT, 'case events are append-only: UPDATE is not allowed on disputes_caseevent'); END;""",
    """CREATE TRIGGER disputes_caseevent_no_delete BEFORE DELETE ON disputes_caseevent
       BEGIN SELECT RAISE(ABORT, 'case events are append-only: DELETE is not allowed on disputes_caseevent'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS disputes_caseevent_no_update;",
    "DROP TRIGGER IF EXISTS disputes_caseevent_no_delete;",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in statements_by_vendor:
            raise RuntimeError(f"No append-only trigger for database vendor {vendor!r}")
        statements = statements_by_vendor[vendor]
        for statement in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("disputes", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        ),
    ]
