"""A real Celery worker keeps its database connection from one task to the
next, as a web process does between requests (``config/celery.py``; Celery's
Django fix-up closed it around every task, so that each task paid a new
PostgreSQL session), and replaces a connection that died meanwhile by itself:
the next task runs, on a new session, without failing."""
import time

import pytest
import redis
from django.db import connection

from disputes.models import Outcome, Verification
from disputes.workflow.filing import case_file
from disputes.workflow.names import Channel
from tests.conftest import filing_data

from .processes import Processes, celery_publishing_to, wait_for

BROKER = "redis://127.0.0.1:6379/9"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    redis.Redis.from_url(BROKER).flushdb()
    procs = Processes(tmp_path, BROKER, DATABASE_CONN_MAX_AGE="60")  # production's default
    with celery_publishing_to(BROKER):
        procs.worker()
        yield procs
        procs.stop_all()
    redis.Redis.from_url(BROKER).flushdb()


def other_sessions() -> set[int]:
    """The PostgreSQL sessions on the test database other than this test's own: the worker's."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                       " AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
        return {row[0] for row in cursor.fetchall()}


def file_and_wait_for_its_check(actor, worker, number: int) -> None:
    """File a case (its check is queued after commit) and wait for the worker to check it."""
    case = case_file(actor=actor, channel=Channel.API, **filing_data(phone=f"+861380013800{number}")).case
    try:
        wait_for(lambda: Verification.objects.filter(case=case).exists(), 30, f"the worker to check case {number}")
    except AssertionError:
        print(worker.logs())
        raise
    assert Verification.objects.get(case=case).outcome == Outcome.NOT_FOUND
    time.sleep(0.5)  # the task's end (where the fix-up closed the connection) is past


def test_the_worker_keeps_its_connection_between_tasks_and_replaces_a_dead_one(worker, dave):
    file_and_wait_for_its_check(dave, worker, 1)
    first = other_sessions()
    assert first, "the worker holds no connection after its task"
    file_and_wait_for_its_check(dave, worker, 2)
    assert other_sessions() == first  # the same session: no new one for the second task

    # The connection dies (a database restart, a network cut): the next task checks
    # it before use and opens a new one.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [sorted(first)])
    wait_for(lambda: not other_sessions() & first, 10, "the worker's session to end")
    file_and_wait_for_its_check(dave, worker, 3)
    assert other_sessions() and not other_sessions() & first
    assert not worker.log_mentions("OperationalError", "InterfaceError", "raised unexpected")
