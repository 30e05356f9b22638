# Recording Inspector. `make serve` to use it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
RECORDINGS ?= fixtures
# The PostgreSQL run of `make test`; tests/services.sh starts a local server for this default.
TEST_DATABASE_URL ?= postgres://inspector:inspector@127.0.0.1:5432/inspector

.PHONY: install serve test test-sqlite test-postgres services lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

serve: install
	$(BIN)/python manage.py migrate --noinput
	-$(BIN)/python manage.py import_recordings $(RECORDINGS)
	@echo ""
	@echo "Recording Inspector is running: open http://127.0.0.1:$(PORT)/"
	@echo ""
	$(BIN)/uvicorn inspector.asgi:application --host 127.0.0.1 --port $(PORT)

services:
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' bash tests/services.sh

test: install services
	$(BIN)/ruff check .
	env -u DATABASE_URL $(BIN)/pytest
	DATABASE_URL='$(TEST_DATABASE_URL)' $(BIN)/pytest

test-sqlite: install
	env -u DATABASE_URL $(BIN)/pytest

test-postgres: install services
	DATABASE_URL='$(TEST_DATABASE_URL)' $(BIN)/pytest

# Not part of `make test`: about 9 minutes once bench/cache is built. Options: make bench BENCH_ARGS="--quick --db sqlite"
# Sets up the PostgreSQL server it measures first, as `make test` does (unless BENCH_ARGS has
# --db sqlite, or BENCH_POSTGRES_URL names another server); if that fails, the run reports
# PostgreSQL as ERROR and still measures SQLite.
BENCH_POSTGRES_URL ?= $(TEST_DATABASE_URL)
export BENCH_POSTGRES_URL
bench: install
	$(if $(findstring --db sqlite,$(BENCH_ARGS)),,-TEST_DATABASE_URL='$(BENCH_POSTGRES_URL)' bash tests/services.sh postgres)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm
