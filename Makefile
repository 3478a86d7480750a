# The everyday commands, one line each; `make help` lists them. Each runs the tools of the
# virtual environment that `make install` makes (VENV=... for another one).
.DEFAULT_GOAL := help
VENV ?= .venv
BIN := $(VENV)/bin
CODE := src tests bench
#: Every benchmark under bench/: make bench-NAME runs one (ARGS=... passes it options).
BENCHES := pages history ingest memory retention ratelimit_http ratelimit_overhead

.PHONY: help install demo lint format types imports test-fast test ci bench $(BENCHES:%=bench-%)

help: ## this list
	@grep -E '^[a-z][a-z_-]*:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-24s %s\n", $$1, $$2}'
install: ## .venv with the server and the development tools (the dev extra)
	python3 -m venv $(VENV) && $(BIN)/pip install -e '.[dev]'
demo: ## a demo partner with customers, jobs and an app; serves on http://127.0.0.1:8000
	$(BIN)/backupjobs demo
lint: ## ruff check and ruff format --check
	$(BIN)/ruff check $(CODE) && $(BIN)/ruff format --check $(CODE)
format: ## ruff format, and the fixes ruff check can make
	$(BIN)/ruff check --fix $(CODE) && $(BIN)/ruff format $(CODE)
types: ## mypy, strict, on src/
	$(BIN)/mypy
imports: ## the import contracts ([tool.importlinter] in pyproject.toml)
	$(BIN)/lint-imports --no-cache
test-fast: ## the suite but the slow tests (server processes, clean installs, benchmarks), in parallel
	$(BIN)/pytest -m 'not slow' -n auto
test: ## the whole suite, as the README and CI run it
	$(BIN)/pytest
ci: ## what CI runs: PostgreSQL, Redis and wrk started or installed if missing, then the whole suite
	CI=true bash .ci/run
bench: ## every benchmark below, one after another (each several minutes)
	set -e; for name in $(BENCHES); do $(BIN)/python -m bench.$$name $(ARGS); done
bench-pages: ## job pages (v3, Modern) against the ceiling of the same stack
	$(BIN)/python -m bench.pages $(ARGS)
bench-history: ## job page p50 with 50 days of history against 1 day
	$(BIN)/python -m bench.history $(ARGS)
bench-ingest: ## ingestion over HTTP on PostgreSQL and SQLite, and simulate's time
	$(BIN)/python -m bench.ingest $(ARGS)
bench-memory: ## peak memory per worker under load, 1 and 2 workers
	$(BIN)/python -m bench.memory $(ARGS)
bench-retention: ## what removing old history costs on PostgreSQL
	$(BIN)/python -m bench.retention $(ARGS)
bench-ratelimit_http: ## requests per second with rate limiting off, in-process, in Redis
	$(BIN)/python -m bench.ratelimit_http $(ARGS)
bench-ratelimit_overhead: ## what rate limiting adds to each request
	$(BIN)/python -m bench.ratelimit_overhead $(ARGS)
