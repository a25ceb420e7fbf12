"""Shared paths and helpers for the test suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ helpers (nbtools, course)


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
