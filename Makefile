# Two commands for students (make lab, make test); for instructors make assignments, make syllabus,
# make site, make handouts, make slides (the teacher's kit), make wheelhouse (every wheel a server without internet needs: deploy/README.md) and
# make student-edition (the course without answers, for students: see README).
# Every target creates or updates the virtual environment first when needed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.rnnlab-installed
# Where a CPU-only torch comes from when pip has no local wheel (see README).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PORT   ?= 8888
# make test: xdist workers, one per core this process may use, between 2 and 4.
TEST_JOBS ?= $(shell $(PYTHON) -c 'import os; print(max(2, min(4, len(os.sched_getaffinity(0)))))')
LAB_ARGS ?=
# The course's JupyterLab set-up under share/jupyter: the Chinese UI and no news prompt (settings
# overrides), and the rnnlab-lab extension (a notebook is not marked modified just by opening it).
# `pip install .` (Binder, conda) installs them from pyproject's data-files; an editable install
# does not, so `make env` copies them into the venv.
JUPYTER_FILES := $(shell find share -type f)
# make syllabus [SYLLABUS=build/syllabus]: the syllabus as syllabus.md, .html and .pdf (Chromium prints the PDF).
SYLLABUS ?= build/syllabus
# make student-edition OUT=... BRANCH=student (BRANCH also commits it on that local branch).
OUT    ?= build/student-edition
BRANCH ?=
# make site / handouts / slides: the teacher's kit from the executed lectures (run once, cached in
# build/kit/executed until a lecture or src/rnnlab changes); KaTeX and reveal.js come from
# deploy/kit/node_modules (make kit-assets, pinned in deploy/kit/package-lock.json; no CDN).
SITE     ?= build/site
HANDOUTS ?= build/handouts
SLIDES   ?= build/slides
# make handouts NO_ANSWERS=1: the student version, without the folded answers.
NO_ANSWERS ?=
KIT_ASSETS := deploy/kit/node_modules/.package-lock.json
# make question-bank: the lecture quizzes and teacher/question_bank.toml as Moodle XML, xlsx and CSV.
QBANK  ?= build/question-bank
# make wheelhouse: every wheel a server without internet needs to install the course (deploy/README.md).
WHEELHOUSE ?= build/wheelhouse
# The optional extras it carries, comma-separated: by default every extra of pyproject.toml but `test`.
WHEEL_EXTRAS ?= $(shell $(BIN)/python -c 'import tomllib; print(",".join(e for e in tomllib.load(open("pyproject.toml", "rb"))["project"].get("optional-dependencies", {}) if e != "test"))')
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

.PHONY: env jupyter-files lab test test-fast assignments syllabus question-bank student-edition site handouts slides kit-assets wheelhouse hub hub-proxy bench clean-env

env: $(STAMP)

