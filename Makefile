# BotPanel. `make run` sets everything up and starts the dashboard; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test test-fast lint format bench loadtest clean sandbox worker sync

$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(VENV)/.runtime $@

## Set up (virtualenv, install, migrate, demo data) and start sandbox, worker and dashboard.
run: $(VENV)/.runtime
	@bash scripts/run.sh

## Set up and run the whole suite (browser tests included when Chromium is there).
test: $(VENV)/.dev
	@bash scripts/ensure_chromium.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	BOTPANEL_TESTING=1 $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## Benchmarks (not tests): the list vs the admin changelist, the sync vs a plain loop.
## BENCH_ARGS="--leads 1000000" for a bigger mirror; DATABASE_URL=postgres://... for PostgreSQL.
bench: $(VENV)/.dev
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

## Load test (not a test): 100 agents for 60 s (LOADTEST_USERS, LOADTEST_FAULTS=1 for the faults run) against gunicorn (4 workers), a worker and a sync, the
## sandbox at 100 ms latency and 5% failures; own database; exits non-zero when a target is missed.
## LOADTEST_SECONDS=10 LOADTEST_USERS=5 for a quick run; DATABASE_URL=postgres://... for PostgreSQL.
loadtest: $(VENV)/.runtime
	$(PY) loadtest/run.py

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

sandbox: $(VENV)/.runtime
	$(PY) manage.py botpenguin_sandbox --port 8765 --chats 2000 --page-size 20

worker: $(VENV)/.runtime
	$(PY) manage.py db_worker

sync: $(VENV)/.runtime
	$(PY) manage.py sync_leads

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
