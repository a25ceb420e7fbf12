"""Helpers for the in-process tests of the checks modules (tests/test_checks_*.py)."""

from __future__ import annotations

import pytest

from rnnlab.checks.core import CheckFailed


def hint_for(check, fn) -> str:
    """The Chinese message `check(fn)` fails with; it must never print a tensor (an expected value)."""
    with pytest.raises(CheckFailed) as info:
        check(fn)
    msg = str(info.value)
    assert "tensor(" not in msg
    return msg