$(STAMP): pyproject.toml constraints.txt $(JUPYTER_FILES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# torch first: a local wheel if pip is configured with one (its dependencies come with
	@# the next step), else the CPU-only index; a plain `pip install torch` on Linux would
	@# pull several GB of CUDA libraries.
	$(BIN)/python -m pip install --no-index --no-deps torch==2.13.0 \
	  || $(BIN)/python -m pip install torch==2.13.0 --index-url $(TORCH_INDEX)
	$(BIN)/python -m pip install -c constraints.txt -e ".[test,hub,teacher]"
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

# One worker per core (at least 2, at most 4: the suite has been run with 4 at once), one test file each
# at a time (--dist loadfile keeps a file's shared graded class in one worker): the slow files grade,
# run kernels or drive a browser side by side. Files go out slowest first (tests/conftest.py; xdist
# would otherwise start the files with most tests). TEST_JOBS=N: another number of workers.
test: env
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder

# Everything but the end-to-end tests (real nbgrader CLI, real browser): seconds, not minutes.
test-fast: env
	$(BIN)/python -m pytest -m "not e2e"

assignments: env
	$(BIN)/python -m rnnlab.grading regenerate

syllabus: env
	$(BIN)/python -m rnnlab.grading syllabus --out $(SYLLABUS)

question-bank: env
	$(BIN)/python -m rnnlab.grading question-bank --out $(QBANK)

student-edition: env
	$(BIN)/python -m rnnlab.grading student-edition --out $(OUT) $(if $(BRANCH),--branch $(BRANCH))

# KaTeX and reveal.js, pinned in deploy/kit/package-lock.json, from the npm registry into
# deploy/kit/node_modules (Node.js >= 20: Debian's nodejs and npm packages); every output copies them.
kit-assets: $(KIT_ASSETS)

$(KIT_ASSETS): deploy/kit/package.json deploy/kit/package-lock.json
	npm ci --prefix deploy/kit --no-audit --no-fund
	@touch $@

# The offline course website: one page per lecture, course map, search, downloads (build/site).
site: env kit-assets
	$(BIN)/python -m rnnlab.grading site --out $(SITE)

# One PDF per lecture (Chromium prints it with the Chinese fonts embedded); NO_ANSWERS=1 for students.
handouts: env kit-assets
	$(BIN)/python -m rnnlab.grading handouts --out $(HANDOUTS) $(if $(NO_ANSWERS),--no-answers)

# One reveal.js deck per lecture; slide boundaries from the lectures' slide metadata
# (python -m rnnlab.grading slides --mark sets them from the headings).
slides: env kit-assets
	$(BIN)/python -m rnnlab.grading slides --out $(SLIDES)

# The wheels are for the Python that runs pip here (3.11, Linux x86_64, like the servers'): it needs pip,
# not the course installed, so an existing virtual environment will do. A rebuild removes the old wheels.
wheelhouse: $(if $(wildcard $(BIN)/python),,env)
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "make wheelhouse 要在课程的 git 仓库里运行（课程的轮子由 git 管理的文件构建）"; exit 1; }
	mkdir -p $(WHEELHOUSE) && rm -f $(WHEELHOUSE)/*.whl $(WHEELHOUSE)/README.txt $(WHEELHOUSE)/constraints.txt
	@# torch as `make env` gets it: the local CPU wheel, else the CPU-only index (never PyPI's CUDA build).
	$(BIN)/python -m pip download -q --no-index --no-deps -d $(WHEELHOUSE) torch==2.13.0 \
	  || $(BIN)/python -m pip download -q --no-deps --only-binary :all: -d $(WHEELHOUSE) torch==2.13.0 --index-url $(TORCH_INDEX)
	@# The course's wheel, from a copy of the files git knows (edits included): setuptools would also
	@# pack whatever an earlier build left in build/lib, modules since removed among them.
	set -e; src=$$(mktemp -d); trap 'rm -rf "$$src"' EXIT; \
	  git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$$src"; \
	  $(BIN)/python -m pip wheel -q --no-deps -w $(WHEELHOUSE) "$$src"
	@# Every dependency at its pin, torch the CPU wheel above: PyPI's wheel where it has one, else built here.
	$(BIN)/python -m pip wheel -q --prefer-binary -c constraints.txt -w $(WHEELHOUSE) \
	  $(WHEELHOUSE)/torch-*.whl "$$(ls $(WHEELHOUSE)/rnnlab-*.whl)$(if $(WHEEL_EXTRAS),[$(WHEEL_EXTRAS)])"
	@# The pins for another Python too (a marker in constraints.txt: soupsieve for Debian 12's 3.11.2).
	for pin in $$(sed -n 's/^\([^#;]*==[^#; ]*\) *;.*/\1/p' constraints.txt); do \
	  $(BIN)/python -m pip wheel -q --prefer-binary --no-deps -w $(WHEELHOUSE) "$$pin" || exit 1; done
	cp constraints.txt $(WHEELHOUSE)/
	sed 's/@RNNLAB@/rnnlab$(if $(WHEEL_EXTRAS),[$(WHEEL_EXTRAS)])/' deploy/wheelhouse-README.txt > $(WHEELHOUSE)/README.txt
	@if ls $(WHEELHOUSE) | grep -iE '^(nvidia|triton)|cuda'; then echo "错误：上面的轮子是 CUDA 版的，离线服务器只要 CPU 版"; exit 1; fi
	@ls $(WHEELHOUSE)/torch-*+cpu-*.whl >/dev/null 2>&1 || { echo "错误：$(WHEELHOUSE) 里的 torch 不是 CPU 版（文件名里没有 +cpu）"; exit 1; }
	@echo "$(WHEELHOUSE)：$$(ls $(WHEELHOUSE)/*.whl | wc -l) 个轮子，共 $$(du -sh $(WHEELHOUSE) | cut -f1)；安装方法见其中的 README.txt"

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
	$(BIN)/python benchmarks/parallel_autograde.py
	$(BIN)/python benchmarks/training_explorer.py
	$(BIN)/python benchmarks/student_footprint.py
	$(BIN)/python benchmarks/gradebook_throughput.py
	@# As root (real system users and cgroups, like tests/test_hub.py); skipped with a message otherwise.
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/python benchmarks/hub_load.py; else echo "benchmarks/hub_load.py 需要 root（真实的系统用户），跳过"; fi
	@# Last, as long as make test itself: the suite under a /proc sampler, CPU seconds per test file.
	$(BIN)/python benchmarks/suite_cost.py

clean-env:
	rm -rf $(VENV)
