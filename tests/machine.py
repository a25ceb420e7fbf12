"""Tests that need a system tool (chromium, bubblewrap): skipped where it is missing, except
under CI (CI=true), where a missing tool is a failure: CI installs them (.ci/run)."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(what: str, missing: str | None) -> None:
    """Skip (or fail under CI) the tests of `what` when `missing` says why they cannot run."""
    if missing is None:
        return
    if in_ci():
        pytest.fail(f"CI 中{what}不允许跳过：{missing}", pytrace=False)
    pytest.skip(f"{what}已跳过：{missing}")
