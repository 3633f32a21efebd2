# Every target installs what it needs from the project's own files.
# `make demo` and `make test` are the two commands the README starts with.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.10+ to build the development environment with (override: make test PYTHON=python3.12).
PYTHON ?= python3
# Interpreters for the matrix and the minimum-dependencies leg: pyenv's, when the machine has them.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
find_python = $(firstword $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python$(1)) $(shell command -v python$(1) 2>/dev/null))
MIN_PYTHON ?= $(or $(call find_python,3.10),$(PYTHON))

VENV := .venv
VENV_MIN := .venv-min
VENV_LATEST := .venv-latest
BIN := $(VENV)/bin
# `make test` installs from the committed locks (`make lock` refreshes them), so that an
# upstream release cannot change what a commit tests; test-latest and matrix resolve afresh.
PROJECT_FILES := $(wildcard packages/*/pyproject.toml) $(wildcard requirements/*.txt) \
  requirements/lock.in scripts/install_dev.py scripts/min_constraints.py
BOOTSTRAP := --quiet --disable-pip-version-check -r requirements/bootstrap.txt
PYTEST_ARGS ?=

.PHONY: help demo test check matrix lint format types pytest test-min test-latest lock clean

help:
	@echo "make demo     start the local server and tour the product against it"
	@echo "make test     lint, types, the whole suite (locked latest deps) and the locked minimum-deps leg"
	@echo "make check    format check, lint, types and the whole suite"
	@echo "make test-latest  the suite on the newest releases, resolved now (drift, on purpose)"
	@echo "make matrix   test-latest, then the hatch matrix: Python 3.10-3.13 x {minimum, latest} deps"
	@echo "make lock     resolve the newest releases into requirements/lock*.txt"
	@echo "make format   apply ruff's formatting and fixes"

$(VENV)/.installed: $(PROJECT_FILES)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "Python 3.10+ is needed (found $$($(PYTHON) --version)); set PYTHON=..."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(BOOTSTRAP)
	$(BIN)/python scripts/install_dev.py latest --locked
	touch $@

$(VENV_MIN)/.installed: $(PROJECT_FILES) $(VENV)/.installed
	test -x $(VENV_MIN)/bin/python || $(BIN)/uv venv --quiet --seed --python $(MIN_PYTHON) $(VENV_MIN)
	$(VENV_MIN)/bin/python -m pip install $(BOOTSTRAP)
	$(VENV_MIN)/bin/python scripts/install_dev.py minimum --locked
	touch $@

demo: $(VENV)/.installed
	$(BIN)/python scripts/demo.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

types: $(VENV)/.installed
	$(BIN)/mypy

pytest: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-min: $(VENV_MIN)/.installed
	@echo "== minimum declared dependencies on $$($(VENV_MIN)/bin/python --version) =="
	$(VENV_MIN)/bin/python -m pytest $(PYTEST_ARGS)

test: lint types pytest test-min

# Not locked, and installed again on every run: the newest releases allowed, so that what
# tomorrow's users get is tested today. A failure here is upstream drift; `make lock` then
# `make test` shows whether the project (or a bound) has to change.
test-latest: $(VENV)/.installed
	test -x $(VENV_LATEST)/bin/python || $(BIN)/uv venv --quiet --seed --python $(PYTHON) $(VENV_LATEST)
	$(VENV_LATEST)/bin/python -m pip install $(BOOTSTRAP)
	$(VENV_LATEST)/bin/python scripts/install_dev.py latest
	@echo "== newest releases on $$($(VENV_LATEST)/bin/python --version) =="
	$(VENV_LATEST)/bin/python -m pytest $(PYTEST_ARGS)

lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(BOOTSTRAP)
	$(BIN)/python scripts/install_dev.py lock

check: $(VENV)/.installed
	$(BIN)/ruff format --check .
	$(MAKE) lint types pytest

matrix: test-latest
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "hatch>=1.13"
	@for v in 3.10 3.11 3.12 3.13; do \
	  dir=$$(ls -d $(PYENV_ROOT)/versions/$$v.*/bin 2>/dev/null | head -n1); \
	  if [ -z "$$dir" ] && ! command -v python$$v >/dev/null; then echo "== skip Python $$v: not on this machine"; continue; fi; \
	  for deps in minimum latest; do \
	    echo "== Python $$v, $$deps dependencies"; \
	    PATH="$${dir:+$$dir:}$$PATH" $(BIN)/hatch run +py=$$v +deps=$$deps test:run $(PYTEST_ARGS) || exit 1; \
	  done; \
	done

clean:
	rm -rf $(VENV) $(VENV_MIN) $(VENV_LATEST) .pytest_cache .mypy_cache .ruff_cache
