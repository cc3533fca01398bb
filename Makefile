# One-word entry points. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install system-deps run test check format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/postback serve

# Programs the tests drive for real (a Redis server) when the machine lacks them.
system-deps:
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server (Debian package)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

test: $(STAMP) system-deps
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
