"""The course map: one entry per chapter, and everything that lists chapters reads it.

Adding a chapter is adding an entry here plus its files: the README's and the overview's
course map are rendered from it (`python -m rnnlab.chapters` rewrites both), and the test
suite is parametrised by it (every lecture runs, every assignment is graded, every checks
module is guarded). A chapter whose lecture is None shows as "即将推出".
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

SOON = "即将推出"


@dataclass(frozen=True)
class Chapter:
    number: int
    title: str                       # Markdown, as the course map shows it
    lecture: str | None              # file name under notebooks/
    assignment: str | None           # nbgrader assignment id: source/<id>/<id>.ipynb, rnnlab.checks.<id>
    learns: str                      # "你会弄清楚", one line
    explorers: tuple[str, ...] = ()  # rnnlab.explorers modules the lecture embeds

    @property
    def checks_module(self) -> str | None:
        """The module of this assignment's visible checks (None: no assignment yet)."""
        return f"rnnlab.checks.{self.assignment}" if self.assignment else None


CHAPTERS: tuple[Chapter, ...] = (
    Chapter(1, "`nn.RNNCell` 与时间步循环", "01_rnncell_loop.ipynb", "a1_rnncell",
            "一个时间步算什么；自己写循环；和 `nn.RNN` 完全一致", ("stepper", "module")),
    Chapter(2, "`nn.RNN`", "02_nn_rnn.ipynb", "a2_rnn",
            "`output` 与 `h_n`；多层；`batch_first` 为什么不影响 `h_n`", ("module",)),
    Chapter(3, "LSTM 的形状", "03_lstm_shapes.ipynb", "a3_lstm",
            "为什么 `weight_hh_l0` 是 (400, 100)：4 个门块叠在一起", ("gates", "module")),
    Chapter(4, "GRU", "04_gru.ipynb", "a4_gru",
            "3 个门块（两个门和候选隐状态）；PyTorch 的 GRU 和论文差在哪里", ("gates", "module")),
    Chapter(5, "双向循环神经网络的参数", "05_bidirectional.ipynb", "a5_bidirectional",
            "`_reverse` 参数；`output[-1]` 为什么不是反向的最终隐状态", ("bidirectional", "module")),
)

OVERVIEW = "00_overview.ipynb"


def lectures() -> list[str]:
    """Every lecture notebook of the course, the overview first."""
    return [OVERVIEW] + [c.lecture for c in CHAPTERS if c.lecture]


def assignments() -> list[str]:
    return [c.assignment for c in CHAPTERS if c.assignment]


def checks_modules() -> list[str]:
    """The checks modules that exist (a chapter may list an assignment before its checks land)."""
    return [m for m in (c.checks_module for c in CHAPTERS) if m and importlib.util.find_spec(m)]


def course_map(root: str) -> str:
    """The course map as a Markdown table; `root` is the path from the reader to the repository root."""
    rows = ["| 章 | 讲义 | 作业 | 你会弄清楚 |", "|---|---|---|---|"]
    for c in CHAPTERS:
        lecture = f"[{c.title}]({root}notebooks/{c.lecture})" if c.lecture else f"{c.title}（{SOON}）"
        work = (f"[{c.assignment}]({root}release/{c.assignment}/{c.assignment}.ipynb)"
                if c.assignment else SOON)
        rows.append(f"| {c.number} | {lecture} | {work} | {c.learns} |")
    return "\n".join(rows)


# The map sits between these markers in README.md and in the overview's course-map cell.
BEGIN, END = "<!-- 课程地图：由 python -m rnnlab.chapters 生成 -->", "<!-- 课程地图结束 -->"
_BLOCK = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)


def with_map(text: str, root: str) -> str:
    """`text` with the block between the markers replaced by the current course map."""
    if not _BLOCK.search(text):
        raise ValueError("没有找到课程地图的标记。")
    return _BLOCK.sub(lambda _m: f"{BEGIN}\n{course_map(root)}\n{END}", text)


def write_maps(repo: Path) -> list[Path]:
    """Rewrite the course map in README.md and notebooks/00_overview.ipynb; return the files changed."""
    import nbformat

    changed = []
    readme = repo / "README.md"
    text = readme.read_text(encoding="utf-8")
    if with_map(text, "") != text:
        readme.write_text(with_map(text, ""), encoding="utf-8")
        changed.append(readme)
    path = repo / "notebooks" / OVERVIEW
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if BEGIN in cell.source:
            new = with_map(cell.source, "../")
            if new != cell.source:
                cell.source = new
                nbformat.write(nb, str(path))
                changed.append(path)
    return changed


if __name__ == "__main__":
    for p in write_maps(Path.cwd()):
        print(f"已更新 {p}")
