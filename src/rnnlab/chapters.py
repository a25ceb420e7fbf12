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
    builds_on: str = ""              # what it takes from earlier chapters, one line
    objectives: tuple[str, ...] = ()  # "学完这一章，你能……", each testable
    # Minutes for the lecture and for the assignment: reading at about 300 characters a minute, one
    # minute a code cell; 20 minutes a function to write, 15 a written question
    # (tests/test_notebooks.py keeps them within a quarter of that estimate).
    minutes: tuple[int, int] = (0, 0)

    @property
    def checks_module(self) -> str | None:
        """The module of this assignment's visible checks (None: no assignment yet)."""
        return f"rnnlab.checks.{self.assignment}" if self.assignment else None


CHAPTERS: tuple[Chapter, ...] = (
    Chapter(1, "`nn.RNNCell` 与时间步循环", "01_rnncell_loop.ipynb", "a1_rnncell",
            "一个时间步算什么；自己写循环；`nn.RNN` 做的就是这个循环", ("stepper", "module"),
            builds_on="只需要张量运算、矩阵乘法和自动求导",
            objectives=("写出 `nn.RNNCell` 一个时间步的公式，说出每个参数的形状和它为什么是这个形状",
                        "说明 PyTorch 为什么算 $\\mathbf{x}\\mathbf{W}^\\top$（权重按 (输出, 输入) 存放）",
                        "用单元在时间步上循环，得到整条序列的隐状态，并用代码证明 `nn.RNN` 算的正是这个循环（连梯度都一样）"),
            minutes=(60, 80)),
    Chapter(2, "`nn.RNN`", "02_nn_rnn.ipynb", "a2_rnn",
            "`output` 与 `h_n`；多层；`batch_first` 为什么不影响 `h_n`", ("module",),
            builds_on="第 1 章的单元循环（`nn.RNN` 的每一层就是它）",
            objectives=("区分 `output`（最上面一层每个时间步的隐状态）和 `h_n`（每层、每个方向读完整条序列后的隐状态）",
                        "推出多层、`batch_first` 时每个参数和张量的形状，说明 `batch_first` 为什么不影响 `h_0` 和 `h_n`",
                        "逐层复现多层 `nn.RNN`：下一层读入的是上一层的 `output`，不是 `x`"),
            minutes=(75, 65)),
    Chapter(3, "LSTM 的形状", "03_lstm_shapes.ipynb", "a3_lstm",
            "为什么 `weight_hh_l0` 是 (400, 100)：4 个门块叠在一起", ("gates", "module"),
            builds_on="第 2 章的形状规律（LSTM 多了记忆元，权重多了门块）",
            objectives=("说出输入门、遗忘门、输出门和候选记忆元各算什么，记忆元为什么能把信息留得更久",
                        "从 4 个门块推出 `weight_ih_l0`、`weight_hh_l0` 和偏置的形状，并按 PyTorch 的次序 i、f、g、o 拆开",
                        "写出 `nn.LSTMCell` 的一个时间步；说出 `proj_size` 改变了哪些形状"),
            minutes=(75, 105)),
    Chapter(4, "GRU", "04_gru.ipynb", "a4_gru",
            "3 个门块（两个门和候选隐状态）；PyTorch 的 GRU 和论文差在哪里", ("gates", "module"),
            builds_on="第 3 章的门块（GRU 有 3 个门块，没有记忆元）",
            objectives=("说出重置门、更新门和候选隐状态的作用，以及 PyTorch 的存放次序 r、z、n",
                        "写出 PyTorch 版 GRU 的一个时间步，说出它和论文（及《动手学深度学习》）的写法差在哪里"),
            minutes=(70, 85)),
    Chapter(5, "双向循环神经网络的参数", "05_bidirectional.ipynb", "a5_bidirectional",
            "`_reverse` 参数；`output[-1]` 为什么不是反向的最终隐状态", ("bidirectional", "module"),
            builds_on="第 2-4 章的任意一种循环层（双向就是再加一个从后往前读的方向）",
            objectives=("说出双向、多层模块的全部参数名（带 `_reverse` 的一组）和形状，以及 `h_n` 的行怎样按层和方向排列",
                        "解释 `output[-1]` 的后一半为什么不是反向的最终隐状态，给序列分类时应该取什么",
                        "用 `pack_padded_sequence` 让长短不一的序列各自读到自己的最后一个时间步"),
            minutes=(85, 110)),
    Chapter(6, "训练循环神经网络", "06_training.ipynb", "a6_training",
            "门为什么有用（训练给你看）；填充与打包；截断时断开隐状态；梯度裁剪", ("training",),
            builds_on="第 2-5 章的循环层、`h_n` 的排列和 `pack_padded_sequence`",
            objectives=("用训练结果说明：答案远在 T 步之前时，`nn.RNN` 的梯度随时间步指数衰减、学不会，门打开的 GRU、LSTM 学得会",
                        "在补齐的批量上只对有效位置求损失，从 `output` 或打包后的 `h_n` 取每条序列自己最后一个时间步的结果",
                        "截断通过时间反向传播时断开隐状态（LSTM 的 `(h, c)` 两个都要），说出不断开会发生什么",
                        "按“清零、反向传播、裁剪、更新”的顺序写一步训练，读懂 `clip_grad_norm_` 返回的范数，从日志诊断 nan"),
            minutes=(90, 135)),
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


def study_path() -> str:
    """The overview's 学习路线: per chapter, its time, what it builds on and its objectives."""
    out = []
    for c in CHAPTERS:
        if not c.lecture:
            continue
        lecture, work = c.minutes
        out.append(f"**第 {c.number} 章 {c.title}**（讲义约 {lecture} 分钟，作业约 {work} 分钟）。"
                   f"基础：{c.builds_on}。学完之后，你能：\n")
        out += [f"- {o}" for o in c.objectives]
        out.append("")
    total = sum(sum(c.minutes) for c in CHAPTERS)
    out.append(f"合计约 {total / 60:.0f} 小时。时间按每分钟读约 300 字、每个代码单元格约 1 分钟、"
               "每个要写的函数约 20 分钟、每道简答题约 15 分钟估算，因人而异。")
    return "\n".join(out)


PATH_BEGIN, PATH_END = "<!-- 学习路线：由 python -m rnnlab.chapters 生成 -->", "<!-- 学习路线结束 -->"
_PATH_BLOCK = re.compile(re.escape(PATH_BEGIN) + r".*?" + re.escape(PATH_END), re.S)


# The map sits between these markers in README.md and in the overview's course-map cell.
BEGIN, END = "<!-- 课程地图：由 python -m rnnlab.chapters 生成 -->", "<!-- 课程地图结束 -->"
_BLOCK = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)


