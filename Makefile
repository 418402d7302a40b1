# The front door. `make run` and `make test` are the README's two commands; both are idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export UJIAN_MODE ?= development

.PHONY: run test lint fmt typecheck bench clean help

help:
	@echo "make run    - set up, load the demo and serve on http://127.0.0.1:8000"
	@echo "make test   - set up and run the whole test suite (browser tests when Chromium is found)"
	@echo "make lint   - ruff lint + format check + mypy"
	@echo "make fmt    - format the code"
	@echo "make clean  - remove the virtualenv and local data (var/)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Ujian needs Python 3.11 or newer")'
	@$(PYTHON) -m venv $(VENV) || { echo "Could not create a virtualenv: on Debian, install python3-venv"; exit 1; }
	@$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps: reinstall only when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/ujian demo
	$(BIN)/ujian serve

test: $(VENV)/.installed-dev
	@$(BIN)/python -m tests.support.browser_check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed-dev
	@echo "Benchmarks are separate scripts; see bench/README.md for each command."

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
