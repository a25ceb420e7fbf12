"""The grading kernel's guard, on small notebooks run by GuardedExecute in a real kernel.

The guard imports torch, numpy and rnnlab only when the notebook's locked cells name them: a
torch-free assignment (the hub's warm-up) is graded without paying torch's import, and a test
cell that imports torch late is still protected from an answer that patched torch before it.
The course's assignments under hostile answers: test_grading_robustness.py and test_grading_sandbox.py.
"""

from __future__ import annotations

import nbformat
import pytest

from rnnlab.grading.plugins.guarded_execute import GuardedExecute

pytestmark = pytest.mark.e2e  # real kernels


def cell(source: str, *, locked: bool, gid: str, grade: bool = False):
    c = nbformat.v4.new_code_cell(source)
    c.metadata["nbgrader"] = {"schema_version": 3, "grade_id": gid, "locked": locked, "solution": not locked,
                              "grade": grade, **({"points": 1} if grade else {})}
    return c


def run(cells, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # incidents.jsonl goes to the current folder
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = cells
    resources = {"nbgrader": {"assignment": "demo", "student": "s1", "notebook": "demo"}}
    nb, _ = GuardedExecute(sandbox=False, timeout=60).preprocess(nb, resources)
    return nb


def text(c) -> str:
    return "".join(o.get("text", "") for o in c.outputs if o.get("output_type") == "stream")


def errors(c) -> list[str]:
    return [o["ename"] for o in c.outputs if o.get("output_type") == "error"]


# Written so that no locked cell names the heavy modules ("tor" "ch" is one string to Python).
# (rnnlab itself is loaded: the guard lives in it.)
LOADED = 'import sys\nprint(sorted(m for m in ("tor" "ch", "num" "py") if m in sys.modules))'


def test_a_torch_free_notebook_is_graded_without_importing_torch(tmp_path, monkeypatch):
    nb = run([cell("def add(a, b):\n    return a + b", locked=False, gid="answer"),
              cell("assert add(2, 3) == 5\n" + LOADED, locked=True, gid="check", grade=True)], tmp_path, monkeypatch)
    assert not errors(nb.cells[1]) and text(nb.cells[1]).strip() == "[]"


def test_without_torch_the_light_modules_are_still_put_back(tmp_path, monkeypatch):
    patch = "import math, builtins\nmath.isclose = lambda *a, **k: True\nbuiltins.abs = lambda x: 0"
    nb = run([cell("def half(x):\n    return x / 3\n" + patch, locked=False, gid="answer"),
              cell("import math\nassert math.isclose(half(4.0), 2.0), 'half 错了'", locked=True, gid="check",
                   grade=True),
              cell("assert abs(-3) == 3\n" + LOADED, locked=True, gid="check_abs", grade=True)],
             tmp_path, monkeypatch)
    assert errors(nb.cells[1]) == ["AssertionError"]  # the real isclose judged the wrong answer
    assert not errors(nb.cells[2]) and text(nb.cells[2]).strip() == "[]"
    logged = (tmp_path / "grading_incidents.jsonl").read_text(encoding="utf-8")
    assert "math.isclose" in logged and "builtins.abs" in logged


def test_a_test_cell_that_imports_torch_late_is_protected(tmp_path, monkeypatch):
    """No locked cell before the answer imports torch; the answer patches it; the test imports it after."""
    wrong = ("import torch\ntorch.allclose = lambda *a, **k: True\n"
             "def double(t):\n    return t * 3")
    nb = run([cell("def nothing():\n    pass", locked=False, gid="first"),
              cell(wrong, locked=False, gid="answer"),
              cell("import torch\nassert torch.allclose(double(torch.ones(2)), torch.full((2,), 2.0))",
                   locked=True, gid="check", grade=True)], tmp_path, monkeypatch)
    assert errors(nb.cells[2]) == ["AssertionError"]
    assert "torch.allclose" in (tmp_path / "grading_incidents.jsonl").read_text(encoding="utf-8")
