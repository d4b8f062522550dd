# The Makefile is the contract: CI calls these same targets.
SHELL := /bin/bash
VENV := .venv
SAM_VENV := .venv-sam
SCAN_VENV := .venv-scan
FUZZ_VENV := .venv-fuzz
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
CHECKOV := $(SCAN_VENV)/bin/checkov
REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Lambda runs python3.13: the virtualenvs use it where this machine has it (on PATH, or under
# pyenv), and fall back to python3 (3.11 or newer) with a notice.
PYTHON313 := $(shell python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null || ls -d $(HOME)/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | tail -n 1)
PYTHON ?= $(or $(PYTHON313),python3)
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
# A virtualenv is made again when the Python to use changes (its stamp names the version).
MADE_WITH := .made-with-python-$(PYTHON_VERSION)

.PHONY: help install run invoke test unit integration lint format typecheck validate scan build openapi bench reliability fuzz fuzz-ci deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

%/$(MADE_WITH):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (Lambda runs 3.13)"; exit 1; }
	@test -n "$(PYTHON313)" || echo "notice: no python3.13 here; $* uses Python $(PYTHON_VERSION) (Lambda runs 3.13), and make build is skipped"
	rm -rf $*
	$(PYTHON) -m venv $*
	$*/bin/python -m pip install -q --upgrade pip==26.3
	touch $@

# The project's virtualenv also holds the client (client/: the agentcore-ecr command and SDK), as a user
# installs it: its own distribution, with its own pinned dependencies.
$(VENV)/.installed: requirements-dev.txt functions/requirements.txt pyproject.toml client/pyproject.toml $(VENV)/$(MADE_WITH)
	$(PY) -m pip install -q -r requirements-dev.txt -e . -e ./client
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt $(SAM_VENV)/$(MADE_WITH)
	$(SAM_VENV)/bin/python -m pip install -q -r requirements-sam.txt
	touch $@

$(SCAN_VENV)/.installed: requirements-scan.txt $(SCAN_VENV)/$(MADE_WITH)
	$(SCAN_VENV)/bin/python -m pip install -q -r requirements-scan.txt
	touch $@

$(FUZZ_VENV)/.installed: requirements-fuzz.txt $(FUZZ_VENV)/$(MADE_WITH)
	$(FUZZ_VENV)/bin/python -m pip install -q -r requirements-fuzz.txt
	touch $@

install: $(VENV)/.installed $(SAM_VENV)/.installed $(SCAN_VENV)/.installed ## Create the virtualenvs (project and client, SAM CLI, checkov)

test: lint typecheck validate scan build unit integration fuzz-ci ## Everything CI runs: lint, types, templates, checkov, sam build, tests, a seeded fuzz pass

unit: $(VENV)/.installed ## The fast lane: tests/unit and tests/property, moto in the test process (random order; PYTEST_ADDOPTS=--randomly-seed=N repeats one)
	$(PY) -m pytest -n 2 tests/unit tests/property

integration: $(VENV)/.installed ## The local stack's lane: tests/integration, each suite against a local stack in its own process
	$(PY) -m pytest -n 2 tests/integration

lint: $(VENV)/.installed ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed ## Apply ruff's fixes and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(VENV)/.installed ## mypy --strict on functions/, client/, local/, tests/ and bench/
	$(VENV)/bin/mypy

validate: $(VENV)/.installed $(SAM_VENV)/.installed ## cfn-lint the templates (and agentcore-cli's, for the tests), sam validate --lint
	$(VENV)/bin/cfn-lint template.yaml functions/agentcore_ecr/templates/repository.yaml tests/agentcore_cli_template.yaml
	$(SAM) validate --lint --region $(REGION)

# Every check applies; a check that does not is skipped in the template, next to the resource, with
# its reason (docs/security.md lists them). Any failed check fails the target.
scan: $(SCAN_VENV)/.installed ## checkov on both templates (CloudFormation and secrets checks); fails on any failed check
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation secrets \
	  -f template.yaml -f functions/agentcore_ecr/templates/repository.yaml

build: $(SAM_VENV)/.installed ## sam build with Lambda's python3.13 (arm64 wheels); skipped without python3.13
	@if test -z "$(PYTHON313)"; then echo "make build: skipped, no python3.13 on this machine"; else \
	  PATH="$(dir $(PYTHON313)):$$PATH" $(SAM) build; fi

openapi: $(VENV)/.installed ## Regenerate openapi.json from the code
	$(PY) -m agentcore_ecr.openapi > openapi.json

run: $(VENV)/.installed ## Start the local stack: API on :$${PORT:-3000}, moto on :$${AWS_PORT:-5000}; AUTH=iam checks SigV4
	$(PY) -m local

invoke: $(VENV)/.installed ## Invoke a function on the running local stack: FUNCTION=<LogicalId> EVENT=<file>
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json"; exit 2; }
	$(PY) -m local.invoke $(FUNCTION) $(EVENT)

bench: $(VENV)/.installed ## Measure the figures against their floors into bench/results.json, render bench/results.md (BENCH_QUICK=1: a short pass; BENCH_ONLY=latency,...: those alone, merged in)
	$(PY) -m bench

reliability: $(VENV)/.installed $(SCAN_VENV)/.installed ## Faults, property tests (thorough), fuzzing, load, checkov; writes docs/reliability.md
	$(PY) -m bench.reliability

fuzz: $(VENV)/.installed $(FUZZ_VENV)/.installed ## schemathesis on the local stack, every phase; writes .local/fuzz-report.json (FUZZ_EXAMPLES= FUZZ_SEED= FUZZ_SECONDS=)
	$(PY) -m tests.fuzz

fuzz-ci: $(VENV)/.installed $(FUZZ_VENV)/.installed ## A short seeded fuzz pass for CI (10 cases an operation and phase)
	$(PY) -m tests.fuzz --ci

deploy: build ## sam build && sam deploy (needs AWS credentials)
	$(SAM) deploy

clean: ## Remove the virtualenvs and build output
	rm -rf $(VENV) $(SAM_VENV) $(SCAN_VENV) $(FUZZ_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
