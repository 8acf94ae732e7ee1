# mockopper's everyday commands. `make help` lists them.
PY ?= .venv/bin/python
VENV ?= .venv

.PHONY: help install test test-slow test-all lint typecheck check serve bench clean

help:  ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

$(VENV)/bin/python:
	python3 -m venv $(VENV)

install: $(VENV)/bin/python  ## Create .venv and install mockopper with its test and dev tools
	$(VENV)/bin/pip install -q -e ".[dev]"
	$(VENV)/bin/pip install -q --no-deps "instructor>=1.17"  # its pins clash with openai's; see pyproject.toml

test:  ## Run the test suite (the README's command; CI runs it, then test-slow)
	$(PY) -m pytest

test-slow:  ## Run only the slow tests: load, soak and fuzzing at depth (CI runs them after `test`)
	$(PY) -m pytest -m slow

test-all:  ## Run the test suite including the slow tests
	$(PY) -m pytest -m "slow or not slow"

lint:  ## Lint and check formatting with ruff
	$(PY) -m ruff check mockopper tests bench
	$(PY) -m ruff format --check mockopper tests bench

typecheck:  ## Type-check the package with mypy --strict
	$(PY) -m mypy

check: lint typecheck test  ## Lint, type-check and test

serve:  ## Serve the default scenario on http://127.0.0.1:8787/v3/compat
	$(VENV)/bin/mockopper serve

bench:  ## Benchmark mockopper against bare Starlette and aimock; prints a table of ratios
	$(PY) bench/run.py

clean:  ## Remove caches and build output
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache bench/.work
