# Sequester — the verbs: run, test, lint, bench.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# uv from PATH, else the copy that `make uv` installs for this interpreter.
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
# Debian packages the project needs at run and test time (WeasyPrint: pango, harfbuzz, fonts;
# SoftHSM2 for the PKCS#11 backend; Chromium for the browser tests, driven by Playwright).
DEBIAN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core softhsm2 chromium

.PHONY: help run test lint format typecheck pytest bench venv uv system-deps node-deps clean

help:
	@echo "make run    - the whole stack on the embedded default (URL printed)"
	@echo "make test   - install what is needed, then lint, types and tests"
	@echo "make lint   - ruff (lint + format check)     make typecheck - mypy"
	@echo "make bench  - benchmarks under bench/"

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check uv

venv: uv
	@$(UV) sync --frozen --quiet

system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "warning: missing Debian packages:$$missing (run as root to install them)"; \
	fi

# Node tools the tests start (tests/node: a real OpenID provider, axe-core), from the npm registry at
# install time only; node and npm themselves from Debian when missing.
NODE_DIR := tests/node
node-deps:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "installing Debian packages: nodejs npm"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; \
		else \
			echo "warning: node and npm are missing (run as root to install them)"; exit 1; \
		fi; \
	fi
	@if [ ! -f $(NODE_DIR)/node_modules/.package-lock.json ] || [ $(NODE_DIR)/package-lock.json -nt $(NODE_DIR)/node_modules/.package-lock.json ]; then \
		npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error; \
	fi

run: system-deps venv
	$(PY) manage.py runstack

test: system-deps venv node-deps lint typecheck pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: venv
	$(VENV)/bin/mypy .

pytest: venv
	$(PY) -m pytest $(PYTEST_ARGS)

bench: system-deps venv
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .mypy_cache .ruff_cache .pytest_cache
