# tlh-daemon developer commands. Everything runs from a virtualenv in .venv, created on first use.
#   make demo    install, then run the main job on SQLite + the built-in paper broker + a sample household
#   make test    install the test dependencies, run every test (PYTEST_ARGS="-k wash -x" to narrow)
#   make lint    ruff
#   make bench   run each benchmarks/*.py
#   make container-test  build the Dockerfile with Podman, run the daemon in it, check health and a clean stop
#   make clean   remove caches, build output and the demo database (make distclean: the .venv too)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# The demo's price file ends on this day: every demo command looks from it (TLH_AS_OF, as --as-of would).
DEMO_AS_OF ?= 2022-12-30
DEMO := TLH_AS_OF=$(DEMO_AS_OF) $(BIN)/tlh --config config/demo.toml

.PHONY: demo test lint bench clean distclean venv install install-test container-test

# The virtualenv itself (its python) and one stamp per install, redone when pyproject.toml changes.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.installed

venv: $(BIN)/python
install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	mkdir -p var
	rm -f var/demo.db
	$(DEMO) db upgrade
	$(DEMO) import config/demo/trades.csv
	$(DEMO) lots
	$(DEMO) gains
	$(DEMO) harvest --dry-run
	@echo
	@echo "tlh is installed in $(VENV)/bin: run it as $(BIN)/tlh, or put it on your PATH for this shell:"
	@echo "    export PATH=\"$(CURDIR)/$(BIN):\$$PATH\" TLH_AS_OF=$(DEMO_AS_OF)"
	@echo "    tlh --config config/demo.toml status"

test: $(VENV)/.installed-test
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

bench: $(VENV)/.installed
	@set -e; found=0; \
	for f in benchmarks/*.py; do \
	  [ -e "$$f" ] || continue; \
	  case "$$(basename "$$f")" in _*) continue;; esac; \
	  found=1; echo "== $$f"; $(BIN)/python "$$f"; \
	done; \
	[ $$found = 1 ] || echo "no benchmarks in benchmarks/"

# Podman (and a local python:3.11-slim base) come from ../shared/tools/container-base.sh when missing.
container-test:
	CONTAINER_BASE=$(CURDIR)/../shared/tools/container-base.sh bash tests/container/run.sh

clean:
	rm -rf var build dist .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
