# Two commands do all the set-up: `make serve` and `make test`.
# `make serve` installs only what serving needs; `make test` adds the test tools
# (the `test` extra) and Debian's chromium for the console's browser tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SERVE_STAMP := $(VENV)/.installed-serve
TEST_STAMP  := $(VENV)/.installed-test
CHROMIUM ?= /usr/bin/chromium

.PHONY: install install-serve browser serve test lint bench wrk clean

install: $(TEST_STAMP)
install-serve: $(SERVE_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the project or its pinned versions change.
$(SERVE_STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c requirements.lock -e .
	touch $@

$(TEST_STAMP): $(SERVE_STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

# The console tests drive the system chromium (Playwright with executable_path;
# `playwright install` is never run). On Debian as root, install it when missing.
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium (apt-get) for the console tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "note: $(CHROMIUM) is missing: install Debian's chromium for the console tests"; \
	  fi; \
	fi

# The HTTP benchmarks (bench/reads.py) drive the server with Debian's wrk, a client
# that is not the bottleneck. Benchmarks are not part of `make test`.
wrk:
	@if ! command -v wrk >/dev/null; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing wrk (apt-get) for bench/reads.py"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "note: wrk is missing: install Debian's wrk (apt-get install -y wrk) for bench/reads.py"; \
	  fi; \
	fi

serve: install-serve
	$(BIN)/vodflow serve $(ARGS)

test: install browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) vodflow-data .pytest_cache tests/node/node_modules tests/browser/node_modules
