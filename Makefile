# Two commands for students (make lab, make test); for instructors make assignments and
# make student-edition (the course without answers, for students: see README).
# Every target creates or updates the virtual environment first when needed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.rnnlab-installed
# Where a CPU-only torch comes from when pip has no local wheel (see README).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PORT   ?= 8888
LAB_ARGS ?=
# The course's JupyterLab set-up under share/jupyter: the Chinese UI and no news prompt (settings
# overrides), and the rnnlab-lab extension (a notebook is not marked modified just by opening it).
# `pip install .` (Binder, conda) installs them from pyproject's data-files; an editable install
# does not, so `make env` copies them into the venv.
JUPYTER_FILES := $(shell find share -type f)
# make student-edition OUT=... BRANCH=student (BRANCH also commits it on that local branch).
OUT    ?= build/student-edition
BRANCH ?=
# make hub: a trial of the course hub (deploy/hub/, deploy/README.md) on http://127.0.0.1:$(HUB_PORT), as root.
# HUB_GRADER names the shared grader account that runs Formgrader (none for a bare trial); every other
# setting is an environment variable RNNLAB_HUB_* (deploy/README.md).
HUB_PORT  ?= 8000
HUB_STATE ?= $(CURDIR)/build/hub
HUB_GRADER ?= $(RNNLAB_HUB_GRADER_ACCOUNT)
HUB_PROXY := deploy/hub/node_modules/.bin/configurable-http-proxy
# Jupyter refuses to run as root (containers, Binder-like machines) unless told to.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# nbgrader calls `alembic` and starts kernels by name: both must come from the venv.
export PATH := $(BIN):$(PATH)

.PHONY: env jupyter-files lab test test-fast assignments student-edition hub hub-proxy bench clean-env

env: $(STAMP)

$(STAMP): pyproject.toml constraints.txt $(JUPYTER_FILES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# torch first: a local wheel if pip is configured with one (its dependencies come with
	@# the next step), else the CPU-only index; a plain `pip install torch` on Linux would
	@# pull several GB of CUDA libraries.
	$(BIN)/python -m pip install --no-index --no-deps torch==2.13.0 \
	  || $(BIN)/python -m pip install torch==2.13.0 --index-url $(TORCH_INDEX)
	$(BIN)/python -m pip install -c constraints.txt -e ".[test,hub]"
	$(MAKE) --no-print-directory jupyter-files
	@touch $@

# The extension's file names carry a hash of their content: an old build is removed, not left beside.
jupyter-files:
	rm -rf $(VENV)/share/jupyter/labextensions/rnnlab-lab
	cp -R share $(VENV)/

# The course folder is the server's root, so links between lectures and assignments resolve and
# release/ is in the file browser; the overview opens first. LAB_ARGS: more options for the server.
lab: env
	$(BIN)/jupyter lab --port=$(PORT) $(ALLOW_ROOT) --ServerApp.root_dir="$(CURDIR)" $(LAB_ARGS) notebooks/00_overview.ipynb

# Two workers, one test file each at a time (--dist loadfile keeps a file's shared graded class in
# one worker): the slow files grade, run kernels or drive a browser side by side on 2 cores. Files
# go out slowest first (tests/conftest.py; xdist would otherwise start the files with most tests).
test: env
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder

# Everything but the end-to-end tests (real nbgrader CLI, real browser): seconds, not minutes.
test-fast: env
	$(BIN)/python -m pytest -m "not e2e"

assignments: env
	$(BIN)/python -m rnnlab.grading regenerate

student-edition: env
	$(BIN)/python -m rnnlab.grading student-edition --out $(OUT) $(if $(BRANCH),--branch $(BRANCH))

# configurable-http-proxy, pinned in deploy/hub/package-lock.json, from the npm registry into
# deploy/hub/node_modules (Node.js >= 20: Debian's nodejs and npm packages).
hub-proxy: $(HUB_PROXY)

$(HUB_PROXY): deploy/hub/package.json deploy/hub/package-lock.json
	npm ci --prefix deploy/hub --no-audit --no-fund
	@touch $@

# The student edition is built when missing; the hub copies it into each new student's home.
hub: env hub-proxy
	@test -f $(OUT)/.rnnlab-student-edition || $(BIN)/python -m rnnlab.grading student-edition --out $(OUT)
	RNNLAB_HUB_PORT=$(HUB_PORT) RNNLAB_HUB_STATE="$(HUB_STATE)" RNNLAB_HUB_EDITION="$(abspath $(OUT))" \
	  RNNLAB_HUB_GRADER_ACCOUNT="$(HUB_GRADER)" $(BIN)/jupyterhub -f deploy/hub/jupyterhub_config.py

bench: env
	$(BIN)/python benchmarks/notebook_speed.py
	$(BIN)/python benchmarks/explorer_latency.py
	$(BIN)/python benchmarks/autograde_speed.py
	$(BIN)/python benchmarks/sandbox_overhead.py
	$(BIN)/python benchmarks/training_explorer.py

clean-env:
	rm -rf $(VENV)
