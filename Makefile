# Higgsfield API service: `make` (or `make help`) lists the targets.
#
# Everything runs in the virtualenv .venv at the repository root, created on first use.
# Requirements are installed again only when a requirements file changed (stamp files in .venv).
# This Makefile never reads .env: the service reads it itself and environment variables win,
# so `PORT=9000 make run` and `TEST_MYSQL_URL=mysql://... make test` work as expected.

SERVICE := higgsfield-api
# The Python client package of the API: installed into the virtualenv for the tests, linted with the service.
CLIENT  := higgsfield-client
VENV    := .venv
# Paths used after `cd $(SERVICE)`, so they are relative to the service directory.
PY      := ../$(VENV)/bin/python

# The interpreter that creates the virtualenv: python3.11 when installed, else python3.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)

BASE_REQS  := $(SERVICE)/requirements/base.txt
DEV_REQS   := $(SERVICE)/requirements/dev.txt
BASE_STAMP := $(VENV)/.installed-base
DEV_STAMP  := $(VENV)/.installed-dev
CLIENT_STAMP := $(VENV)/.installed-client
# A change to any of these installs the client package again.
CLIENT_FILES := $(CLIENT)/pyproject.toml $(wildcard $(CLIENT)/src/higgsfield_client/*.py)

# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-k health -x"`.
PYTEST_ARGS ?=
# Extra arguments for the bench, e.g. `make bench BENCH_ARGS="--seconds 5"`.
BENCH_ARGS ?=

# The deployment files `make lint-deploy` checks (the tests point them at broken copies).
DOCKERFILE   ?= $(SERVICE)/Dockerfile
COMPOSE_YAML ?= docker-compose.yaml
PROM_DIR     ?= deploy/prometheus

.DEFAULT_GOAL := help
.PHONY: help run test bench lint lint-deploy format migrations clean

help: ## list the targets
	@echo "Usage: make <target>"
	@echo
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-12s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

run: $(BASE_STAMP) ## create .env if missing, apply the migrations and serve on HOST:PORT (default 127.0.0.1:8018)
	cd $(SERVICE) && $(PY) -m src.cli init-env
	cd $(SERVICE) && $(PY) -m src.cli migrate
	cd $(SERVICE) && exec $(PY) -m src.cli serve

test: $(DEV_STAMP) $(CLIENT_STAMP) ## run the tests (PYTEST_ARGS=...; TEST_MYSQL_URL=mysql://... adds MySQL/MariaDB)
	cd $(SERVICE) && $(PY) -m pytest $(PYTEST_ARGS)

bench: $(DEV_STAMP) ## load the service next to a bare FastAPI app; prints and writes bench/latest.md (BENCH_ARGS=--record: bench/results.md too; TEST_MYSQL_URL adds MySQL)
	cd $(SERVICE) && $(PY) -m bench.run $(BENCH_ARGS)

lint: $(DEV_STAMP) lint-deploy ## check the code with ruff (lint rules and formatting) and the deployment files
	cd $(SERVICE) && $(PY) -m ruff check .
	cd $(SERVICE) && $(PY) -m ruff format --check .
	cd $(CLIENT) && $(PY) -m ruff check .
	cd $(CLIENT) && $(PY) -m ruff format --check .

# Offline: hadolint and the Compose schema come from the dev requirements; promtool from the
# system (Debian's `prometheus` package), required in CI and skipped with a warning elsewhere.
lint-deploy: $(DEV_STAMP) ## check the Dockerfile, docker-compose.yaml and the alert rules (promtool)
	$(VENV)/bin/hadolint $(DOCKERFILE)
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec $(COMPOSE_YAML)
	@if command -v promtool >/dev/null 2>&1; then \
		echo "promtool check rules $(PROM_DIR)/alerts.yml" && promtool check rules $(PROM_DIR)/alerts.yml && \
		echo "promtool check config $(PROM_DIR)/prometheus.yml" && promtool check config $(PROM_DIR)/prometheus.yml && \
		echo "promtool test rules $(PROM_DIR)/alerts.test.yml" && promtool test rules $(PROM_DIR)/alerts.test.yml; \
	elif [ "$$CI" = true ]; then \
		echo "error: promtool is not installed: CI must check the alert rules (apt-get install prometheus)" >&2; exit 1; \
	else \
		echo "warning: promtool is not installed: the alert rules in $(PROM_DIR) were not checked." >&2; \
		echo "         Install it (Debian/Ubuntu: apt-get install --no-install-recommends prometheus) and run make lint again." >&2; \
	fi

format: $(DEV_STAMP) ## apply ruff's automatic fixes and format the code
	cd $(SERVICE) && $(PY) -m ruff check --fix-only .
	cd $(SERVICE) && $(PY) -m ruff format .
	cd $(CLIENT) && $(PY) -m ruff check --fix-only .
	cd $(CLIENT) && $(PY) -m ruff format .

migrations: $(BASE_STAMP) ## generate a migration from the model changes
	cd $(SERVICE) && $(PY) -m tortoise -c src.db.migration_config.TORTOISE_ORM makemigrations

clean: ## remove the virtualenv and the caches (keeps .env and the data)
	rm -rf $(VENV) $(SERVICE)/.pytest_cache $(SERVICE)/.ruff_cache .pytest_cache .ruff_cache
	rm -rf $(CLIENT)/.ruff_cache $(CLIENT)/build $(CLIENT)/src/*.egg-info
	find $(SERVICE) -name __pycache__ -type d -prune -exec rm -rf {} +

# The virtualenv: created only when missing (or broken). --clear also drops stale stamps.
$(VENV)/bin/python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: neither python3.11 nor python3 was found on PATH" >&2; exit 1; \
	fi
	@if ! "$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then \
		echo "error: Python 3.11 or newer is required; $(PYTHON) is $$("$(PYTHON)" -V 2>&1)" >&2; \
		echo "       install python3.11 or run: make PYTHON=/path/to/python3.11 <target>" >&2; exit 1; \
	fi
	"$(PYTHON)" -m venv --clear $(VENV)

$(BASE_STAMP): $(BASE_REQS) | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet -r $(BASE_REQS)
	@touch $@

# dev.txt includes base.txt: a change to either installs again.
$(DEV_STAMP): $(DEV_REQS) $(BASE_STAMP) | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet -r $(DEV_REQS)
	@touch $@

# The client package as its users install it (a copy, not editable): the tests import the installed
# package. pip builds it with setuptools, which it fetches from the package index like any requirement.
$(CLIENT_STAMP): $(CLIENT_FILES) $(BASE_STAMP) | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet ./$(CLIENT)
	@touch $@
