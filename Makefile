# ACO Sync. `make demo` and `make test` work on a fresh machine (they create .venv/ themselves).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
SAM := $(TOOLS)/sam/bin/sam
CHECKOV := $(TOOLS)/checkov/bin/checkov
# Versions of the stand-alone tools (their dependency trees clash with the project's, so each has
# its own virtualenv). Project and runtime pins: pyproject.toml and layers/common/requirements.txt.
SAM_CLI_VERSION := 1.170.0
CHECKOV_VERSION := 3.3.30
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: venv tools demo test test-fast lint bench clean

$(VENV)/.installed: pyproject.toml layers/common/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

$(SAM):
	$(PYTHON) -m venv $(TOOLS)/sam
	$(TOOLS)/sam/bin/pip install -q aws-sam-cli==$(SAM_CLI_VERSION)

$(CHECKOV):
	$(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/pip install -q checkov==$(CHECKOV_VERSION)

tools: $(SAM) $(CHECKOV)

demo: venv
	$(VENV)/bin/aco-sync demo

lint: venv tools
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --template template.yaml
	$(CHECKOV) -f template.yaml --framework cloudformation --config-file .checkov.yaml --quiet --compact

test: lint
	$(PY) -m pytest

test-fast: venv
	$(PY) -m pytest -x -q -m "not slow"

bench: venv
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .aws-sam
