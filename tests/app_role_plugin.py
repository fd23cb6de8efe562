"""Run the tests as production's application role (docs/testing.md, "As the
application role"):

    PYTHONPATH=. make test PYTEST_ARGS="-p tests.app_role_plugin"

docs/deployment.md ("PostgreSQL: two roles") has the web and worker nodes
connect as a role that owns no table: rows and sequences only, temporary
tables, no DDL. The test database is made by a superuser, so the suite alone
never meets that limit. With this plugin each test's connection, once its
database is set up, switches to a new role granted exactly that (created
inside the test's transaction, gone with it), so any statement the
application role may not run fails the test that reaches it. Tests marked
``needs_owner`` (they create roles or read what only the owner does) are
skipped.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection


@contextmanager
def application_role(*, drop: bool = False) -> Iterator[str]:
    """The connection as a new role granted what production's application role
    has: rows and sequences, temporary tables (every role may make them in a
    test database), no DDL on the tables, which it does not own. Inside a
    transaction the role goes with its rollback; ``drop``: drop it on the way
    out (autocommit)."""
    role = f"dd_test_app_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        cursor.execute(f"SET ROLE {role}")
    try:
        yield role
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
            if drop:
                cursor.execute(f"DROP OWNED BY {role}")
                cursor.execute(f"DROP ROLE {role}")


@pytest.fixture(autouse=True)
def _as_the_application_role(request):
    if request.node.get_closest_marker("needs_owner"):
        pytest.skip("needs the tables' owner (tests.app_role_plugin)")
    marker = request.node.get_closest_marker("django_db")
    if marker is None and not {"db", "transactional_db"} & set(request.fixturenames):
        yield
        return
    # The database first (an autouse fixture may otherwise be set up before
    # it): then the role is made inside the test's transaction, or, for a
    # transactional test (no transaction around it), dropped again after.
    if marker is not None:
        request.getfixturevalue("_django_db_marker")
    else:
        request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
    if connection.vendor != "postgresql":
        yield
        return
    try:
        with application_role(drop=not connection.in_atomic_block):
            yield
    except Exception:  # noqa: BLE001 - the test closed its connection: a role dd_test_app_… may be left to drop by hand
        pass
