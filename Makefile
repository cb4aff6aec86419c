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

.PHONY: install install-lab doctor site slides browser lab test test-torch lint format notebooks figures benchmarks paper interop wheelhouse clean

LAB_STAMP := $(VENV)/.installed-lab

# The full install (`make test`): the lessons' `lab` extra, test runners, lint, browser driver, JAX.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The participants' install (`make lab`): the package and its `lab` extra only.
$(LAB_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[lab]"
	touch $(LAB_STAMP)

install: $(STAMP)

install-lab: $(LAB_STAMP)

# Pre-flight check of a laptop (under a minute): versions, backend, widgets, datasets, a tiny
# sharpen-and-deploy run; one screen, a fix for each failure.
doctor: install-lab
	$(PY) -m whetstone_lab.doctor

lab: install-lab
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --port=$(PORT) \
		--no-browser $(ROOT_FLAG)

# Headless Chromium for the browser test (Debian packages; Playwright's own download
# cannot work offline).
browser:
	@bash scripts/install_browser.sh

# Every test: unit, integration, browser and the lesson notebooks (fast mode) under nbval on
# TensorFlow, then the unit and integration suites again on JAX (KERAS_BACKEND=jax). The JAX
# run leaves out what no backend changes: lint, the architecture and notebook-metadata checks,
# the datasets (no Keras), the browser.
# Two workers (pytest-xdist): each test module and each lesson runs whole in one worker,
# longest first (tests/conftest.py orders them), so both cores are busy; WORKERS=0 runs
# everything in this one process.
WORKERS ?= 2
PARALLEL := -n $(WORKERS) --dist loadscope --no-loadscope-reorder
BACKEND_TESTS := -p no:nbval tests -m "not browser" --ignore=tests/test_browser.py
test: install browser
	WHETSTONE_FAST=1 $(PY) -m pytest -q $(PARALLEL) --nbval-lax --nbval-current-env --durations=15
	KERAS_BACKEND=jax WHETSTONE_FAST=1 $(PY) -m pytest -q $(PARALLEL) $(BACKEND_TESTS) --durations=10 \
		--ignore=tests/test_lint.py --ignore=tests/test_architecture.py \
		--ignore=tests/test_notebooks_meta.py --ignore=tests/test_data.py --ignore=tests/test_site.py \
		--ignore=tests/test_stored_outputs.py

# Opt-in: the unit and integration suites on PyTorch (KERAS_BACKEND=torch) in their own
# virtualenv. The default Linux torch wheel brings CUDA (several GB); name a CPU-only torch
# build with TORCH_SPEC (a pip requirement, with the index option that finds that build).
TORCH_VENV ?= .venv-torch
TORCH_SPEC ?= torch
$(TORCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TORCH_VENV)/bin/python -m pip install --quiet $(TORCH_SPEC)
	$(TORCH_VENV)/bin/python -m pip install --quiet -e ".[test,torch]"
	touch $@

test-torch: $(TORCH_VENV)/.installed
	KERAS_BACKEND=torch WHETSTONE_FAST=1 $(TORCH_VENV)/bin/python -m pytest -q $(BACKEND_TESTS) \
		--durations=10 --ignore=tests/test_lint.py --ignore=tests/test_architecture.py \
		--ignore=tests/test_notebooks_meta.py --ignore=tests/test_data.py --ignore=tests/test_site.py \
		--ignore=tests/test_stored_outputs.py

# Re-run every notebook in full mode and store its outputs (what visitors read), its numbers
# (notebooks/results.json) and timings (notebooks/timings.json); then fill the prose's numbers.
notebooks: install
	$(PY) scripts/execute_notebooks.py
	$(PY) scripts/lesson_numbers.py

# Every wheel an install needs, for installing later with no network (notebooks/README.md):
# pip install --no-index --find-links wheelhouse -e ".[test]". Build it on the platform of
# the machines that will use it.
WHEELHOUSE ?= wheelhouse
wheelhouse: install
	$(PY) -m pip wheel --wheel-dir $(WHEELHOUSE) ".[test]" pip setuptools wheel

# The course website in _build/html (open _build/html/index.html): the README, the lessons
# from their stored outputs (never executed), the workshop kit, the design note, the paper
# table, the benchmark reports and the API reference; offline, warnings are errors.
site: install
	$(PY) -m sphinx -b html -W --keep-going -q -d _build/doctrees -c docs/site . _build/html

# A short slide deck (docs/slides.pdf) from the lessons' stored figures and results.json.
slides: install-lab
	$(PY) scripts/make_slides.py

# The README's pictures, and the screenshot of the lab in use (from the browser test).
figures: install browser
	$(PY) scripts/make_figures.py
	WHETSTONE_DOCS_SCREENSHOT=1 $(PY) -m pytest -q -m browser tests/test_browser.py

# Lists every benchmark with its expected time (each one's last full run, read from
# benchmarks/results/ by benchmarks/common.py) and runs, shortest first, those that fit
# together in 30 minutes; each writes its results JSON and renders its report from it.
benchmarks: install
	@$(PY) benchmarks/common.py list
	@for name in $$($(PY) benchmarks/common.py fits); do \
		echo "== $$name"; $(PY) benchmarks/common.py run $$name || exit 1; done

# One benchmark by name, with its arguments for a full run: make benchmark NAME=retention
benchmark: install
	$(PY) benchmarks/common.py run $(NAME)

# Opt-in: the method at the paper's scale (benchmarks/results/paper_scale.md). Needs MNIST in
# the data folder (data/README.md; WHETSTONE_DATA=/path/to/mnist), and says so in one line
# otherwise. Every (network, seed) is kept as it finishes; run again to go on.
paper: install
	$(PY) benchmarks/paper_scale.py all

# Opt-in, not part of `make test`: export the lesson networks to NIR and load them into
# snnTorch and Norse (torch) and Spyx (JAX), each in its own virtualenv. torch is installed
# first, as TORCH_SPEC names it (above): name a CPU-only build there, or the default CUDA build
# (several GB) comes in; the toolchains are then installed with that torch held (Norse needs
# torchvision, whose newest release would replace it).
INTEROP_VENV ?= .venv-interop
SPYX_VENV    ?= .venv-spyx

$(INTEROP_VENV)/.installed: benchmarks/requirements-interop.txt
	$(PYTHON) -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(INTEROP_VENV)/bin/python -m pip install --quiet $(TORCH_SPEC)
	$(INTEROP_VENV)/bin/python -m pip install --quiet -r benchmarks/requirements-interop.txt \
		"torch==$$($(INTEROP_VENV)/bin/python -c 'import importlib.metadata as m; print(m.version("torch"))')"
	touch $@

$(SPYX_VENV)/.installed: benchmarks/requirements-spyx.txt
	$(PYTHON) -m venv $(SPYX_VENV)
	$(SPYX_VENV)/bin/python -m pip install --quiet -r benchmarks/requirements-spyx.txt
	touch $@

interop: install $(INTEROP_VENV)/.installed
	$(MAKE) $(SPYX_VENV)/.installed || echo "Spyx did not install; interop.py reports it as missing."
	$(PY) benchmarks/interop.py --torch-python $(INTEROP_VENV)/bin/python \
		--spyx-python $(SPYX_VENV)/bin/python

lint: install
	$(VENV)/bin/ruff check whetstone_lab tests benchmarks scripts notebooks docs

format: install
	$(VENV)/bin/ruff format whetstone_lab tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
