"""Shared paths and helpers for the test suite."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
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


def pytest_unconfigure(config):
    if _RUN_TMP and not hasattr(config, "workerinput"):
        shutil.rmtree(_RUN_TMP, ignore_errors=True)


# Modules that start kernels, the real nbgrader CLI or a real browser: marked e2e as a whole,
# so that `pytest -m "not e2e"` (make test-fast) runs the in-process tests alone in seconds.
E2E_MODULES = {"test_assignments", "test_browser", "test_grading_pipeline", "test_grading_robustness",
               "test_grading_sandbox", "test_instructor_cli", "test_notebooks"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__ in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)


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
