# Dropship — the two commands that matter are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

# Tests run on PostgreSQL + Redis at 127.0.0.1 unless the environment says otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dropship
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# The test database is kept between runs (--reuse-db; Django's migrate still applies migrations
# added since); `make test CREATE_DB=1` rebuilds it, as CI does.
TEST_DB_ARGS = --reuse-db $(if $(filter 1,$(CREATE_DB)),--create-db)
# The suite runs on TEST_WORKERS processes (pytest-xdist: a test database per worker, cache keys
# per test); TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

.PHONY: help install run test lint format bench migrate seed dev-secrets demo-code

# `make run`, `make seed` and `make migrate` are development: DEBUG on for their own processes, user-typed URLs
# may reach the sandboxes on loopback, and the keys come from var/dev-secrets.env (generated once).
# Everything else, `manage.py` run by hand included, gets the production defaults.
DEV_ENV := DEBUG=1 DEVSTACK=1 ALLOW_LOOPBACK_URLS=1

help:
	@echo "make run    install, migrate, seed demo data, start web + worker + beat + sandboxes (PORT=8000)"
	@echo "make test   install, lint, the whole pytest suite on PostgreSQL + Redis, the README flows on SQLite"
	@echo "            (keeps the test database between runs; CREATE_DB=1 rebuilds it)"
	@echo "make lint   ruff check, ruff format --check, import contracts (lint-imports), mypy, makemigrations --check"
	@echo "make bench  the benchmarks in tests/perf/"

.tools/bin/uv:
	@echo "uv not found: bootstrapping it from PyPI into .tools/"
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: pyproject.toml uv.lock | $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced

dev-secrets: install
	$(PY) -m devstack.dev_secrets

run: dev-secrets
	$(DEV_ENV) $(PY) manage.py runstack --port $${PORT:-8000}

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	DATABASE_URL=$${DATABASE_URL:-sqlite:///:memory:} DJANGO_SETTINGS_MODULE=tests.settings \
		$(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Then the README's flows (tests marked `embedded`) again on SQLite without Redis, as `make run`
# runs them: engine-specific code must have a working path on both.
test: lint
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(VENV)/bin/pytest $(TEST_DB_ARGS) -n $(TEST_WORKERS) -m "not browser and not smoke" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	@# Browser and smoke tests start servers and browsers of their own: one at a time, after.
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(VENV)/bin/pytest $(TEST_DB_ARGS) -m "browser or smoke" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	DATABASE_URL=sqlite:///:memory: REDIS_URL= $(VENV)/bin/pytest -m embedded $(PYTEST_ARGS)

bench: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/14} \
		$(PY) tests/perf/run.py $(BENCH_ARGS)

migrate: dev-secrets
	$(DEV_ENV) $(PY) manage.py migrate

seed: dev-secrets
	$(DEV_ENV) $(PY) manage.py seed_demo

# The demo staff's second-factor code for the admin (an authenticator app with the secret that
# seed_demo prints works too).
demo-code: dev-secrets
	$(DEV_ENV) $(PY) manage.py demo_code
