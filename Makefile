# Gatehouse: `make run` serves the embedded set-up with demo data; `make test` runs
# the linters and the whole suite. Both set everything up on a fresh clone.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
EXAMPLE_PORT ?= 5001
PYTEST_ARGS ?= -n 2

.PHONY: install run shell example test lint format bench clean i18n cluster

PO_FILES := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

install: $(VENV)/.installed $(VENV)/.sdk-installed node_modules/.installed static/vendor/htmx.min.js $(MO_FILES)

# Message catalogues: the .po files are the source (committed); the .mo files are
# compiled from them here, so a fresh clone's `make run` / `make test` has them.
app/translations/%/LC_MESSAGES/messages.mo: app/translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile -i $< -o $@

# After changing end-user strings: extract them and merge into every catalogue, then
# translate what `make test` (tests/test_i18n_catalogues.py) reports as missing. (The
# template has no locations, so the merge writes none; no fuzzy guesses for new strings.)
i18n: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output \
		--project Gatehouse -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations \
		--no-fuzzy-matching --ignore-obsolete --width 100

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The Python SDK as its users get it: a regular (not editable) install of sdk/python with
# its Flask extra, so the tests and the example import the packaged form.
$(VENV)/.sdk-installed: $(VENV)/.installed sdk/python/pyproject.toml $(wildcard sdk/python/gatehouse_sdk/*.py)
	$(BIN)/pip install --quiet --no-build-isolation --force-reinstall --no-deps ./sdk/python
	$(BIN)/pip install --quiet --no-build-isolation './sdk/python[flask]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/vendor/htmx.min.js: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

run: install
	$(BIN)/gatehouse db upgrade
	$(BIN)/gatehouse demo
	@echo "Serving http://localhost:$(PORT) (system) and http://acme-corp.localhost:$(PORT) (demo)"
	@echo "Console: http://acme-corp.localhost:$(PORT)/admin (tenant admins), http://localhost:$(PORT)/admin (operators)"
	@echo "Commands: $(BIN)/gatehouse --help (or 'make shell' to have gatehouse on PATH)"
	$(BIN)/gatehouse run --host $(HOST) --port $(PORT)

# An interactive shell with $(BIN) first on PATH, so `gatehouse ...` works as written.
shell: install
	@echo "gatehouse is on PATH in this shell ($(BIN)); type exit to leave."
	@PATH="$(CURDIR)/$(BIN):$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)" $${SHELL:-/bin/sh} -i

# The SDK example (examples/): its own origin, next to a running `make run`.
example: install
	$(BIN)/python -m examples.serve --port $(EXAMPLE_PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

# Three instances behind HAProxy on PostgreSQL and Redis (tools/cluster.py), on :7200.
cluster: install
	command -v haproxy >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q haproxy; }
	$(BIN)/python tools/cluster.py

# `make bench` (about 15 minutes, writes bench/RESULTS.md); `make bench BENCH_ARGS=--quick`.
bench: install bench/reference/node_modules/.installed
	command -v wrk >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q wrk; }
	$(BIN)/python -m bench $(BENCH_ARGS)

bench/reference/node_modules/.installed: bench/reference/package.json bench/reference/package-lock.json
	cd bench/reference && npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .ruff_cache test-artifacts
