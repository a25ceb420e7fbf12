"""Grade many answer sets to one assignment in ONE kernel, with the source's real tests.

The source notebook's cells run in order (set-up, visible and hidden tests as written);
each solution cell is replaced by the answer under test. Between answer sets the kernel's
namespace is reset, so a set costs only its own cells, not a kernel start and a torch import.
What a real `nbgrader autograde` adds on top (sandbox, cell restoring, gradebook) is tested
by a few real submissions in test_grading_pipeline.py.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import start_new_kernel

from course import SOLUTION_RE
from nbtools import read

CELL_TIMEOUT = 60
RESET = ("def _reset(ns=get_ipython().user_ns, keep=get_ipython().user_ns_hidden):\n"
         "    for name in [n for n in ns if n not in keep]:\n"
         "        del ns[name]\n"
         "_reset()\n")


@dataclass
class Cell:
    grade_id: str | None
    role: str      # "solution", "test" (autograded) or "fixed" (set-up and other locked code)
    source: str


def assignment_cells(repo: Path, aid: str) -> list[Cell]:
    cells = []
    for c in read(repo / "source" / aid / f"{aid}.ipynb").cells:
        if c.cell_type != "code":
            continue
        meta = c.metadata.get("nbgrader", {})
        role = "solution" if meta.get("solution") else "test" if meta.get("grade") else "fixed"
        cells.append(Cell(meta.get("grade_id"), role, c.source))
    return cells


def stubs(repo: Path, aid: str) -> dict[str, str]:
    """The released (blank) solution cells: what a student starts from."""
    nb = read(repo / "release" / aid / f"{aid}.ipynb")
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


class Grader:
    """One kernel for one assignment; `grade(answers)` -> {test grade_id: error text or None}."""

    def __init__(self, repo: Path, aid: str):
        self.cells = assignment_cells(repo, aid)
        self.blank = stubs(repo, aid)
        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(repo / "source" / aid))

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def _run(self, code: str) -> str | None:
        """Run code; None if it succeeded, else 'EName: message' (also for a timeout)."""
        errors = []

        def hook(msg):
            if msg["msg_type"] == "error":
                errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

        try:
            reply = self.kc.execute_interactive(code, timeout=CELL_TIMEOUT, output_hook=hook, store_history=False)
        except (TimeoutError, queue.Empty):
            self.km.interrupt_kernel()
            return f"Timeout: 单元格超过 {CELL_TIMEOUT} 秒"
        if reply["content"]["status"] == "ok":
            return None
        return errors[0] if errors else f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}"

    def grade(self, answers: dict[str, str | None], reference: dict[str, str | None] | None = None
              ) -> dict[str, str | None]:
        """answers: solution grade_id -> code (None: the blank release stub; absent: the reference).

        With `reference` (the reference answer's results), the test cells before the first solution
        cell the answers change are not run again: they run after the same cells as the reference's
        did (tests are seeded), so their results are the reference's. A test cell that needed a name
        from a skipped one would fail loudly (NameError), never pass by mistake.
        """
        first_changed = next((i for i, c in enumerate(self.cells) if c.role == "solution" and c.grade_id in answers),
                             len(self.cells))
        # Every name the previous set defined goes (like %reset, without its full garbage collection, which
        # costs a third of a second a set); torch's global switches are reset too: one answer set must not
        # leave them to the next.
        assert self._run(RESET) is None
        assert self._run("import torch\ntorch.set_grad_enabled(True)\ntorch.set_default_dtype(torch.float32)\n"
                         "torch.set_default_device(None)\ndel torch") is None
        results = {}
        for index, cell in enumerate(self.cells):
            if cell.role == "test" and reference is not None and index < first_changed:
                results[cell.grade_id] = reference[cell.grade_id]
            elif cell.role == "solution":
                code = answers.get(cell.grade_id, ...)
                if code is ...:
                    code = SOLUTION_RE.sub(lambda m: m.group(1), cell.source)
                elif code is None:
                    code = self.blank[cell.grade_id]
                self._run(code)
            elif cell.role == "test":
                results[cell.grade_id] = self._run(cell.source)
            else:
                error = self._run(cell.source)
                assert error is None, f"作业的固定单元格出错：{error}"
        assert self.km.is_alive(), "内核在批改答案时退出了"
        return results
