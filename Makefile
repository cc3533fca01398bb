# One-word entry points. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test check format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/postback serve

test: $(STAMP)
	$(BIN)/pytest

check: $(STAMP)
	$(BIN)/ruff format --check postback tests main.py
	$(BIN)/ruff check postback tests main.py
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format postback tests main.py
	$(BIN)/ruff check --fix postback tests main.py

clean:
	rm -rf $(VENV) .pytest-data .mypy_cache .ruff_cache .pytest_cache
