"""Helpers for the in-process tests of the checks modules (tests/test_checks_*.py), and for the oracles' own
tests (what asking torch costs a fresh kernel)."""

from __future__ import annotations

import subprocess
import sys

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


def in_a_fresh_interpreter(imports: str, expression: str) -> tuple[str, bool, bool]:
    """`expression` evaluated in a new Python, as in a student's new kernel: its repr, whether torch's global
    generator was left where it was, and whether sympy got imported (about a second of CPU there)."""
    code = (f"import sys, torch\n{imports}\n"
            "torch.manual_seed(3); drawn = torch.rand(2); torch.manual_seed(3)\n"
            f"value = {expression}\n"
            "print(repr(value)); print(torch.equal(torch.rand(2), drawn)); print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    value, untouched, sympy = out.splitlines()[-3:]
    return value, untouched == "True", sympy == "True"
