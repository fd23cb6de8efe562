# Dispute Desk — the two commands of README.md, plus a few helpers.
#
#   make run    the embedded demo on http://127.0.0.1:8000 (SQLite, file-system broker)
#   make test   the whole test suite against PostgreSQL (DATABASE_URL)
#
# Each target is idempotent: the virtualenv is made once and re-installed only
# when a requirements file changes (stamp files in .venv/).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
MANAGE := $(BIN)/python manage.py

# `make test` runs against PostgreSQL; pytest-django creates test_<name> beside it.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dispute_desk
PYTEST_ARGS ?=
# pytest-xdist processes for `make test` (each gets its own test database); the
# reliability suite runs its scenarios one at a time.
TEST_PROCESSES ?= 2

# Compiled translations, from locale/*/LC_MESSAGES/*.po with gettext's msgfmt.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))

.PHONY: run test reliability mutation bench install install-dev migrate messages check-deploy diagram clean help system-packages-run system-packages-test

# Prerequisites are built in the order listed: the system packages come first.
.NOTPARALLEL:

help:
	@echo "make run     start web + Celery worker + Celery beat on http://127.0.0.1:8000 (Ctrl-C stops all)"
	@echo "make test    run the test suite against PostgreSQL (DATABASE_URL, default $(TEST_DATABASE_URL))"
	@echo "make reliability  the reliability suite: fault scenarios with real processes, figures printed (run by .ci/run)"
	@echo "make mutation  mutation testing of the core modules, score per module; reuses the last run (MUTATION_FRESH=1: from nothing) (docs/testing.md; not part of make test)"
	@echo "make bench   the benchmarks on PostgreSQL + Redis + gunicorn + a Celery worker, one table (BENCH_ARGS=--quick: small sizes; not part of make test)"
	@echo "make diagram regenerate the workflow diagram in docs/"
	@echo "make messages recompile the translations after a .po changed"
	@echo "make check-deploy  manage.py check --deploy --fail-level WARNING under the current environment"
	@echo "make clean   remove .venv, var/ and staticfiles/"

# bin/system-packages installs the missing Debian packages (as root; otherwise it
# prints the apt-get command and stops when a required one is missing). .ci/run
# uses the same script.
system-packages-run system-packages-test: system-packages-%:
	@PYTHON="$(PYTHON)" VENV="$(VENV)" bin/system-packages $*

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(PIP) install -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PIP) install -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: $(VENV)/.installed
	$(MANAGE) migrate --noinput

# The compiled .mo files are committed (tests/test_i18n.py checks they match the
# .po): run and test only build a missing one; `make messages` rebuilds them all
# after a .po changed.
%.mo: | %.po
	@command -v msgfmt >/dev/null || { echo "msgfmt not found: install gettext (apt-get install gettext)" >&2; exit 1; }
	msgfmt --check-format -o $@ $*.po

messages:
	@command -v msgfmt >/dev/null || { echo "msgfmt not found: install gettext (apt-get install gettext)" >&2; exit 1; }
	@for po in $(MO_FILES:.mo=.po); do echo "msgfmt --check-format -o $${po%.po}.mo $$po"; msgfmt --check-format -o "$${po%.po}.mo" "$$po" || exit 1; done

# The embedded demo: SQLite and Celery's file-system broker under var/ unless
# DATABASE_URL / CELERY_BROKER_URL say otherwise. bin/run-all starts web, worker
# and beat and stops all three on Ctrl-C or SIGTERM.
run: system-packages-run migrate $(MO_FILES)
	$(MANAGE) seed_demo
	$(MANAGE) collectstatic --noinput --verbosity 0
	exec bin/run-all

# First the system packages the suite needs (Chromium for the browser tests,
# redis-server, gettext, the PostgreSQL client...: bin/system-packages test).
# Tests use their own var/ folder, so a demo running beside them never picks
# up their tasks or files. pytest's exit status is passed on as is: 5 ("no
# tests ran") fails the target like any other non-zero status.
test: system-packages-test $(VENV)/.installed-dev $(MO_FILES)
	@mkdir -p "$${DJANGO_STATIC_ROOT:-staticfiles}"  # WhiteNoise warns about a missing static root
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	DISPUTE_DESK_VAR_DIR="$${DISPUTE_DESK_VAR_DIR:-$(CURDIR)/var/test}" \
	$(BIN)/pytest -m "not reliability" -n $(TEST_PROCESSES) $(PYTEST_ARGS)

# The reliability suite (docs/testing.md, "Reliability"): real processes under
# faults (a worker SIGKILLed, Redis stopped, PostgreSQL restarted, 50 concurrent
# transitions, hostile requests); each scenario prints its figures. Run by .ci/run.
reliability: system-packages-test $(VENV)/.installed-dev $(MO_FILES)
	@mkdir -p "$${DJANGO_STATIC_ROOT:-staticfiles}"
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	DISPUTE_DESK_VAR_DIR="$${DISPUTE_DESK_VAR_DIR:-$(CURDIR)/var/test}" \
	$(BIN)/pytest -m reliability -s -p no:cacheprovider $(PYTEST_ARGS)

# Mutation testing of the core modules with their fast tests (docs/testing.md):
# mutmut (setup.cfg) plus the state machine's declarations; prints the score of
# each module and fails under MUTATION_MIN_SCORE (90). Not part of `make test`.
mutation: $(VENV)/.installed-dev $(MO_FILES)
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	DISPUTE_DESK_VAR_DIR="$${DISPUTE_DESK_VAR_DIR:-$(CURDIR)/var/test}" \
	$(BIN)/python bin/mutation

# The benchmarks (docs/performance.md, "make bench"): 1M cases, 1M + 1M records
# rows, on the production stack (PostgreSQL, Redis, gunicorn, a Celery worker);
# the datasets are kept as template databases and reused. BENCH_ARGS passes
# options to bench/run.py, e.g. BENCH_ARGS="--quick" or "--only sla --json".
# BENCH_DATABASE_URL's database name prefixes the bench databases (default dispute_desk_bench).
BENCH_ARGS ?=
bench: system-packages-test $(VENV)/.installed-dev $(MO_FILES)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

check-deploy: $(VENV)/.installed
	$(MANAGE) check --deploy --fail-level WARNING

diagram: $(VENV)/.installed
	$(MANAGE) workflow_diagram --write

clean:
	rm -rf $(VENV) var staticfiles mutants
