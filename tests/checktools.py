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


def checks_named(module, prefixes: tuple[str, ...]) -> list[str]:
    """The names of a checks module's visible checks that start with one of `prefixes`."""
    names = [n for n in dir(module) if n.startswith(prefixes) and callable(getattr(module, n))]
    assert names, f"{module.__name__} has no check starting with {prefixes}"
    return names


def assert_each_reports_not_implemented(module, prefixes: tuple[str, ...]) -> None:
    """Every visible check (one per contract item) says 还没有实现 when given the release's stub."""
    def stub(*a, **k):
        raise NotImplementedError()
    for name in checks_named(module, prefixes):
        assert "还没有实现" in hint_for(getattr(module, name), stub), name
