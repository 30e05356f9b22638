# Recording Inspector. `make serve` to use it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Where `make serve` listens: beyond loopback (HOST=0.0.0.0) it needs SECRET_KEY set and DEBUG off.
HOST ?= 127.0.0.1
RECORDINGS ?= fixtures
# The PostgreSQL run of `make test`; tests/services.sh starts a local server for this default.
TEST_DATABASE_URL ?= postgres://inspector:inspector@127.0.0.1:5432/inspector

.PHONY: install serve test test-sqlite test-postgres services lint bench bench-load clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# WEB_CONCURRENCY=N: N server processes (README "Configuration").
serve: install
	$(BIN)/python manage.py serve --host '$(HOST)' --check
	$(BIN)/python manage.py migrate --noinput
	-$(BIN)/python manage.py import_recordings $(RECORDINGS)
	@echo ""
	@echo "Recording Inspector is starting: open http://$(HOST):$(PORT)/"
	@echo ""
	$(BIN)/python manage.py serve --watch --host '$(HOST)' --port '$(PORT)' $(if $(WEB_CONCURRENCY),--workers '$(WEB_CONCURRENCY)')

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

# Not part of `make test`: about 5 minutes once bench/cache is built, then a minute for the
# 1,000,000-chunk stream (bench/long_stream.py), then two for the corpus as it is
# (bench/real_trees.py), then a few for /explain at 100,000 recordings (bench/explain.py) and
# one for /compare of two roots of 3,000 files (bench/compare.py; --db postgres --pg-url URL),
# then the content search at 100,000 recordings (bench/text_search.py, BENCH_TEXT_ARGS="--quick").
# Options: make bench BENCH_ARGS="--quick --db sqlite"
# BENCH_STREAM_ARGS="--quick" BENCH_REAL_ARGS="--db sqlite" BENCH_EXPLAIN_ARGS="--quick"
# Sets up the PostgreSQL server it measures first, as `make test` does (unless BENCH_ARGS has
# --db sqlite, or BENCH_POSTGRES_URL names another server); if that fails, the run reports
# PostgreSQL as ERROR and still measures SQLite.
BENCH_POSTGRES_URL ?= $(TEST_DATABASE_URL)
export BENCH_POSTGRES_URL
bench: install
	$(if $(findstring --db sqlite,$(BENCH_ARGS)),,-TEST_DATABASE_URL='$(BENCH_POSTGRES_URL)' bash tests/services.sh postgres)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/long_stream.py $(BENCH_STREAM_ARGS)
	$(BIN)/python bench/real_trees.py $(BENCH_REAL_ARGS)
	$(BIN)/python bench/explain.py $(BENCH_EXPLAIN_ARGS)
	$(BIN)/python bench/compare.py $(BENCH_COMPARE_ARGS)
	$(BIN)/python bench/text_search.py $(BENCH_TEXT_ARGS)

# Not part of `make test` nor `make bench`: about 5 minutes. 50 clients against `manage.py serve`
# (WEB_CONCURRENCY processes, default twice the cores) in three phases: plain, during an import,
# during 20 replays. Options: make bench-load BENCH_LOAD_ARGS="--quick --db sqlite"
bench-load: install
	$(if $(findstring --db sqlite,$(BENCH_LOAD_ARGS)),,-TEST_DATABASE_URL='$(BENCH_POSTGRES_URL)' bash tests/services.sh postgres)
	$(BIN)/python bench/load.py $(BENCH_LOAD_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm
