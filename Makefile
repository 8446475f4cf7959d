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

.PHONY: install run prod test test-postgres lint format messages bench chromium clean lock

# Every package, direct or not, at the version and with the hashes requirements.lock
# pins (`make lock` refreshes it from pyproject.toml); then the app itself, no deps.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# A development checkout runs with DEBUG on, also for a bare `manage.py` or `pytest`
	@# (a local, ignored file; production sets its environment instead).
	test -f .env || printf 'DEBUG=1\n' > .env
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py demo --port $(PORT) --sandbox-port $(SANDBOX_PORT)

# The production-shaped stack against the machine's PostgreSQL and Redis (README,
# "Several machines"): bin/prod, which execs honcho on the Procfile, DEBUG off.
prod: install
	DEBUG=0 bin/prod

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Translations (locale/<lang>/LC_MESSAGES): collect every marked string from the code and
# templates into the Dutch and Spanish .po files, then compile them into the .mo files the
# app reads. Both are committed, so running the app or the tests needs no gettext; this
# needs GNU gettext (msgfmt, xgettext). Translate new or changed (fuzzy) entries, run again.
MESSAGES_IGNORE := --ignore=.venv --ignore=staticfiles --ignore=tests --ignore=var \
	--ignore=bench-results --ignore=build --ignore='*.egg-info'
messages: install
	$(BIN)/python manage.py makemessages -l nl -l es --no-obsolete --add-location=file $(MESSAGES_IGNORE)
	$(BIN)/python manage.py compilemessages -l nl -l es $(MESSAGES_IGNORE)

# The browser tests (tests/e2e, marker e2e) drive Debian's Chromium; CI runs as root and
# installs it here. Without apt rights locally: `.venv/bin/pytest -m "not e2e"`.
chromium:
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

test: install lint chromium
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

# The same suite in the several-machines configuration (CI runs both): PostgreSQL and a
# Redis cache, at DATABASE_URL / REDIS_URL (defaults: the local servers).
test-postgres: install chromium
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/15} $(BIN)/pytest

# Dashboard vs Django admin vs raw SQL, and the sync, at 10k and 100k invoices (README
# "Performance"); its own throwaway database, DEBUG off while timing. Fails when a floor is
# not met. `make test` runs it once at a tiny size (tests/bench). BENCH_ARGS: e.g. --skip-sync.
bench: install
	$(BIN)/python manage.py bench $(BENCH_ARGS)

# Re-resolve the whole dependency tree from pyproject.toml (the app's and the tests'
# dependencies) to the newest versions its ranges allow, with every file's hash; review
# the diff, run `make test`, commit. `make install` then installs exactly that.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --extra test -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) db.sqlite3* staticfiles .pytest_cache .ruff_cache var
