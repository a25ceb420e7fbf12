"""Shared paths and helpers for the test suite."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ helpers (nbtools, course)

_RUN_TMP: str | None = None


def pytest_configure(config):
    """Each test run gets its own temporary folder (TMPDIR), removed at the end.

    Grading leaves kernel socket folders and course copies in the temporary folder: a test
    that looks for leftovers then sees only its own run's, never another run's on the machine.
    """
    global _RUN_TMP
    if _RUN_TMP is None and not hasattr(config, "workerinput"):
        _RUN_TMP = tempfile.mkdtemp(prefix="rnnlab-test-")
        os.environ["TMPDIR"] = _RUN_TMP
        tempfile.tempdir = _RUN_TMP
        # `make test` runs a worker per core (two here), and every kernel they start (grading, lectures,
        # JupyterLab) inherits this: torch's default of one thread per core would have each kernel spin
        # against the other worker (measured: the a6 answer matrix took twice as long beside a busy core).
        os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_unconfigure(config):
    if _RUN_TMP and not hasattr(config, "workerinput"):
        shutil.rmtree(_RUN_TMP, ignore_errors=True)


# Modules that start kernels, the real nbgrader CLI or a real browser: marked e2e as a whole,
# so that `pytest -m "not e2e"` (make test-fast) runs the in-process tests alone in seconds.
E2E_MODULES = {"test_assignments", "test_browser", "test_grading_pipeline", "test_grading_robustness",
               "test_grading_sandbox", "test_instructor_cli", "test_training_lecture",
               "test_gradebook_postgres", "test_explorers_training", "test_wheelhouse", "test_hub",
               "test_teacher_kit"}


# The slowest files first (`make test` passes --no-loadscope-reorder so that xdist hands files out in
# this order): the last file to start is a fast one, and no worker idles at the end while the other
# finishes a long one. The first two files: one builds the regenerated course every grading test
# copies, the other needs none, so no worker waits for the course at the start.
SLOWEST_FIRST = ("test_parallel_autograde",   # builds the shared regenerated course first (about 80 s)
                 "test_assignments",          # needs no course: the other worker's first file
                 "test_hub",                  # a real JupyterHub, a class of 4, then 40 at once (about 3.5 min)
                 "test_grading_pipeline",
                 "test_grading_robustness",
                 "test_browser",
                 "test_training_lecture",
                 "test_wheelhouse",           # about 55 s alone: make wheelhouse, then a real offline install
                 "test_student_edition",
                 "test_gradebook_postgres",
                 "test_feedback",
                 # Site, PDFs, decks (about 40 s): late, so that test_browser has run the lectures it takes.
                 "test_teacher_kit",
                 "test_instructor_week",
                 "test_grading_sandbox",
                 "test_explorers_training",
                 "test_student_first_hour",
                 "test_instructor_cli")       # the rest take seconds


# benchmarks/suite_cost.py charges every process to the test file its worker was running: it names a
# file here (RNNLAB_TEST_TIMELINE), and each worker adds a line when a test starts.
TIMELINE = os.environ.get("RNNLAB_TEST_TIMELINE")


def pytest_runtest_setup(item):
    if TIMELINE:
        with open(TIMELINE, "a", encoding="utf-8") as f:
            f.write(json.dumps({"pid": os.getpid(), "t": time.time(), "file": item.module.__name__}) + "\n")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__ in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__, len(rank)))  # stable: a file's tests keep their order


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def _sandbox_note() -> str | None:
    from course import sandbox_missing

    why = sandbox_missing()
    return f"没有沙箱：批改测试在沙箱外运行，tests/test_grading_sandbox.py 已跳过。原因：{why}" if why else None


def pytest_report_header(config):
    return _sandbox_note() or "批改测试在 bubblewrap 沙箱中运行。"


def pytest_terminal_summary(terminalreporter):
    note = _sandbox_note()
    if note:
        terminalreporter.write_line(note, yellow=True)
