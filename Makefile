# whetstone_lab — two commands do all the set-up:  `make lab`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8888
export TF_CPP_MIN_LOG_LEVEL := 3
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# JupyterLab refuses to run as root unless told so explicitly.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install lab test test-fast lint format notebooks figures benchmarks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lab: install
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --port=$(PORT) \
		--no-browser $(ROOT_FLAG)

# Every test: unit, integration and the lesson notebooks (fast mode) under nbval.
test: install
	WHETSTONE_FAST=1 $(PY) -m pytest -q --nbval-lax --nbval-current-env

lint: install
	$(VENV)/bin/ruff check whetstone_lab tests benchmarks notebooks

format: install
	$(VENV)/bin/ruff format whetstone_lab tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