def with_map(text: str, root: str) -> str:
    """`text` with the block between the markers replaced by the current course map."""
    if not _BLOCK.search(text):
        raise ValueError("没有找到课程地图的标记。")
    return _BLOCK.sub(lambda _m: f"{BEGIN}\n{course_map(root)}\n{END}", text)


def write_maps(repo: Path) -> list[Path]:
    """Rewrite the course map in README.md and notebooks/00_overview.ipynb, and the overview's
    study path; return the files changed."""
    import nbformat

    changed = []
    readme = repo / "README.md"
    text = readme.read_text(encoding="utf-8")
    if with_map(text, "") != text:
        readme.write_text(with_map(text, ""), encoding="utf-8")
        changed.append(readme)
    path = repo / "notebooks" / OVERVIEW
    nb = nbformat.read(str(path), as_version=4)
    before = [cell.source for cell in nb.cells]
    for cell in nb.cells:
        if BEGIN in cell.source:
            cell.source = with_map(cell.source, "../")
        if PATH_BEGIN in cell.source:
            cell.source = _PATH_BLOCK.sub(lambda _m: f"{PATH_BEGIN}\n{study_path()}\n{PATH_END}", cell.source)
    if [cell.source for cell in nb.cells] != before:
        nbformat.write(nb, str(path))
        changed.append(path)
    return changed


if __name__ == "__main__":
    for p in write_maps(Path.cwd()):
        print(f"已更新 {p}")
