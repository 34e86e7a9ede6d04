# gpuledger: `make demo` runs the founding story, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.DEFAULT_GOAL := help
.PHONY: help install install-dev demo test lint graph typecheck pytest bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# After installing, the forecast's compiled kernels are compiled once and cached on
# disk (numba), so that a first forecast loads them instead of compiling (~10 s).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m gpuledger.services.warm
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m gpuledger.services.warm
	touch $@ $(STAMP)

install: $(STAMP) ## create .venv and install the project

install-dev: $(DEVSTAMP) ## create .venv and install the project with the dev tools

demo: $(STAMP) ## run the founding story on SQLite (./gpuledger-demo.db)
	$(BIN)/gpuledger demo

lint: $(DEVSTAMP) ## ruff lint and format check, import-linter contracts (the package's layers)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports --no-cache

graph: $(DEVSTAMP) ## regenerate the package graph in docs/architecture.md from the code
	$(BIN)/python scripts/package_graph.py --write docs/architecture.md

typecheck: $(DEVSTAMP) ## mypy strict on src/
	$(BIN)/mypy

pytest: $(DEVSTAMP) ## the test suite
	$(BIN)/pytest

test: lint typecheck pytest ## ruff, mypy and pytest: what CI runs

# PostgreSQL for the ledger benchmark, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test
BENCH_POSTGRES ?=

bench: $(DEVSTAMP) ## run every benchmark with its floor or peer (figures to stdout; see docs/benchmarks.md)
	cat /proc/loadavg
	$(BIN)/python -m benchmarks.bench_ledger $(if $(BENCH_POSTGRES),--postgres $(BENCH_POSTGRES))
	$(BIN)/python -m benchmarks.bench_planning
	$(BIN)/python -m benchmarks.bench_forecast
	$(BIN)/python -m benchmarks.bench_epoch
	$(BIN)/python benchmarks/bench_api.py --clients 8
	$(BIN)/python -m benchmarks.bench_history
	cat /proc/loadavg

clean: ## remove the venv and generated files
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info src/*.egg-info
