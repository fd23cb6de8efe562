"""Make the access audit trail append-only in the database itself.

UPDATE and DELETE on accounts_accesschange raise an error whatever the client
(the ORM, the admin, psql): the same triggers as disputes migration 0002 puts
on disputes_caseevent, for PostgreSQL and for SQLite.
"""
from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION accounts_accesschange_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'access changes are append-only: % is not allowed on accounts_accesschange', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounts_accesschange_no_update_delete
    BEFORE UPDATE OR DELETE ON accounts_accesschange
    FOR EACH ROW EXECUTE FUNCTION accounts_accesschange_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS accounts_accesschange_no_update_delete ON accounts_accesschange;
DROP FUNCTION IF EXISTS accounts_accesschange_append_only();
"""
SQLITE_UP = [
    """CREATE TRIGGER accounts_accesschange_no_update BEFORE UPDATE ON accounts_accesschange
       BEGIN SELECT RAISE(ABORT, 'access changes are append-only: UPDATE is not allowed on accounts_accesschange'); END;""",
    """CREATE TRIGGER accounts_accesschange_no_delete BEFORE DELETE ON accounts_accesschange
       BEGIN SELECT RAISE(ABORT, 'access changes are append-only: DELETE is not allowed on accounts_accesschange'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS accounts_accesschange_no_update;",
    "DROP TRIGGER IF EXISTS accounts_accesschange_no_delete;",
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
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        ),
    ]
