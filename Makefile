# The Makefile is the contract: CI calls these same targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install run invoke test unit lint format typecheck validate openapi bench deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

$(VENV)/.installed: requirements-dev.txt functions/requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==26.3
	$(PY) -m pip install -q -r requirements-dev.txt -e .
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip==26.3
	$(SAM_VENV)/bin/python -m pip install -q -r requirements-sam.txt
	touch $@

install: $(VENV)/.installed $(SAM_VENV)/.installed ## Create the virtualenvs (project, SAM CLI)

test: lint typecheck validate unit ## Everything CI runs: lint, types, templates, tests

unit: $(VENV)/.installed ## The test suites
	$(PY) -m pytest -n 2 tests

lint: $(VENV)/.installed ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed ## Apply ruff's fixes and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(VENV)/.installed ## mypy --strict on functions/ and tests/
	$(VENV)/bin/mypy

validate: $(VENV)/.installed $(SAM_VENV)/.installed ## cfn-lint both templates, sam validate --lint
	$(VENV)/bin/cfn-lint template.yaml functions/agentcore_ecr/templates/repository.yaml
	$(SAM) validate --lint --region $(REGION)

openapi: $(VENV)/.installed ## Regenerate openapi.json from the code
	$(PY) -m agentcore_ecr.openapi > openapi.json

run: $(VENV)/.installed ## Start the local stack: API on :$${PORT:-3000}, moto on :$${AWS_PORT:-5000}
	$(PY) -m local

invoke: $(VENV)/.installed ## Invoke a function on the running local stack: FUNCTION=<LogicalId> EVENT=<file>
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json"; exit 2; }
	$(PY) -m local.invoke $(FUNCTION) $(EVENT)

bench: $(VENV)/.installed ## Benchmarks; writes bench/results.md
	$(PY) -m bench

deploy: $(SAM_VENV)/.installed ## sam build && sam deploy (needs python3.13 and AWS credentials)
	$(SAM) build
	$(SAM) deploy

clean: ## Remove the virtualenvs and build output
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
