"""A pytest plugin for `make mutation` only (setup.cfg, [mutmut]); the suite never loads it.

mutmut runs the selected tests once to learn which tests reach which function,
then, for each mutant, forks its own process and runs those tests again with
``pytest.main`` in the child, two children at a time. Each of those pytest
sessions needs a test database that no other session is using at that moment:

* a session claims the first free *slot* (an exclusive ``flock`` on
  ``$DISPUTE_DESK_VAR_DIR/mutation-slots/N.lock``, released when the session
  ends or its process dies) and uses ``test_<database>_mutation<N>``, kept
  between sessions: created and migrated by the slot's first session of a run
  (which leaves ``N.ready`` beside the lock), then only connected to;
* tests that commit (``transaction=True``, ``transactional_db``) or start a
  server are dropped: a commit would leave rows behind for the next session,
  and they are not fast tests anyway;
* hypothesis runs derandomized, without its example database and without
  shrinking, so a mutant is killed or not the same way on every run, at once;
* the tests run fastest first (their durations from mutmut's own first run,
  ``mutmut-stats.json``): mutmut hands them over in no particular order and
  stops at the first failure, so a mutant the quick unit tests kill is not
  first taken through the slow property tests.
"""
from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest
from hypothesis import Phase, settings as hypothesis_settings

SLOTS = 16
_ORIGINAL_TEST_NAMES: dict[str, str] = {}
_slot_lock = None
_slot_number: int | None = None
_DURATIONS: dict[str, float] = {}

# No shrinking: a mutant is killed by the first failing example; making it small is for people.
hypothesis_settings.register_profile("mutation", derandomize=True, database=None, deadline=None,
                                     phases=[Phase.explicit, Phase.generate])
hypothesis_settings.load_profile("mutation")


def _slot_folder() -> Path:
    folder = Path(os.environ.get("DISPUTE_DESK_VAR_DIR", "var")) / "mutation-slots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _claim_slot() -> int:
    global _slot_lock, _slot_number
    folder = _slot_folder()
    for slot in range(SLOTS):
        lock = open(folder / f"{slot}.lock", "w")  # noqa: SIM115 - held for the whole session
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _slot_lock, _slot_number = lock, slot
        return slot
    raise RuntimeError(f"all {SLOTS} mutation database slots are in use")


class SlotDatabases:
    """pytest-django's database fixtures, for a session on its slot's database.

    Registered in ``pytest_configure``, after pytest-django, so these win over
    its fixtures of the same names (a plugin given with ``-p`` loads before it).
    """

    @pytest.fixture(scope="session")
    def django_db_modify_db_settings(self, django_db_modify_db_settings_parallel_suffix) -> None:
        from django.conf import settings
        from django.contrib.contenttypes.models import ContentType

        slot = _claim_slot()
        for alias, db in settings.DATABASES.items():
            test = db.setdefault("TEST", {})
            original = _ORIGINAL_TEST_NAMES.setdefault(alias, test.get("NAME") or f"test_{db['NAME']}")
            test["NAME"] = f"{original}_mutation{slot}"
        # Content type ids are read from a cache the forked process inherited.
        ContentType.objects.clear_cache()

    @pytest.fixture(scope="session")
    def django_db_setup(self, request, django_test_environment, django_db_blocker, django_db_modify_db_settings):
        """Create and migrate the slot's database once per run (``bin/mutation``
        drops it and its mark first); later sessions only connect to it."""
        from django.db import connections
        from django.test.utils import setup_databases

        ready = _slot_folder() / f"{_slot_number}.ready"
        if ready.exists():
            for alias in connections:
                connection = connections[alias]
                connection.close()
                connection.settings_dict["NAME"] = connection.settings_dict["TEST"]["NAME"]
        else:
            with django_db_blocker.unblock():
                setup_databases(verbosity=0, interactive=False, keepdb=True)
            ready.touch()
        yield


def pytest_configure(config) -> None:
    config.pluginmanager.register(SlotDatabases(), "mutation-slot-databases")


def pytest_collection_modifyitems(config, items) -> None:
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("django_db")
        commits = marker is not None and bool(marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
        serves = {"transactional_db", "live_server", "django_db_serialized_rollback"} & set(item.fixturenames)
        slow = item.get_closest_marker("slow") or item.get_closest_marker("browser")
        (dropped if commits or serves or slow else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    durations = _durations()
    items[:] = sorted(kept, key=lambda item: durations.get(item.nodeid, 0.0))


def _durations() -> dict[str, float]:
    """{test id: seconds} measured by mutmut's stats run (in its folder, the working
    directory of every session it starts); empty before that run. Read once: the
    sessions are forked from the process that read it."""
    global _DURATIONS
    if not _DURATIONS:
        try:
            with open("mutmut-stats.json", encoding="utf-8") as stats:
                _DURATIONS = json.load(stats).get("duration_by_test", {})
        except (OSError, ValueError):
            return {}
    return _DURATIONS


def pytest_unconfigure(config) -> None:
    global _slot_lock
    from django.db import connections

    connections.close_all()  # a forked child must not inherit an open connection
    if _slot_lock is not None:
        _slot_lock.close()
        _slot_lock = None
