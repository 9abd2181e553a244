# Two commands: `make serve` (set up + run the gateway on SQLite with the demo config)
# and `make test` (set up + lint + type-check + run the whole suite).
# The web app's third-party code (webapp/package-lock.json) is installed by npm when it changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# The server the PostgreSQL pass uses when OPEN311_TEST_DATABASE_URL names none.
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
NPM    ?= npm
WEBAPP := webapp

.PHONY: serve test fuzz install install-test lint typecheck pytest pytest-sqlite pytest-postgresql check-config bench clean \
	webapp webapp-if-npm webapp-test screenshots messages messages-compile messages-check

# Each step says what it does; pip lists what it fetches (a line a package), so a first install shows progress.
$(VENV)/.installed-run: setup.cfg pyproject.toml
	@echo "==> creating the Python environment $(VENV) (with $(PYTHON))"
	$(PYTHON) -m venv $(VENV)
	@echo "==> updating pip in $(VENV)"
	$(BIN)/python -m pip install -q --upgrade pip
	@echo "==> installing the gateway and its dependencies into $(VENV) (first time: a few minutes)"
	$(BIN)/python -m pip install -e .
	@touch $@
	@echo "==> the gateway is installed ($(BIN)/open311)"

$(VENV)/.installed-test: $(VENV)/.installed-run
	@echo "==> installing the test tools (pytest, ruff, mypy, fuzzers, client libraries, ...) into $(VENV)"
	$(BIN)/python -m pip install -e '.[test]'
	@touch $@
	@echo "==> the test tools are installed"

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

# Leaflet (the map) and axe-core (the accessibility check of the end-to-end tests), from the lock file.
$(WEBAPP)/node_modules/.installed: $(WEBAPP)/package.json $(WEBAPP)/package-lock.json
	@echo "==> installing the web app's packages (Leaflet, axe-core) from $(WEBAPP)/package-lock.json with npm ci"
	cd $(WEBAPP) && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

webapp: $(WEBAPP)/node_modules/.installed

# `make serve` still starts without npm: the web app then works without its map.
webapp-if-npm:
	@if command -v $(NPM) >/dev/null 2>&1; then $(MAKE) --no-print-directory webapp; \
	else echo "npm not found: the web app runs without its map (install Node.js 18+ and run make webapp)"; fi

# The web app's own unit tests (node's built-in runner, no dependencies).
webapp-test: webapp
	cd $(WEBAPP) && node --test test/

# Rewrite docs/screenshots/*.png from the end-to-end run.
screenshots: install-test webapp
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e -q -p no:cacheprovider

# The server's own texts (errors, notices, the status page) in every language: gettext catalogs through Babel,
# open311/locale/<locale>/LC_MESSAGES/messages.po; the web app's interface texts likewise in
# webapp/locale/<locale>/LC_MESSAGES/webapp.po (English source: webapp/public/i18n/en.json, keys as msgctxt).
# `make messages` extracts the marked texts from the code into messages.pot (and en.json into webapp.pot) and
# merges them into every catalog (new texts arrive untranslated: served in English until then);
# `make messages-compile` writes the .mo files the server reads (it compiles a .po in memory when its .mo is
# missing or older); `make messages-check` (part of lint) compiles every catalog and fails on a lost placeholder,
# and checks the web app's catalogs the same way ({name} placeholders).
LOCALE_DIR := open311/locale
PYBABEL    := $(BIN)/pybabel
messages: install
	$(PYBABEL) extract -F babel.cfg -k lazy -k _ -k gettext --no-location --sort-output \
		--project open311-gateway --copyright-holder "open311-gateway contributors" -o $(LOCALE_DIR)/messages.pot open311
	$(PYBABEL) update -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) -D messages --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python -m open311.georeport.webapp_texts $(WEBAPP)
	$(PYBABEL) update -i $(WEBAPP)/locale/webapp.pot -d $(WEBAPP)/locale -D webapp --no-fuzzy-matching --ignore-obsolete

messages-compile: install
	$(PYBABEL) compile -d $(LOCALE_DIR) -D messages --statistics

messages-check: install
	$(BIN)/python -m open311.cli.messages_check $(LOCALE_DIR) $(WEBAPP)

serve: install webapp-if-npm messages-compile
	@echo "==> checking the configuration, then bringing the database schema up to date"
	$(BIN)/open311 check-config
	$(BIN)/open311 db upgrade
	$(BIN)/open311 serve --host $(HOST) --port $(PORT)

test: install-test lint typecheck webapp-test pytest

# ruff, then the import contracts of setup.cfg [importlinter] (the layers docs/architecture.md draws).
lint: install-test messages-check
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install-test
	$(BIN)/mypy

# The whole suite twice: on SQLite, then on PostgreSQL (each test in a schema of its own).
pytest: pytest-sqlite pytest-postgresql

# The SQLite pass runs on PYTEST_WORKERS processes (pytest-xdist; each test has its own files and free ports):
# README gives the times of both passes. The PostgreSQL pass runs on PG_WORKERS: the
# first on the named server, each other one on a server of its own (tests/pg_cluster.py: initdb of the same
# version), because the update feed shows an update only once every older transaction of the whole server
# has ended, so two workers on one server hold back each other's updates. PG_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 2
PG_WORKERS ?= $(PYTEST_WORKERS)
pytest-sqlite: install-test webapp messages-compile
	env -u OPEN311_TEST_DATABASE_URL $(BIN)/python -m pytest -n $(PYTEST_WORKERS)

# With OPEN311_TEST_DATABASE_URL / OPEN311_TEST_REDIS_URL set (.ci/run sets both) the servers must
# answer or the run fails; without them the local defaults are tried, and the PostgreSQL pass (or
# the Redis tests) are skipped, saying so, when nothing listens there.
pytest-postgresql: install-test messages-compile
	@if [ -n "$$OPEN311_TEST_DATABASE_URL" ]; then \
		echo "$(BIN)/python -m pytest -n $(PG_WORKERS)  # on $$OPEN311_TEST_DATABASE_URL"; \
		$(BIN)/python -m pytest -n $(PG_WORKERS); \
	else \
		echo "OPEN311_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -n $(PG_WORKERS)"; \
		OPEN311_TEST_DATABASE_URL='$(PG_TEST_URL)' OPEN311_TEST_DATABASE_OPTIONAL=1 $(BIN)/python -m pytest -n $(PG_WORKERS); \
	fi

# Benchmarks (not tests): B1-B7 and photos, each rewriting its section of docs/benchmarks.md.
# B1 loads gunicorn with wrk (Debian's package: installed here when missing and run as root).
bench: install-test
	@if ! command -v wrk >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing wrk for B1"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; fi
	$(BIN)/python -m bench

# A long fuzz campaign: new random cases each run (CI runs a bounded, derandomized 40 per fuzzer).
FUZZ_EXAMPLES ?= 2000
fuzz: install-test
	FUZZ_RANDOM=1 FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/fuzz -q -p no:cacheprovider

check-config: install
	$(BIN)/open311 check-config

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache *.egg-info $(WEBAPP)/node_modules
