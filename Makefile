# Two commands: `make serve` (set up + run the gateway on SQLite with the demo config)
# and `make test` (set up + lint + type-check + run the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# The server the PostgreSQL pass uses when OPEN311_TEST_DATABASE_URL names none.
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: serve test fuzz install install-test lint typecheck pytest pytest-sqlite pytest-postgresql check-config bench clean

$(VENV)/.installed-run: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-run
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

serve: install
	$(BIN)/open311 check-config
	$(BIN)/open311 db upgrade
	$(BIN)/open311 serve --host $(HOST) --port $(PORT)

test: install-test lint typecheck pytest

lint: install-test
	$(BIN)/ruff check .

typecheck: install-test
	$(BIN)/mypy

# The whole suite twice: on SQLite, then on PostgreSQL (each test in a schema of its own).
pytest: pytest-sqlite pytest-postgresql

pytest-sqlite: install-test
	env -u OPEN311_TEST_DATABASE_URL $(BIN)/python -m pytest

# With OPEN311_TEST_DATABASE_URL / OPEN311_TEST_REDIS_URL set (.ci/run sets both) the servers must
# answer or the run fails; without them the local defaults are tried, and the PostgreSQL pass (or
# the Redis tests) are skipped, saying so, when nothing listens there.
pytest-postgresql: install-test
	@if [ -n "$$OPEN311_TEST_DATABASE_URL" ]; then \
		echo "$(BIN)/python -m pytest  # on $$OPEN311_TEST_DATABASE_URL"; \
		$(BIN)/python -m pytest; \
	else \
		echo "OPEN311_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest"; \
		OPEN311_TEST_DATABASE_URL='$(PG_TEST_URL)' OPEN311_TEST_DATABASE_OPTIONAL=1 $(BIN)/python -m pytest; \
	fi

# Benchmarks (not tests): each bench/*.py prints a Markdown report; results live in docs/benchmarks.md.
bench: install-test
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# A long fuzz campaign: new random cases each run (CI runs a bounded, derandomized 40 per fuzzer).
FUZZ_EXAMPLES ?= 2000
fuzz: install-test
	FUZZ_RANDOM=1 FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/fuzz -q -p no:cacheprovider

check-config: install
	$(BIN)/open311 check-config

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache *.egg-info
