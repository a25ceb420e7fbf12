"""学生版的自检（make test）：课程在这台机器上能从头运行到尾。

- 每本讲义在一个新内核里从第一个单元格运行到最后一个，没有任何错误（设置环境变量
  RNNLAB_LECTURE_RUNS=2，就在同一个内核里再运行一遍：学到一半点“全部运行”重来一次，
  也不会因为上一遍留下的变量或文件出错；教师的测试这样运行）；
- 每份作业（还没有写答案的样子）也从头运行到尾：写代码的单元格只定义函数，不出错；
  可见检查因为函数还没有实现而不通过，给出的是中文提示，内核不会崩溃，后面的单元格照常运行。

写了答案之后，作业里的检查单元格会告诉你哪里不对；这里的测试只检查环境和课程文件本身。
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "notebooks").glob("*.ipynb"))
ASSIGNMENTS = sorted((ROOT / "release").glob("*/*.ipynb"))
CJK = re.compile(r"[\u4e00-\u9fff]")


def run(path: Path, allow_errors: bool, runs: int = 1) -> nbformat.NotebookNode:
    """Every cell of `path`, `runs` times over, in one fresh kernel, its folder as the working directory."""
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for _ in range(runs):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
    return nb


def errors(cell) -> list:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def test_the_course_is_here():
    assert LECTURES, "notebooks/ 里没有讲义"
    assert ASSIGNMENTS, "release/ 里没有作业"


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_runs_top_to_bottom(path):
    runs = int(os.environ.get("RNNLAB_LECTURE_RUNS") or 1)
    nb = run(path, allow_errors=False, runs=runs)  # nbclient raises on the first cell that fails
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]  # empty cells are not sent
    if code:  # the kernel counts every cell it ran: the last one's number says how many runs there were
        assert code[-1].execution_count == runs * len(code), f"{path.name} 没有运行 {runs} 遍"


@pytest.mark.parametrize("path", ASSIGNMENTS, ids=lambda p: p.name)
def test_blank_assignment_runs_and_its_checks_answer_in_chinese(path):
    nb = run(path, allow_errors=True)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code if c.source.strip()), "有单元格没有运行（内核崩溃了？）"
    failed_checks = 0
    for cell in code:
        meta = cell.metadata.get("nbgrader", {})
        is_check = meta.get("grade") and not meta.get("solution")
        for out in errors(cell):
            where = meta.get("grade_id") or cell.source[:60]
            assert is_check, f"{path.name} 的单元格 {where} 不该出错：{out['ename']}: {out['evalue']}"
            assert CJK.search(out["evalue"]), f"{where} 的提示不是中文：{out['ename']}: {out['evalue']}"
            failed_checks += 1
    assert failed_checks >= 1, "作业还没有写答案，可见检查却全部通过了"
