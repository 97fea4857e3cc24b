# Two commands do all the set-up: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium

.PHONY: install serve test lint bench clean

install: $(STAMP)

# Re-install only when the project or its pinned versions change.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

serve: install
	$(BIN)/vodflow serve $(ARGS)

test: install $(CHROMIUM)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests drive Debian's chromium with Playwright (never `playwright install`).
$(CHROMIUM):
	apt-get update && apt-get install -y --no-install-recommends chromium

lint: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) vodflow-data .pytest_cache tests/node/node_modules tests/browser/node_modules
