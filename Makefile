# PolicyPulse task runner. Two commands on a fresh machine: `make up` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON_DOWNLOADS := never
export UV_NO_CONFIG := 1
PY := $(VENV)/bin/python
PROJECT_FILES := pyproject.toml uv.lock shared/pyproject.toml $(wildcard services/*/pyproject.toml)

.PHONY: install up seed-model test lint typecheck unit schemas bench bench-tools bench-floor bench-classifier bench-insights bench-alerts bench-calibration bench-simulation bench-gateway bench-console bench-cli demo browser-tools clean help
.DEFAULT_GOAL := help

help:
	@echo "make up     install (first time) and run all four services on the embedded stack"
	@echo "make test   install, then lint, type-check and run the whole test suite"
	@echo "make lint | typecheck | unit | schemas | clean"
	@echo "make demo   load a few days of generated events into a running 'make up' (PP_API_KEY: the key it printed)"
	@echo "make bench | bench-floor | bench-classifier | bench-insights | bench-alerts | bench-calibration | bench-simulation | bench-gateway | bench-console   benchmarks (BENCH_ARGS=--help for options)"

$(VENV)/.installed: $(PROJECT_FILES)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "PolicyPulse needs Python 3.11, found " + sys.version' 
	@test -x $(UV) || $(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) sync --frozen --all-packages --all-groups --python $(PY)
	@touch $@

install: $(VENV)/.installed

up: install seed-model
	$(VENV)/bin/policypulse up

# The classifier's seed model, trained once per machine (about 40 s of CPU) and kept in
# PP_SEED_MODEL_CACHE: a classifier on a fresh database then loads it instead of training it
# within the readiness waits of `policypulse up` and of the end-to-end tests.
seed-model: install
	$(PY) -m pp_classifier.training.seed_cache

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy shared/pp_shared services/*/pp_* tests
	@# Each service's tests/ maps to the module name "tests", so check them one at a time.
	@for d in shared/tests services/*/tests; do echo "mypy $$d"; $(VENV)/bin/mypy $$d || exit 1; done

schemas: install
	$(PY) -m pp_shared.contracts.schemas docs/schemas

unit: install
	$(VENV)/bin/pytest -m "not e2e"

# Two workers (one per core of the machines it runs on), each given whole files: a file's
# tests share its module fixtures (one running stack). TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
test: lint typecheck browser-tools seed-model
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile

# Events, rules, a launch and a calibration exercise for the console, through the public API.
demo: install
	$(VENV)/bin/policypulse demo $(DEMO_ARGS)

# The console's browser tests drive Debian's chromium with its chromedriver. As root on
# Debian or Ubuntu they are installed from the distribution; elsewhere the tests say so and
# are skipped.
browser-tools:
	@{ test -x /usr/bin/chromium && test -x /usr/bin/chromedriver; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium and chromium-driver with apt-get"; \
	    { apt-get install -y -qq chromium chromium-driver || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }; } \
	      || echo "could not install chromium: the console's browser tests will be skipped"; \
	  else echo "chromium is not installed (apt-get install chromium chromium-driver): the console's browser tests will be skipped"; fi; }

bench: install bench-tools
	$(PY) tests/bench/bench_pipeline.py $(BENCH_ARGS)

# wrk, a load generator in C, drives the single-POST phases: a Python client would spend more
# CPU per request than the services it measures, on the same two cores. As root on Debian or
# Ubuntu it is installed from the distribution; elsewhere the bench says so and uses aiohttp.
bench-tools:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing wrk with apt-get"; \
	    { apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }; } \
	      || echo "could not install wrk: the bench will use aiohttp"; \
	  else echo "wrk is not installed (apt-get install wrk): the bench will use aiohttp"; fi; }

# What a POST costs a Python service before it does any work, with wrk and with aiohttp.
bench-floor: install bench-tools
	$(PY) tests/bench/bench_http_floor.py $(BENCH_ARGS)

# The gateway's CPU per single POST with keys (an ingest key) and with authentication off.
bench-gateway: install bench-tools
	$(PY) tests/bench/bench_gateway.py $(BENCH_ARGS)

# policypulse --help's CPU and what importing each service's settings loads.
bench-cli: install
	$(PY) tests/bench/bench_cli.py $(BENCH_ARGS)

bench-insights: install
	$(PY) tests/bench/bench_insights.py $(BENCH_ARGS)

# Rule evaluations and rules and breaches API calls in-process, CPU per pass and per request.
bench-alerts: install
	$(PY) tests/bench/bench_alerts.py $(BENCH_ARGS)

# An exercise's results (200 cases x 50 moderators, bootstrap included) through the API, and
# the statistics alone: wall and CPU per call.
bench-calibration: install
	$(PY) tests/bench/bench_calibration.py $(BENCH_ARGS)

bench-classifier: install
	$(PY) tests/bench/bench_classifier.py $(BENCH_ARGS)

# A draft taxonomy simulated over 100,000 stored escalation texts of 30 days.
bench-simulation: install
	$(PY) tests/bench/bench_simulation.py $(BENCH_ARGS)

# Console pages' server time (Server-Timing) on a demo load: p50 and p95 per page.
bench-console: install
	$(PY) tests/bench/bench_console.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .policypulse test-artifacts .pytest_cache .mypy_cache .ruff_cache

