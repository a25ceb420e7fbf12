"""Figures of chapter 6 (training): loss and accuracy curves, gradient norms over the time steps on a log scale,
a padded batch with the step each reading takes its final state from, and truncated backpropagation through
time over a stream cut into segments.

The curves take plain numbers (lists, tuples, NumPy arrays or 1-D torch tensors): the lecture computes them,
the figures only draw. A label that names a cell (``RNN``, ``GRU``, ``LSTM`` as a word) gets that cell's colour
everywhere (the colour of the block that cell's gate bias lives in: the RNN's single block, GRU's update gate z,
LSTM's forget gate f); a second, third … label of the same cell is drawn dashed, dotted ….
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import matplotlib.pyplot as plt

from rnnlab.figures.drawing import ROLE, arrow, box, check_ax, check_int, described, fit, new_axes, path_arrow
from rnnlab.fonts import setup_cjk_fonts
from rnnlab.palette import DIRECTION, GATE

CELL_COLOUR = {"RNN": GATE["h"], "GRU": GATE["z"], "LSTM": GATE["f"]}
# Lines that name no cell: colours no cell's curve uses (the palette keeps them apart, tests/test_palette.py).
OTHER_COLOURS = (ROLE["memory"], DIRECTION["forward"], ROLE["note"], ROLE["edge"])
LINESTYLES = ("-", "--", ":", "-.")
_CELL_WORD = re.compile(r"(?<![A-Za-z])(LSTM|GRU|RNN)(?![A-Za-z])")


def line_styles(labels) -> dict[str, tuple[str, str]]:
    """{label: (colour, linestyle)}: the cell's colour for a label naming a cell, solid for its first label,
    then dashed, dotted, dash-dotted; labels naming no cell take the other colours in turn, solid."""
    seen: dict[str, int] = {}
    others = 0
    styles = {}
    for label in labels:
        match = _CELL_WORD.search(label)
        if match:
            cell = match.group(1)
            k = seen.get(cell, 0)
            seen[cell] = k + 1
            styles[label] = (CELL_COLOUR[cell], LINESTYLES[k % len(LINESTYLES)])
        else:
            styles[label] = (OTHER_COLOURS[others % len(OTHER_COLOURS)], "-")
            others += 1
    return styles


def _numbers(name: str, values) -> list[float]:
    if isinstance(values, (str, bytes, Mapping)):
        raise ValueError(f"{name} 应当是一列数（列表、元组或一维张量），收到的是 {type(values).__name__}。")
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"{name} 应当是一列数（列表、元组或一维张量），收到的是 {values!r:.60}。") from None
    if not numbers:
        raise ValueError(f"{name} 应当至少有一个数，收到的是空序列。")
    return numbers


def _check_labels(name: str, mapping) -> None:
    if not isinstance(mapping, Mapping) or not mapping:
        raise ValueError(f"{name} 应当是非空的字典 {{图例: 数据}}，收到的是 {mapping!r:.60}。")
    for label in mapping:
        if not isinstance(label, str) or not label:
            raise ValueError(f"{name} 的键（图例）应当是非空字符串，收到的是 {label!r}。")


def _check_title(title) -> None:
    if title is not None and not isinstance(title, str):
        raise ValueError(f"title 应当是字符串或 None，收到的是 {title!r}。")


def draw_training_curves(histories, chance: float | None = None, title: str | None = None):
    """Loss (left) and accuracy (right) against the training step, one line per run.

    ``histories`` is ``{label: {"step": [...], "loss": [...], "accuracy": [...]}}`` with three lists of equal
    length (a NaN loss is drawn as a gap: that is what it looks like). ``chance`` (e.g. 1/8) draws the level of
    guessing: that accuracy, and the loss ln(1/chance) of predicting every class with probability ``chance``.
    Returns the Figure.
    """
    _check_labels("histories", histories)
    _check_title(title)
    if chance is not None and (isinstance(chance, bool) or not isinstance(chance, (int, float))
                               or not 0 < chance < 1):
        raise ValueError(f"chance 应当是 0 到 1 之间的数（随机猜对的概率，例如 1/8）或 None，收到的是 {chance!r}。")
    curves = {}
    for label, history in histories.items():
        if not isinstance(history, Mapping) or not {"step", "loss", "accuracy"} <= set(history):
            raise ValueError(f"histories[{label!r}] 应当是含 'step'、'loss'、'accuracy' 三个键的字典。")
        step, loss, acc = (_numbers(f"histories[{label!r}][{k!r}]", history[k]) for k in ("step", "loss", "accuracy"))
        if not len(step) == len(loss) == len(acc):
            raise ValueError(f"histories[{label!r}] 的 step、loss、accuracy 应当一样长，"
                             f"收到的长度是 {len(step)}、{len(loss)}、{len(acc)}。")
        if any(not 0 <= a <= 1 for a in acc):
            raise ValueError(f"histories[{label!r}]['accuracy'] 应当在 0 到 1 之间。")
        curves[label] = (step, loss, acc)

    setup_cjk_fonts()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10.5, 3.7))
    styles = line_styles(curves)
    for label, (step, loss, acc) in curves.items():
        colour, ls = styles[label]
        ax_loss.plot(step, loss, color=colour, ls=ls, lw=1.8, label=label)
        ax_acc.plot(step, acc, color=colour, ls=ls, lw=1.8, label=label)
    if chance is not None:
        guess = math.log(1 / chance)
        ax_loss.axhline(guess, color=ROLE["note"], ls=(0, (2, 2)), lw=1.1, zorder=0)
        ax_loss.text(0.99, guess, f"随机猜测 ln {1 / chance:.3g} ≈ {guess:.2f}", transform=ax_loss.get_yaxis_transform(),
                     ha="right", va="bottom", fontsize=9, color=ROLE["note"])
        ax_acc.axhline(chance, color=ROLE["note"], ls=(0, (2, 2)), lw=1.1, zorder=0)
        ax_acc.text(0.99, chance, f"随机猜测 {chance:.3g}", transform=ax_acc.get_yaxis_transform(), ha="right",
                    va="bottom", fontsize=9, color=ROLE["note"])
    ax_loss.set_xlabel("训练步数")
    ax_loss.set_ylabel("损失（交叉熵）")
    ax_loss.set_ylim(bottom=0)
    ax_acc.set_xlabel("训练步数")
    ax_acc.set_ylabel("准确率")
    ax_acc.set_ylim(0, 1.04)
    ax_acc.legend(fontsize=9, loc="center right")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    alt = f"折线图{'：' + title if title else ''}。左图是损失，右图是准确率，横轴是训练步数，每条线是一次训练。"
    if chance is not None:
        alt += f"虚线是瞎猜的水平：准确率 {chance:.3g}，损失 ln(1/{chance:.3g}) ≈ {math.log(1 / chance):.2f}。"
    alt += "最后一步：" + "；".join(f"{label} 损失 {loss[-1]:.3g}、准确率 {acc[-1]:.2f}"
                                 for label, (step, loss, acc) in curves.items()) + "。"
    return described(fig, alt)


def draw_gradient_norms(norms, title: str | None = None, ax=None):
    """‖∂损失/∂hₜ‖ against the time step t on a log scale, one line per label.

    ``norms`` is ``{label: [norm at t = 0, 1, …, T-1]}`` with positive finite numbers (a zero cannot be drawn on a
    log scale: it is refused with a message). The loss reads the last step only, so each line starts (on the right)
    from the same kind of number and shows how the gradient shrinks or grows on its way back to t = 0; the factor
    between the last and the first step is printed next to each line. Returns the Figure.
    """
    _check_labels("norms", norms)
    _check_title(title)
    check_ax(ax)
    lines = {}
    for label, values in norms.items():
        numbers = _numbers(f"norms[{label!r}]", values)
        bad = [v for v in numbers if not (math.isfinite(v) and v > 0)]
        if bad:
            raise ValueError(f"norms[{label!r}] 应当全是正的有限数（对数坐标画不了 0、inf 或 NaN），"
                             f"其中有 {bad[0]!r}。")
        lines[label] = numbers
    setup_cjk_fonts()
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(8.5, 4.2))
    fig = ax.figure
    styles = line_styles(lines)
    for label, numbers in lines.items():
        colour, ls = styles[label]
        ax.semilogy(range(len(numbers)), numbers, color=colour, ls=ls, lw=1.9, label=label)
    # The factor between t = 0 and the last step, left of each line; labels that would overlap are spread apart.
    logs = {label: math.log10(numbers[0]) for label, numbers in lines.items()}
    every = [math.log10(v) for numbers in lines.values() for v in numbers]
    gap = 0.045 * max(max(every) - min(every), 1.0)
    placed: list[float] = []
    for label in sorted(logs, key=logs.get):
        y = logs[label] if not placed else max(logs[label], placed[-1] + gap)
        placed.append(y)
        numbers = lines[label]
        ax.text(-0.4, 10 ** y, f"×{numbers[0] / numbers[-1]:.0e}", ha="right", va="center", fontsize=8.5,
                color=styles[label][0])
    longest = max(len(v) for v in lines.values())
    ax.set_xlim(-0.22 * longest, longest - 0.5)
    step = 10 if longest > 20 else (5 if longest > 8 else 1)
    ax.set_xticks(range(0, longest, step))          # no ticks left of t = 0, where the factors are written
    ax.set_xlabel("时间步 t（损失只用到最后一步的隐状态）")
    ax.set_ylabel("‖∂损失/∂hₜ‖（对数坐标）")
    ax.grid(alpha=0.3, which="major")
    ax.legend(fontsize=9, loc="lower right", title="左侧的数：t = 0 处是最后一步的多少倍", title_fontsize=8.5)
    if title:
        ax.set_title(title, fontsize=12)
    if own:
        fig.tight_layout()
    alt = (f"折线图{'：' + title if title else ''}。纵轴是 ‖∂损失/∂hₜ‖（对数坐标），横轴是时间步 t，损失只用到最后一步的隐状态，"
           "每条线从右往左看梯度传回 t = 0 的途中变小还是变大。")
    alt += "；".join(f"{label}：最后一步 {n[-1]:.1e}，t = 0 处 {n[0]:.1e}，是最后一步的 {n[0] / n[-1]:.0e} 倍"
                    for label, n in lines.items()) + "。"
    return described(fig, alt)


def draw_padded_batch(lengths, ax=None):
    """A batch of sequences with these ``lengths`` padded to the longest, batch first: one row per sequence.

    Real steps are blue, padding grey. Each row's own last valid step (where a packed layer's ``h_n`` comes from)
    is outlined in green; the last column, which ``output[:, -1]`` of the padded batch reads for every row, in
    red. Under each column: how many sequences are still running at that step, i.e. the ``batch_sizes`` of the
    packed sequence. Returns the Figure.
    """
    if isinstance(lengths, (str, bytes)) or not hasattr(lengths, "__iter__"):
        raise ValueError(f"lengths 应当是一列 1 到 12 之间的整数，收到的是 {lengths!r}。")
    lengths = list(lengths)
    check_int("序列条数 len(lengths)", len(lengths), 1, 8)
    for n in lengths:
        check_int("lengths 里的每个长度", n, 1, 12)
    fig, ax = new_axes(ax)
    B, T = len(lengths), max(lengths)
    ok, wrong = DIRECTION["forward"], DIRECTION["wrong"]
    cw, ch = 0.9, 0.62
    for b, n in enumerate(lengths):
        y = -b
        ax.text(-0.75, y, f"序列 {b}", ha="right", va="center", fontsize=10.5)
        for t in range(T):
            if t < n:
                box(ax, t, y, cw, ch, f"x[{t}]", ROLE["input"], color="white", size=9.5)
            else:
                box(ax, t, y, cw, ch, "填充", ROLE["future"], edge=ROLE["rule"], color=ROLE["note"], size=9)
        # The step this sequence's final state comes from.
        ax.add_patch(plt.Rectangle((n - 1 - cw / 2 - 0.07, y - ch / 2 - 0.07), cw + 0.14, ch + 0.14, fill=False,
                                   edgecolor=ok, lw=2.4))
        note = f"长度 {n}：h_n 取自 t = {n - 1}"
        if n < T:
            note += f"，output[:, -1] 多读了 {T - n} 个填充"
        ax.text(T - 0.3, y, note, ha="left", va="center", fontsize=9.5, color=ok if n == T else wrong)
    # The column output[:, -1] reads.
    ax.add_patch(plt.Rectangle((T - 1 - cw / 2 - 0.14, -(B - 1) - ch / 2 - 0.14), cw + 0.28, (B - 1) + ch + 0.28,
                               fill=False, edgecolor=wrong, lw=1.8, ls="--"))
    ax.text(T - 1, 0.62, "output[:, -1]", ha="center", va="bottom", fontsize=9.5, color=wrong, family="monospace")
    for t in range(T):
        ax.text(t, 0.45 if t < T - 1 else 1.0, f"t = {t}", ha="center", va="bottom", fontsize=9, color=ROLE["note"])
        ax.text(t, -(B - 1) - 0.75, str(sum(n > t for n in lengths)), ha="center", va="top", fontsize=10.5,
                color=ROLE["edge"])
    ax.text(-0.75, -(B - 1) - 0.75, "batch_sizes", ha="right", va="top", fontsize=9.5, family="monospace")
    ax.text(-0.75, -(B - 1) - 1.25, "打包后每个时间步还在读的序列数", ha="left", va="top", fontsize=9,
            color=ROLE["note"])
    ax.text(-2.1, 1.45, f"补齐后的批量：(B, T) = ({B}, {T})，batch_first=True；绿框是每条序列自己的最后一步", ha="left",
            va="center", fontsize=10.5)
    fit(ax, (-2.2, T + 6.3), (-(B - 1) - 1.7, 1.8), inches_per_unit=0.62)
    sizes = [sum(n > t for n in lengths) for t in range(T)]
    alt = (f"示意图：一个批量的 {B} 条序列，长度分别是 {'、'.join(map(str, lengths))}，补齐到最长的 {T} 步，每行一条序列"
           "（batch_first=True）。真实的时间步是蓝色的 x[t]，填充是灰色；每行自己最后一个有效时间步（打包后 h_n 取自这里）"
           "用绿框标出；补齐后的最后一列，即不打包时 output[:, -1] 读的那一列，用朱红色虚线框标出，"
           "比最长的短的序列在那里读到的是填充。每列下面是这一步还在读的序列数，即打包后的 batch_sizes："
           f"{'、'.join(map(str, sizes))}。")
    return described(fig, alt)


def draw_truncated_bptt(num_segments: int = 3, segment_len: int = 4, ax=None):
    """Truncated backpropagation through time over a stream of ``num_segments * segment_len`` steps.

    Forward (green, below): the hidden state goes from every step to the next, across the cuts too — after
    ``detach()`` its values are unchanged. Backward (orange, above): each segment's loss sends gradients back to
    that segment's first step only; at a cut the gradient stops. Returns the Figure.
    """
    check_int("num_segments", num_segments, 1, 5)
    check_int("segment_len", segment_len, 1, 6)
    fig, ax = new_axes(ax)
    gap = 0.9
    xs = [t + (t // segment_len) * gap for t in range(num_segments * segment_len)]
    y_h, y_x, y_back = 0.0, -1.25, 0.95
    grad = ROLE["highlight"]
    for t, x in enumerate(xs):
        box(ax, x, y_x, 0.72, 0.46, f"x[{t}]", ROLE["input"], color="white", size=9)
        arrow(ax, (x, y_x + 0.24), (x, y_h - 0.27), color=ROLE["input"], lw=1.2)
        box(ax, x, y_h, 0.72, 0.5, "h", ROLE["hidden"], color="white", size=11)
        if t + 1 < len(xs):
            cut = (t + 1) % segment_len == 0
            arrow(ax, (x + 0.37, y_h), (xs[t + 1] - 0.37, y_h), color=ROLE["hidden"], lw=2.2 if cut else 1.6)
    for k in range(num_segments):
        first, last = xs[k * segment_len], xs[(k + 1) * segment_len - 1]
        # The segment's loss, and its gradient running back to the segment's first step only.
        ax.text((first + last) / 2, y_back + 0.95, f"第 {k} 段：loss.backward()", ha="center", va="bottom",
                fontsize=10, color=grad)
        if last > first:
            path_arrow(ax, [(last, y_h + 0.27), (last, y_back), (first, y_back), (first, y_h + 0.27)], color=grad,
                       lw=1.6, ls="--")
        else:
            arrow(ax, (first, y_back), (first, y_h + 0.27), color=grad, lw=1.6, ls="--")
        if k:   # the cut before this segment
            xc = (xs[k * segment_len - 1] + first) / 2
            ax.plot([xc, xc], [y_x - 0.4, y_back + 0.55], color=DIRECTION["wrong"], lw=1.2, ls=":")
            ax.text(xc, y_h + 0.32, "detach()", ha="center", va="bottom", fontsize=9, color=DIRECTION["wrong"],
                    family="monospace", rotation=90)
    ax.text(xs[0] - 0.5, y_x - 0.55, "前向（绿）：隐状态一步接一步传下去，跨过切口也传（detach 不改变数值）", ha="left", va="top",
            fontsize=10, color=ROLE["hidden"])
    ax.text(xs[0] - 0.5, y_x - 1.0, "反向（橙）：每段的梯度只回到本段第一步，在切口处停下", ha="left", va="top", fontsize=10,
            color=grad)
    fit(ax, (xs[0] - 0.7, max(xs[-1] + 0.7, xs[0] + 11.0)), (y_x - 1.45, y_back + 1.45), inches_per_unit=0.7)
    n = num_segments * segment_len
    alt = (f"示意图：截断的通过时间反向传播。一条 {n} 步的数据流切成 {num_segments} 段，每段 {segment_len} 步。"
           "下方的绿色箭头是前向计算：隐状态从每一步传到下一步，也跨过切口（detach() 之后数值不变）；"
           "上方的橙色箭头是反向传播：每段的损失只把梯度传回本段的第一步，在切口处梯度停止。")
    return described(fig, alt)
