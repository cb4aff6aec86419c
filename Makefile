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

.PHONY: install browser lab test lint format notebooks figures benchmarks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lab: install
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --port=$(PORT) \
		--no-browser $(ROOT_FLAG)

# Headless Chromium for the browser test (Debian packages; Playwright's own download
# cannot work offline).
browser:
	@bash scripts/install_browser.sh

# Every test: unit, integration, browser and the lesson notebooks (fast mode) under nbval.
test: install browser
	WHETSTONE_FAST=1 $(PY) -m pytest -q --nbval-lax --nbval-current-env --durations=15

# Re-run every notebook in full mode and store its outputs (what visitors read).
notebooks: install
	$(PY) scripts/execute_notebooks.py

# The README's pictures, and the screenshot of the lab in use (from the browser test).
figures: install browser
	$(PY) scripts/make_figures.py
	WHETSTONE_DOCS_SCREENSHOT=1 $(PY) -m pytest -q -m browser tests/test_browser.py

# Accuracy retention, sharpening overhead, widget latency, spiking inference.
benchmarks: install
	$(PY) benchmarks/sharpening_overhead.py
	$(PY) benchmarks/retention.py
	$(PY) benchmarks/widget_latency.py
	$(PY) benchmarks/spiking_inference.py

lint: install
	$(VENV)/bin/ruff check whetstone_lab tests benchmarks scripts notebooks

format: install
	$(VENV)/bin/ruff format whetstone_lab tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
