# Two commands on a fresh machine: `make run` serves, `make test` tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test check format bench install clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED)

## Serve the API on http://127.0.0.1:8000/ with a private PostgreSQL in ./.varistore (Ctrl-C stops all).
run: $(INSTALLED)
	$(BIN)/varistore serve --demo

## Run the test suite against a PostgreSQL it starts itself.
test: $(INSTALLED)
	$(BIN)/pytest

## Lint, format check and strict typing.
check: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The benchmarks: the write path (the service under wrk against pgbench on the same SQL), graphs,
## the WebSocket gateway with 10,000 sockets, another key's latency under a one-key flood, and requests beside 1,000 slowloris connections.
bench: $(INSTALLED)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk; } \
		|| { echo "install wrk (Debian: apt-get install wrk)"; exit 1; }
	$(BIN)/python -m tests.bench.write_path
	$(BIN)/python -m tests.bench.render
	$(BIN)/python -m tests.bench.gateway
	$(BIN)/python -m tests.bench.flood
	$(BIN)/python -m tests.bench.slowloris

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
