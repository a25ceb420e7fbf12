"""Every assignment's answer matrix (tests/answers/<aid>.py) against its visible checks, in process.

The fast half of test_assignments.py: correct styles pass the visible checks, and each mistake
fails its visible check exactly when it is marked caught_by_visible. The check of a solution
cell `g` is rnnlab.checks.<aid>.check_<g>.
"""

from __future__ import annotations

import importlib
import re

import pytest

from conftest import REPO
from matrix import assignment_cells
from nbtools import cell_by_id, read
from rnnlab import chapters
from rnnlab.checks.core import CheckFailed

SOLUTION_MARK = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION\n", re.M)


def answers_of(aid: str):
    return importlib.import_module(f"answers.{aid}")


def check_of(aid: str, grade_id: str):
    """All visible checks of a solution cell, as its visible test cells call them (one may be a
    contract item's own): a function that runs each and returns their messages."""
    source = read(REPO / "source" / aid / f"{aid}.ipynb")
    module = importlib.import_module(f"rnnlab.checks.{aid}")
    names = [n for t in answers_of(aid).TESTS_OF[grade_id] if "visible" in t
             for n in re.findall(r"checks\.(check_\w+)\(", cell_by_id(source, t).source)]
    assert names and names[0] == f"check_{grade_id}", names
    return lambda fn: " ".join(getattr(module, n)(fn) for n in names)


def functions(aid: str, answers: dict[str, str]) -> dict:
    """The assignment's set-up cells, then every solution cell's function: the answer given, else the
    reference (one may call another)."""
    source = read(REPO / "source" / aid / f"{aid}.ipynb")
    ns: dict = {}
    for cell in assignment_cells(REPO, aid):
        if cell.role == "fixed":
            exec(compile(cell.source, f"<set-up of {aid}>", "exec"), ns)
    for gid in answers_of(aid).TESTS_OF:
        code = answers.get(gid, SOLUTION_MARK.sub("", cell_by_id(source, gid).source))
        exec(compile(code, f"<answer {gid}>", "exec"), ns)
    return ns


def _cases(kind: str) -> list:
    return [pytest.param(aid, name, id=f"{aid}-{name}")
            for aid in chapters.assignments() for name in sorted(getattr(answers_of(aid), kind))]


@pytest.mark.parametrize("aid", chapters.assignments())
def test_the_reference_passes_the_visible_checks(aid):
    ns = functions(aid, {})
    for gid in answers_of(aid).TESTS_OF:
        assert "通过" in check_of(aid, gid)(ns[gid])


@pytest.mark.parametrize("aid, name", _cases("CORRECT"))
def test_correct_answers_pass_the_visible_checks(aid, name):
    answers = answers_of(aid).CORRECT[name]
    ns = functions(aid, answers)
    for gid in answers:
        assert "通过" in check_of(aid, gid)(ns[gid])


@pytest.mark.parametrize("aid, name", _cases("WRONG"))
def test_the_visible_check_catches_what_it_can_see(aid, name):
    gid, code, caught = answers_of(aid).WRONG[name]
    fn = functions(aid, {gid: code})[gid]
    if caught:
        with pytest.raises(CheckFailed):
            check_of(aid, gid)(fn)
    else:
        assert "通过" in check_of(aid, gid)(fn)


@pytest.mark.parametrize("aid", chapters.assignments())
def test_global_switches_left_by_a_cell_do_not_fail_a_right_answer(aid):
    """Gradients off, another default dtype, the meta device: set in some earlier cell, they are no
    mistake of the function checked (each check runs in torch's default state), and are left as they were."""
    import torch

    ns = functions(aid, {})
    try:
        torch.set_grad_enabled(False)
        torch.set_default_dtype(torch.float64)
        torch.set_default_device("meta")
        for gid in answers_of(aid).TESTS_OF:
            assert "通过" in check_of(aid, gid)(ns[gid])
        assert not torch.is_grad_enabled() and torch.get_default_dtype() == torch.float64
        assert torch.empty(1).device.type == "meta"
    finally:
        torch.set_default_device(None)
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)
