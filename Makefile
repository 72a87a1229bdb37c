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

.PHONY: install up test lint typecheck unit schemas bench bench-classifier bench-insights clean help
.DEFAULT_GOAL := help

help:
	@echo "make up     install (first time) and run all four services on the embedded stack"
	@echo "make test   install, then lint, type-check and run the whole test suite"
	@echo "make lint | typecheck | unit | schemas | clean"
	@echo "make bench | bench-classifier | bench-insights   benchmarks (BENCH_ARGS=--help for options)"

$(VENV)/.installed: $(PROJECT_FILES)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "PolicyPulse needs Python 3.11, found " + sys.version' 
	@test -x $(UV) || $(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) sync --frozen --all-packages --all-groups --python $(PY)
	@touch $@

install: $(VENV)/.installed

up: install
	$(VENV)/bin/policypulse up

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy shared/pp_shared services/*/pp_* tests
	@# Each service's tests/ maps to the module name "tests", so check them one at a time.
	@for d in shared/tests services/*/tests; do echo "mypy $$d"; $(VENV)/bin/mypy $$d || exit 1; done

schemas: install
	$(PY) -m pp_shared.schemas docs/schemas

unit: install
	$(VENV)/bin/pytest -m "not e2e"

test: lint typecheck
	$(VENV)/bin/pytest

bench: install
	$(PY) tests/bench/bench_pipeline.py $(BENCH_ARGS)

bench-insights: install
	$(PY) tests/bench/bench_insights.py $(BENCH_ARGS)

bench-classifier: install
	$(PY) tests/bench/bench_classifier.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .policypulse .pytest_cache .mypy_cache .ruff_cache

