# Each target bootstraps .venv itself, so a fresh clone needs only python3 and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-postgresql bench mutate lint format check install

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ttydesk demo

# The tests start dozens of Python processes (serve, admin, demo, the CLI): with
# PYTHONDONTWRITEBYTECODE set in the environment each compiles the backend from source
# again; the test targets let Python keep its bytecode (__pycache__/, ignored by git).
KEEP_BYTECODE := PYTHONDONTWRITEBYTECODE=

test: lint
	$(KEEP_BYTECODE) $(BIN)/python -m pytest -q

# ruff and the import-linter contracts (the first half of test)
lint: $(STAMP)
	$(BIN)/ruff check backend tui tests
	$(BIN)/ruff format --check backend tui tests
	$(BIN)/lint-imports

# the store, API and WhatsApp tests on PostgreSQL (a throwaway server: tests/pg_cluster.py)
test-postgresql: $(STAMP)
	$(KEEP_BYTECODE) $(BIN)/python -m pytest -q -m postgresql --all-engines tests/backend tests/whatsapp

bench: $(STAMP)
	$(BIN)/python -m tests.bench

# mutation testing of the critical rules (slow; not part of test): tests/mutation/results.md
mutate: $(STAMP)
	$(BIN)/python -m tests.mutation.run $(TARGETS)

format: $(STAMP)
	$(BIN)/ruff format backend tui tests
	$(BIN)/ruff check --fix backend tui tests

check: test
