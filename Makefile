# One-word entry points. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lock system-deps run test check format bench bench-anomalies faults screenshots clean

# The packages come at the versions in constraints.txt, the set CI tested: the service with
# its development tools, and beside it the benchmark harness (bench/, its own distribution).
INSTALL := -e ".[dev,embedded]" -e "./bench[dev]"
$(STAMP): pyproject.toml bench/pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt $(INSTALL)
	touch $(STAMP)

install: $(STAMP)

# constraints.txt anew: the newest versions pyproject.toml allows, resolved in a fresh venv.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip
	.venv-lock/bin/pip install --quiet $(INSTALL)
	{ sed -n '1,2p' constraints.txt; .venv-lock/bin/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .venv-lock

run: $(STAMP)
	$(BIN)/postback serve

# Programs the tests drive for real, from Debian's packages when the machine lacks them:
# a Redis server, Chromium (with CJK fonts) for the browser tests, and docker-compose (the
# Python one, without a container engine) to check compose.yaml.
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -d /usr/share/fonts/opentype/noto || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing (Debian packages)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi; \
	if ! command -v docker-compose >/dev/null; then \
	  echo "installing docker-compose (Debian package, without a container engine)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends docker-compose; \
	fi

test: $(STAMP) system-deps
	$(BIN)/pytest

# Browser tests again, keeping their screenshots under docs/screenshots.
screenshots: $(STAMP) system-deps
	POSTBACK_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -k browser

check: $(STAMP)
	$(BIN)/ruff format --check postback tests bench main.py conftest.py
	$(BIN)/ruff check postback tests bench main.py conftest.py
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format postback tests bench main.py conftest.py
	$(BIN)/ruff check --fix postback tests bench main.py conftest.py

# The load generator is wrk (a C program, from the system's packages); the figures go to
# docs/benchmarks.md. BENCH_ARGS adds options, e.g. BENCH_ARGS="--workers 2" or
# BENCH_ARGS="--database-url postgresql://postgres@127.0.0.1:5432/postgres". Then the
# natural-language questions on a million conversions (docs/benchmarks-nlq.md); BENCH_NLQ_ARGS
# adds options, e.g. BENCH_NLQ_ARGS="--rows 200000 --rounds 5".
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
bench: $(STAMP)
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; } \
		|| { echo "install wrk (apt-get install wrk, brew install wrk)"; exit 1; }
	$(BIN)/postback-bench run --profile --stages --forwarding 2 $(BENCH_ARGS)
	$(BIN)/postback-bench dashboard $(BENCH_DASHBOARD_ARGS)
	$(BIN)/postback-bench nlq $(BENCH_NLQ_ARGS)
	$(MAKE) bench-anomalies

# The anomaly backtest: 60 simulated days, precision and recall per kind, and each partner's
# forecast error (MAPE) on the held-back last week (docs/anomalies.md).
bench-anomalies: $(STAMP)
	$(BIN)/pytest -q -s -p no:cacheprovider tests/anomalies/test_backtest.py

# Under load from a separate process: PostgreSQL restarted, then stopped 20 s, the service
# stopped with SIGTERM and killed with SIGKILL; fails if an acknowledged postback is lost, a
# first row doubled or a 5xx other than 503 answered. The figures go to docs/reliability.md.
faults: $(STAMP)
	$(BIN)/postback-bench faults $(FAULTS_ARGS)

clean:
	rm -rf $(VENV) .pytest-data .mypy_cache .ruff_cache .pytest_cache
