"""The course's diagrams, drawn with matplotlib: one function per figure, one palette,
Chinese labels, the same symbols everywhere (x_t, h_t, W_ih, W_hh).

A label never mixes Chinese with $math$: mathtext draws the whole string with its own
font, which has no Chinese glyphs. Mixed labels use Unicode subscripts (xₜ, hₜ₋₁).
"""

from __future__ import annotations


import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from rnnlab.fonts import setup_cjk_fonts

PALETTE = {
    "input": "#4c72b0",    # x_t
    "hidden": "#55a868",   # h_t
    "cell": "#f2f2f2",     # the recurrent unit
    "edge": "#333333",
    "highlight": "#dd8452",
    "note": "#666666",
}


def _box(ax, x, y, w, h, text, face, edge=PALETTE["edge"], color="black", size=12, lw=1.2):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=face, edgecolor=edge, linewidth=lw))
    ax.text(x, y, text, ha="center", va="center", fontsize=size, color=color)


def _arrow(ax, start, end, color=PALETTE["edge"], lw=1.4, style="-|>"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=14, color=color, lw=lw))


def _new_axes(ax, size):
    setup_cjk_fonts()
    if ax is None:
        fig, ax = plt.subplots(figsize=size)
    ax.set_axis_off()
    ax.set_aspect("equal")
    return ax.figure, ax


def draw_unrolled_rnn(steps: int = 4, ax=None, highlight: int | None = None):
    """An RNN unrolled over `steps` time steps; `highlight` marks one step. Returns the Figure.

    Boxes are named as in the lecture's code (x[t], out[t], h0 as nn.RNN calls the initial
    state), so the picture and the loop read the same way.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 12:
        raise ValueError(f"steps 应当是 1 到 12 之间的整数，收到的是 {steps!r}。")
    if highlight is not None and (isinstance(highlight, bool) or not isinstance(highlight, int)
                                  or not 0 <= highlight < steps):
        raise ValueError(f"highlight 应当是 0 到 {steps - 1} 之间的整数或 None，收到的是 {highlight!r}。")
    fig, ax = _new_axes(ax, (1.9 * steps + 2.2, 4.2))
    for t in range(steps):
        x = 1.9 * t + 1.6
        edge = PALETTE["highlight"] if t == highlight else PALETTE["edge"]
        lw = 2.6 if t == highlight else 1.2
        _box(ax, x, 0.0, 0.9, 0.55, f"x[{t}]", PALETTE["input"], color="white", size=11)
        _box(ax, x, 1.35, 1.2, 0.75, "RNNCell", PALETTE["cell"], edge=edge, lw=lw, size=11)
        _box(ax, x, 2.75, 0.9, 0.55, f"out[{t}]", PALETTE["hidden"], color="white", size=11)
        _arrow(ax, (x, 0.3), (x, 0.95))
        _arrow(ax, (x, 1.75), (x, 2.45))
        ax.text(x, -0.55, f"时间步 {t}", ha="center", fontsize=10, color=PALETTE["note"])
        if t < steps - 1:
            _arrow(ax, (x + 0.62, 1.35), (x + 1.9 - 0.62, 1.35), color=PALETTE["hidden"], lw=1.8)
    _box(ax, 0.15, 1.35, 0.7, 0.5, "h0", "white", size=11)
    _arrow(ax, (0.52, 1.35), (1.6 - 0.62, 1.35), color=PALETTE["hidden"], lw=1.8)
    ax.text(0.15, 0.85, "初始隐状态\n（默认全零）", ha="center", va="top", fontsize=9, color=PALETTE["note"])
    ax.text(1.9 * (steps - 1) / 2 + 1.6, 3.45, "所有时间步共享同一组参数 W_ih、W_hh、b_ih、b_hh",
            ha="center", fontsize=11)
    ax.text(1.9 * steps + 0.5, 2.75, "每个时间步的隐状态\n（nn.RNN 的 output）", va="center", fontsize=10,
            color=PALETTE["hidden"])
    ax.text(1.9 * steps + 0.5, 0.0, "输入序列 x\n(时间步, 批量, I)", va="center", fontsize=10, color=PALETTE["input"])
    ax.set_xlim(-0.4, 1.9 * steps + 2.6)
    ax.set_ylim(-0.9, 3.8)
    return fig


def draw_rnn_cell(ax=None):
    """One time step in PyTorch's layout: x_t and h_{t-1} in, h_t out. Returns the Figure."""
    fig, ax = _new_axes(ax, (8.4, 3.6))
    _box(ax, 0.6, 0.2, 1.0, 0.55, "xₜ\n(批量, I)", PALETTE["input"], color="white", size=10)
    _box(ax, 0.6, 2.0, 1.0, 0.55, "hₜ₋₁\n(批量, H)", PALETTE["hidden"], color="white", size=10)
    _box(ax, 4.1, 1.1, 4.6, 1.0,
         r"$\tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})$", PALETTE["cell"], size=12)
    _box(ax, 7.6, 1.1, 1.0, 0.55, "hₜ\n(批量, H)", PALETTE["hidden"], color="white", size=10)
    _arrow(ax, (1.12, 0.3), (1.8, 0.85))
    _arrow(ax, (1.12, 1.9), (1.8, 1.35))
    _arrow(ax, (6.42, 1.1), (7.08, 1.1))
    ax.text(4.1, 0.25, "$W_{ih}$: (H, I)    $W_{hh}$: (H, H)    $b_{ih}, b_{hh}$: (H,)",
            ha="center", fontsize=10, color=PALETTE["note"])
    ax.text(4.1, 2.05, "PyTorch 按 (输出, 输入) 存放权重，所以要乘转置", ha="center", fontsize=10,
            color=PALETTE["note"])
    ax.set_xlim(0, 8.3)
    ax.set_ylim(-0.2, 2.5)
    return fig
