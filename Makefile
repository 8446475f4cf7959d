# The two commands: `make run` (set up and serve the demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
SANDBOX_PORT ?= 8001
# Local development and the test suite run with DEBUG on (a dev SECRET_KEY is generated
# into .secret_key); production sets DEBUG=0 and a real SECRET_KEY.
export DEBUG ?= 1

.PHONY: install run test test-postgres lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py demo --port $(PORT) --sandbox-port $(SANDBOX_PORT)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

# The same suite on PostgreSQL (CI runs both): DATABASE_URL must point at a server.
test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(BIN)/pytest

clean:
	rm -rf $(VENV) db.sqlite3* staticfiles .pytest_cache .ruff_cache var
